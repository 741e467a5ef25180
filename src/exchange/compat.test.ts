import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { COMPATIBILITY_MODES, type CompatibilityMode, checkCompatibility, compareSchemas } from './compat.js';

const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  properties,
  ...extra,
});
const closed = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  obj(properties, { additionalProperties: false, ...extra });
const str = { type: 'string' };
const notString = ['null', 'boolean', 'object', 'array', 'number'];

/** The verdict of every mode for one step from `prev` (1.0.0) to `next`. */
function verdicts(prev: unknown, next: unknown): Record<CompatibilityMode, boolean> {
  const entries = COMPATIBILITY_MODES.map((mode) => [
    mode,
    checkCompatibility(mode, [{ version: '1.0.0', schema: prev }], next).compatible,
  ]);
  return Object.fromEntries(entries);
}

function expected(backward: boolean, forward: boolean): Record<CompatibilityMode, boolean> {
  const full = backward && forward;
  return {
    BACKWARD: backward,
    BACKWARD_TRANSITIVE: backward,
    FORWARD: forward,
    FORWARD_TRANSITIVE: forward,
    FULL: full,
    FULL_TRANSITIVE: full,
    NONE: true,
  };
}

interface Pair {
  name: string;
  prev: unknown;
  next: unknown;
  backward: boolean;
  forward: boolean;
  /** What `next` no longer accepts of `prev`. */
  lost: string[];
  /** What `next` newly accepts. */
  gained: string[];
}

const statusOld = { enum: ['draft', 'active', 'archived'] };
const statusNew = { enum: ['draft', 'active'] };

const section = {
  type: 'object',
  properties: {
    title: str,
    level: { type: 'integer', minimum: 1 },
    children: { type: 'array', items: { $ref: '#/$defs/section' } },
  },
  required: ['title'],
};
const tree = (level: unknown) => ({
  type: 'object',
  properties: { sections: { type: 'array', items: { $ref: '#/$defs/section' } } },
  $defs: { section: { ...section, properties: { ...section.properties, level } } },
});

const pairs: Pair[] = [
  {
    name: 'enum narrowed',
    prev: obj({ status: statusOld }),
    next: obj({ status: statusNew }),
    backward: false,
    forward: true,
    lost: ['the value "archived" of /status is no longer accepted'],
    gained: [],
  },
  {
    name: 'a free string narrowed to a list',
    prev: obj({ status: str }),
    next: obj({ status: { type: 'string', enum: ['draft', 'active'] } }),
    backward: false,
    forward: true,
    lost: ['values other than ["draft","active"] at /status are no longer accepted'],
    gained: [],
  },
  {
    name: 'enum widened',
    prev: obj({ status: statusNew }),
    next: obj({ status: statusOld }),
    backward: true,
    forward: false,
    lost: [],
    gained: ['the value "archived" of /status is newly accepted'],
  },
  {
    name: 'a new required field (open object: its type also narrows what the field may hold)',
    prev: obj({ name: str }, { required: ['name'] }),
    next: obj({ name: str, email: str }, { required: ['name', 'email'] }),
    backward: false,
    forward: true,
    lost: [
      'objects without property "email" are no longer accepted',
      ...notString.map((t) => `values of type ${t} at /email are no longer accepted`),
    ],
    gained: [],
  },
  {
    name: 'a new optional field that accepts anything, objects open',
    prev: obj({ name: str }),
    next: obj({ name: str, note: { description: 'free text or anything else' } }),
    backward: true,
    forward: true,
    lost: [],
    gained: [],
  },
  {
    name: 'a new optional typed field, objects open: the old accepted any value there',
    prev: obj({ name: str }),
    next: obj({ name: str, email: str }),
    backward: false,
    forward: true,
    lost: notString.map((t) => `values of type ${t} at /email are no longer accepted`),
    gained: [],
  },
  {
    name: 'a new optional field where the old version was closed',
    prev: closed({ name: str }),
    next: closed({ name: str, email: str }),
    backward: true,
    forward: false,
    lost: [],
    gained: ['objects with property "email" are newly accepted'],
  },
  {
    name: 'an optional field removed from a closed object',
    prev: closed({ name: str, email: str }),
    next: closed({ name: str }),
    backward: false,
    forward: true,
    lost: ['objects with property "email" are no longer accepted'],
    gained: [],
  },
  {
    name: 'integer widened to number',
    prev: obj({ count: { type: 'integer' } }),
    next: obj({ count: { type: 'number' } }),
    backward: true,
    forward: false,
    lost: [],
    gained: ['non-integer numbers at /count are newly accepted'],
  },
  {
    name: 'string widened to string or null',
    prev: obj({ note: str }),
    next: obj({ note: { type: ['string', 'null'] } }),
    backward: true,
    forward: false,
    lost: [],
    gained: ['values of type null at /note are newly accepted'],
  },
  {
    name: 'minimum raised',
    prev: obj({ level: { type: 'integer', minimum: 0 } }),
    next: obj({ level: { type: 'integer', minimum: 1 } }),
    backward: false,
    forward: true,
    lost: ['numbers below 1 at /level are no longer accepted'],
    gained: [],
  },
  {
    name: 'an inclusive minimum made exclusive',
    prev: obj({ x: { type: 'number', minimum: 0 } }),
    next: obj({ x: { type: 'number', exclusiveMinimum: 0 } }),
    backward: false,
    forward: true,
    lost: ['numbers at or below 0 at /x are no longer accepted'],
    gained: [],
  },
  {
    name: 'maxLength lowered',
    prev: obj({ title: { type: 'string', maxLength: 100 } }),
    next: obj({ title: { type: 'string', maxLength: 50 } }),
    backward: false,
    forward: true,
    lost: ['strings longer than 50 characters at /title are no longer accepted'],
    gained: [],
  },
  {
    name: 'a field nested in a recursive $defs tree narrowed',
    prev: tree({ type: 'integer', minimum: 1 }),
    next: tree({ type: 'integer', minimum: 1, maximum: 6 }),
    backward: false,
    forward: true,
    lost: ['numbers above 6 at /sections/*/level are no longer accepted'],
    gained: [],
  },
  {
    name: 'an anyOf branch removed',
    prev: obj({ value: { anyOf: [str, { type: 'integer' }, { type: 'null' }] } }),
    next: obj({ value: { anyOf: [str, { type: 'integer' }] } }),
    backward: false,
    forward: true,
    lost: ['values of type null at /value are no longer accepted'],
    gained: [],
  },
  {
    name: 'a property without a type accepts anything: a minimum only excludes numbers',
    prev: obj({ x: {} }),
    next: obj({ x: { minimum: 0 } }),
    backward: false,
    forward: true,
    lost: ['numbers below 0 at /x are no longer accepted'],
    gained: [],
  },
  {
    name: 'the same integers written two ways',
    prev: obj({ n: { type: 'integer', exclusiveMinimum: 0, maximum: 9.5 } }),
    next: obj({ n: { type: 'integer', minimum: 1, exclusiveMaximum: 10 } }),
    backward: true,
    forward: true,
    lost: [],
    gained: [],
  },
  {
    name: 'array items narrowed and made unique',
    prev: obj({ tags: { type: 'array', items: str } }),
    next: obj({ tags: { type: 'array', items: { type: 'string', maxLength: 10 }, uniqueItems: true, minItems: 1 } }),
    backward: false,
    forward: true,
    lost: [
      'strings longer than 10 characters at /tags/* are no longer accepted',
      'arrays with fewer than 1 item at /tags are no longer accepted',
      'arrays with duplicate items at /tags are no longer accepted',
    ],
    gained: [],
  },
  {
    name: 'type string or null rewritten as anyOf, with a longer limit',
    prev: obj({ note: { type: ['string', 'null'], maxLength: 20 } }),
    next: obj({ note: { anyOf: [{ type: 'string', maxLength: 30 }, { type: 'null' }] } }),
    backward: true,
    forward: false,
    lost: [],
    gained: ['strings longer than 20 characters at /note are newly accepted'],
  },
  {
    name: 'a oneOf tagged union gains a branch',
    prev: {
      oneOf: [
        closed({ kind: { const: 'a' }, x: str }, { required: ['kind'] }),
        closed({ kind: { const: 'b' }, y: { type: 'integer' } }, { required: ['kind'] }),
      ],
    },
    next: {
      oneOf: [
        closed({ kind: { const: 'a' }, x: str }, { required: ['kind'] }),
        closed({ kind: { const: 'b' }, y: { type: 'integer' } }, { required: ['kind'] }),
        closed({ kind: { const: 'c' } }, { required: ['kind'] }),
      ],
    },
    backward: true,
    forward: false,
    lost: [],
    gained: ['the value "c" of /kind is newly accepted'],
  },
  {
    name: 'a oneOf branch changes a field: the reasons come from the branch with the same tag',
    prev: {
      oneOf: [
        closed({ kind: { const: 'a' }, y: str }, { required: ['kind'] }),
        closed({ kind: { const: 'b' }, y: { type: 'integer' } }, { required: ['kind'] }),
      ],
    },
    next: {
      oneOf: [
        closed({ kind: { const: 'a' }, y: str }, { required: ['kind'] }),
        closed({ kind: { const: 'b' }, y: { type: ['integer', 'null'] } }, { required: ['kind'] }),
      ],
    },
    backward: true,
    forward: false,
    lost: [],
    gained: ['values of type null at /y are newly accepted'],
  },
  {
    name: 'allOf over a $ref base, written out flat: the same values',
    prev: {
      $defs: { base: obj({ id: str }, { required: ['id'] }) },
      allOf: [{ $ref: '#/$defs/base' }, { properties: { name: str }, required: ['name'] }],
    },
    next: obj({ id: str, name: str }, { required: ['id', 'name'] }),
    backward: true,
    forward: true,
    lost: [],
    gained: [],
  },
  {
    name: 'allOf of a closed object and another property: that property stays forbidden',
    prev: { allOf: [closed({ a: str }), { properties: { b: str } }] },
    next: closed({ a: str, b: str }),
    backward: true,
    forward: false,
    lost: [],
    gained: ['objects with property "b" are newly accepted'],
  },
  {
    name: 'a const made an enum of two',
    prev: { const: true },
    next: { type: 'boolean' },
    backward: true,
    forward: false,
    lost: [],
    gained: ['the value false is newly accepted'],
  },
];

describe('compareSchemas and checkCompatibility on pairs of versions', () => {
  for (const pair of pairs) {
    it(pair.name, () => {
      const { changes, undecided } = compareSchemas(pair.prev, pair.next);
      expect(undecided).toEqual([]);
      const lost = changes.filter((c) => c.direction === 'no_longer_accepted').map((c) => c.description);
      const gained = changes.filter((c) => c.direction === 'newly_accepted').map((c) => c.description);
      expect(lost.sort()).toEqual([...pair.lost].sort());
      expect(gained.sort()).toEqual([...pair.gained].sort());
      expect(verdicts(pair.prev, pair.next)).toEqual(expected(pair.backward, pair.forward));
    });
  }

  it('names the dropped enum value as breaking in BACKWARD, and the path it applies to', () => {
    const report = checkCompatibility('BACKWARD', [{ version: '1.0.0', schema: obj({ status: statusOld }) }], {
      ...obj({ status: statusNew }),
    });
    expect(report).toMatchObject({ compatible: false, mode: 'BACKWARD', against: ['1.0.0'], undecided: [] });
    expect(report.breaking).toEqual([
      {
        path: '/status',
        direction: 'no_longer_accepted',
        description: 'the value "archived" of /status is no longer accepted',
      },
    ]);
  });

  it('a field in the recursive tree is found at every depth through $ref, and an unchanged tree is compatible', () => {
    const same = tree({ type: 'integer', minimum: 1 });
    expect(compareSchemas(same, structuredClone(same))).toEqual({ changes: [], undecided: [] });
    const { changes } = compareSchemas(tree({ type: 'integer', minimum: 1 }), tree({ type: 'integer', minimum: 2 }));
    expect(changes.map((c) => c.path)).toEqual(['/sections/*/level']);
  });

  it('a change inside a $defs entry is found even where the $ref text is unchanged', () => {
    const doc = (kind: unknown) => ({
      type: 'object',
      properties: { item: { $ref: '#/$defs/item' } },
      $defs: { item: obj({ kind }) },
    });
    const { changes } = compareSchemas(doc({ enum: ['a', 'b'] }), doc({ enum: ['a'] }));
    expect(changes.map((c) => c.description)).toEqual(['the value "b" of /item/kind is no longer accepted']);
  });
});

describe('what cannot be decided', () => {
  const plain = obj({ contact: str });
  const withFormat = obj({ contact: { type: 'string', format: 'email' } });

  it('a format added is undecided: refused in BACKWARD with the reason, fine in FORWARD and NONE', () => {
    const earlier = [{ version: '1.0.0', schema: plain }];
    const backward = checkCompatibility('BACKWARD', earlier, withFormat);
    expect(backward).toMatchObject({ compatible: false, breaking: [] });
    expect(backward.undecided).toEqual([
      {
        path: '/contact',
        keyword: 'format',
        reason: 'format "email" was added at /contact: which strings it excludes cannot be compared',
      },
    ]);
    expect(checkCompatibility('FORWARD', earlier, withFormat).compatible).toBe(true);
    const none = checkCompatibility('NONE', earlier, withFormat);
    expect(none.compatible).toBe(true);
    expect(none.undecided).toHaveLength(1);
  });

  it('a format removed is undecided in FORWARD', () => {
    const report = checkCompatibility('FORWARD', [{ version: '1.0.0', schema: withFormat }], plain);
    expect(report.compatible).toBe(false);
    expect(report.undecided.map((u) => u.reason)).toEqual([
      'format "email" was removed at /contact: which strings it excludes cannot be compared',
    ]);
    expect(checkCompatibility('BACKWARD', [{ version: '1.0.0', schema: withFormat }], plain).compatible).toBe(true);
  });

  it('a pattern changed is undecided both ways', () => {
    const prev = obj({ code: { type: 'string', pattern: '^[a-z]+$' } });
    const next = obj({ code: { type: 'string', pattern: '^[a-z0-9]+$' } });
    const { changes, undecided } = compareSchemas(prev, next);
    expect(changes).toEqual([]);
    expect(undecided).toEqual([
      {
        path: '/code',
        keyword: 'pattern',
        reason:
          'pattern changed from "^[a-z]+$" to "^[a-z0-9]+$" at /code: which strings it excludes cannot be compared',
      },
    ]);
    expect(verdicts(prev, next)).toEqual(expected(false, false));
  });

  it('an unchanged pattern, format or not is fine; a new `not` is undecided', () => {
    const prev = obj({ code: { type: 'string', pattern: '^x', format: 'uuid', not: { const: 'x' } } });
    const next = obj({ code: { type: 'string', pattern: '^x', format: 'uuid', not: { const: 'x' }, maxLength: 99 } });
    expect(verdicts(prev, next)).toEqual(expected(false, true));
    const withNot = obj({ code: { type: 'string', not: { const: '' } } });
    expect(compareSchemas(obj({ code: str }), withNot).undecided.map((u) => u.keyword)).toEqual(['not']);
  });

  it('a remote $ref is never fetched: undecided', () => {
    const next = obj({ owner: { $ref: 'https://example.com/person.json' } });
    const report = checkCompatibility('BACKWARD', [{ version: '1.0.0', schema: obj({ owner: {} }) }], next);
    expect(report.compatible).toBe(false);
    expect(report.undecided[0]).toMatchObject({ path: '/owner', keyword: '$ref' });
    expect(report.undecided[0]?.reason).toMatch(/not local/);
  });

  it('a schema embedding resources with their own $id has its $refs left undecided', () => {
    const doc = (max: number) => ({
      properties: { p: { $ref: '#/$defs/p' } },
      $defs: { p: { $id: 'https://example.com/p', type: 'integer', maximum: max } },
    });
    const { undecided } = compareSchemas(doc(5), doc(6));
    expect(undecided.map((u) => [u.path, u.keyword])).toEqual([['/p', '$ref']]);
    expect(undecided[0]?.reason).toMatch(/own \$id/);
  });

  it('enum values checked against a pattern are decided; against a format they are not', () => {
    const prev = obj({ id: { enum: ['ab', 'A1'] } });
    expect(compareSchemas(prev, obj({ id: { type: 'string', pattern: '^[a-z]+$' } })).changes).toEqual([
      {
        path: '/id',
        direction: 'no_longer_accepted',
        description: 'the value "A1" of /id is no longer accepted',
      },
      expect.objectContaining({ direction: 'newly_accepted' }),
    ]);
    const { undecided } = compareSchemas(prev, obj({ id: { type: 'string', format: 'hostname' } }));
    expect(undecided.map((u) => u.keyword)).toContain('enum');
  });
});

describe('modes', () => {
  const v = (enumValues: string[]) => obj({ status: { enum: enumValues } });

  it('transitive modes check every earlier version and say which one each change is relative to', () => {
    // 1.1.0 narrowed 1.0.0 (registered under FORWARD); 1.2.0 only widens 1.1.0, but still lacks "c" of 1.0.0.
    const earlier = [
      { version: '1.0.0', schema: v(['a', 'b', 'c']) },
      { version: '1.1.0', schema: v(['a', 'b']) },
    ];
    const next = v(['a', 'b', 'd']);
    const backward = checkCompatibility('BACKWARD', earlier, next);
    expect(backward).toMatchObject({ compatible: true, against: ['1.1.0'], breaking: [] });
    const transitive = checkCompatibility('BACKWARD_TRANSITIVE', earlier, next);
    expect(transitive.compatible).toBe(false);
    expect(transitive.against).toEqual(['1.0.0', '1.1.0']);
    expect(transitive.breaking.map((c) => c.description)).toEqual([
      'since 1.0.0: the value "c" of /status is no longer accepted',
    ]);
    expect(transitive.changes.map((c) => c.description)).toContain(
      'since 1.1.0: the value "d" of /status is newly accepted',
    );
  });

  it('inclusion is transitive: when each step is BACKWARD-compatible, BACKWARD_TRANSITIVE agrees', () => {
    const earlier = [
      { version: '1.0.0', schema: v(['a']) },
      { version: '1.1.0', schema: v(['a', 'b']) },
    ];
    const next = v(['a', 'b', 'c']);
    expect(checkCompatibility('BACKWARD', earlier.slice(0, 1), earlier[1]?.schema).compatible).toBe(true);
    expect(checkCompatibility('BACKWARD', earlier, next).compatible).toBe(true);
    expect(checkCompatibility('BACKWARD_TRANSITIVE', earlier, next).compatible).toBe(true);
    expect(checkCompatibility('FORWARD_TRANSITIVE', earlier, next).breaking.map((c) => c.description)).toEqual([
      'since 1.0.0: the value "b" of /status is newly accepted',
      'since 1.0.0: the value "c" of /status is newly accepted',
      'since 1.1.0: the value "c" of /status is newly accepted',
    ]);
  });

  it('FULL needs both directions', () => {
    const earlier = [{ version: '1.0.0', schema: obj({ n: { type: 'integer' } }) }];
    expect(checkCompatibility('FULL', earlier, obj({ n: { type: 'integer' }, m: {} })).compatible).toBe(true);
    const widened = checkCompatibility('FULL', earlier, obj({ n: { type: 'number' } }));
    expect(widened.compatible).toBe(false);
    expect(widened.breaking.map((c) => c.direction)).toEqual(['newly_accepted']);
    const swapped = checkCompatibility('FULL', earlier, obj({ n: str }));
    expect(swapped.breaking.map((c) => c.direction).sort()).toEqual(['newly_accepted', 'no_longer_accepted']);
  });

  it('NONE is always compatible but still lists the changes', () => {
    const report = checkCompatibility('NONE', [{ version: '1.0.0', schema: obj({ n: str }) }], { type: 'integer' });
    expect(report.compatible).toBe(true);
    expect(report.breaking).toEqual([]);
    expect(report.changes.length).toBeGreaterThan(0);
  });

  it('with no earlier version everything is compatible; an unknown mode is refused', () => {
    expect(checkCompatibility('FULL_TRANSITIVE', [], obj({}))).toMatchObject({ compatible: true, against: [] });
    expect(() => checkCompatibility('SIDEWAYS' as CompatibilityMode, [], {})).toThrow(/unknown compatibility mode/);
  });
});

describe('soundness: values valid under one version are valid under the other when judged compatible', () => {
  const ajv = new Ajv2020({ strict: false });
  const valid = (schema: unknown, value: unknown) => ajv.validate(schema as object, value);

  const cases: { name: string; from: unknown; to: unknown; values: unknown[] }[] = [
    {
      name: 'enum widened',
      from: obj({ status: statusNew }),
      to: obj({ status: statusOld }),
      values: [{ status: 'draft' }, { status: 'active' }, { status: 'x' }, {}, { status: 1 }],
    },
    {
      name: 'integer to number, string to string or null',
      from: obj({ count: { type: 'integer' }, note: str }),
      to: obj({ count: { type: 'number' }, note: { type: ['string', 'null'] } }),
      values: [{ count: 1 }, { count: 1.5 }, { note: 'x', count: -3 }, { note: null }, 'not an object', 7],
    },
    {
      name: 'closed object gains an optional field; required relaxed; minimum lowered',
      from: closed({ name: str, level: { type: 'integer', minimum: 2 } }, { required: ['name'] }),
      to: closed({ name: str, level: { type: 'integer', minimum: 1 }, email: str }),
      values: [{ name: 'a' }, { name: 'a', level: 2 }, { level: 3 }, { name: 'a', email: 'e' }, { name: 'a', z: 1 }],
    },
    {
      name: 'recursive tree with a looser level',
      from: tree({ type: 'integer', minimum: 2 }),
      to: tree({ type: 'integer', minimum: 1 }),
      values: [
        { sections: [{ title: 't', level: 2, children: [{ title: 'u', level: 3 }] }] },
        { sections: [{ title: 't', children: [{ level: 2 }] }] },
        { sections: [] },
      ],
    },
    {
      name: 'anyOf branch added and array limit raised',
      from: obj({ v: { anyOf: [str, { type: 'integer' }] }, tags: { type: 'array', maxItems: 2, items: str } }),
      to: obj({ v: { anyOf: [str, { type: 'integer' }, { type: 'null' }] }, tags: { type: 'array', maxItems: 3 } }),
      values: [{ v: 'x' }, { v: 3 }, { v: null }, { tags: ['a', 'b'] }, { tags: ['a', 'b', 'c'] }, { tags: [1] }],
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      expect(checkCompatibility('BACKWARD', [{ version: '1', schema: c.from }], c.to).compatible).toBe(true);
      const accepted = c.values.filter((value) => valid(c.from, value));
      expect(accepted.length).toBeGreaterThan(0);
      for (const value of accepted) expect({ value, valid: valid(c.to, value) }).toEqual({ value, valid: true });
    });
  }

  it('each change reported for an incompatible pair has a witness the old accepts and the new rejects', () => {
    const witnesses: { from: unknown; to: unknown; value: unknown }[] = [
      { from: obj({ status: statusOld }), to: obj({ status: statusNew }), value: { status: 'archived' } },
      { from: closed({ name: str, email: str }), to: closed({ name: str }), value: { email: 'e' } },
      { from: obj({ x: {} }), to: obj({ x: { minimum: 0 } }), value: { x: -1 } },
      {
        from: tree({ type: 'integer' }),
        to: tree({ type: 'integer', maximum: 6 }),
        value: { sections: [{ title: 't', level: 7 }] },
      },
    ];
    for (const w of witnesses) {
      expect(checkCompatibility('BACKWARD', [{ version: '1', schema: w.from }], w.to).compatible).toBe(false);
      expect([valid(w.from, w.value), valid(w.to, w.value)]).toEqual([true, false]);
    }
  });
});

describe('soundness on generated pairs', () => {
  /** A small deterministic generator (mulberry32), so a failure names a pair that can be replayed. */
  function generator(seed: number) {
    let state = seed;
    const next = () => {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)] as T;
    const chance = (p: number) => next() < p;
    const names = ['a', 'b', 'xa'];
    const scalars = ['', 'x', 'ab', 'xyz', -1, 0, 0.5, 1, 2, 3, 10, null, true];
    const kinds = ['null', 'boolean', 'object', 'array', 'string', 'number', 'integer'];
    const schema = (depth: number): unknown => {
      if (chance(0.08)) return pick([true, false, {}]);
      const s: Record<string, unknown> = {};
      const maybe = (p: number, key: string, make: () => unknown) => {
        if (chance(p)) s[key] = make();
      };
      maybe(0.6, 'type', () => (chance(0.7) ? pick(kinds) : [...new Set([pick(kinds), pick(kinds)])]));
      maybe(0.12, 'enum', () => [...new Set([pick(scalars), pick(scalars)])]);
      for (const k of ['minimum', 'maximum', 'exclusiveMinimum']) maybe(0.15, k, () => pick([-1, 0, 0.5, 1, 2, 10]));
      maybe(0.1, 'multipleOf', () => pick([0.5, 1, 2, 3]));
      for (const k of ['minLength', 'maxLength', 'minItems', 'maxItems', 'maxProperties'])
        maybe(0.12, k, () => pick([0, 1, 2, 3]));
      maybe(0.2, 'required', () => names.filter(() => chance(0.4)));
      maybe(0.05, 'uniqueItems', () => true);
      if (depth < 2) {
        maybe(0.4, 'properties', () =>
          Object.fromEntries(names.filter(() => chance(0.5)).map((n) => [n, schema(depth + 1)])),
        );
        maybe(0.25, 'additionalProperties', () => (chance(0.5) ? false : schema(depth + 1)));
        maybe(0.25, 'items', () => schema(depth + 1));
        maybe(0.15, 'anyOf', () => [schema(depth + 1), schema(depth + 1)]);
        maybe(0.1, 'allOf', () => [schema(depth + 1), schema(depth + 1)]);
      }
      return s;
    };
    const variant = (s: unknown): unknown => {
      if (typeof s !== 'object' || s === null || chance(0.3)) return schema(0);
      const copy = structuredClone(s) as Record<string, unknown>;
      const keys = Object.keys(copy);
      if (keys.length > 0 && chance(0.5)) delete copy[pick(keys)];
      const extra = schema(1);
      if (typeof extra === 'object' && extra !== null) Object.assign(copy, extra);
      return copy;
    };
    const value = (depth: number): unknown => {
      const r = next();
      if (r < 0.5 || depth > 2) return pick([...scalars, 1.5, 11, 'xxxxx', false]);
      if (r < 0.75)
        return Object.fromEntries([...names, 'zz'].filter(() => chance(0.4)).map((n) => [n, value(depth + 1)]));
      return Array.from({ length: Math.floor(next() * 3) }, () => value(depth + 1));
    };
    return { schema, variant, value };
  }

  it('no pair judged compatible has a value one accepts and the other rejects', () => {
    const gen = generator(20240);
    const ajv = new Ajv2020({ strict: false });
    let judged = 0;
    let witnessed = 0;
    for (let i = 0; i < 400; i++) {
      const prev = gen.schema(0);
      const next = gen.variant(prev);
      const [inPrev, inNext] = [ajv.compile(prev as object), ajv.compile(next as object)];
      const values = Array.from({ length: 150 }, () => gen.value(0));
      for (const [mode, from, to] of [
        ['BACKWARD', inPrev, inNext],
        ['FORWARD', inNext, inPrev],
      ] as const) {
        const report = checkCompatibility(mode, [{ version: '1', schema: prev }], next);
        const escaped = values.find((v) => from(v) && !to(v));
        if (report.compatible) {
          judged++;
          expect({ mode, prev, next, escaped }).toEqual({ mode, prev, next, escaped: undefined });
        } else if (escaped !== undefined) witnessed++;
      }
    }
    expect(judged).toBeGreaterThan(150);
    expect(witnessed).toBeGreaterThan(100);
  });
});
