import { describe, expect, it } from 'vitest';
import { approve, ask, command, convert, validate, workflow } from './builder.js';
import { checkDefinition, parseDefinition } from './definition.js';
import { parsePath, resolveTemplates } from './paths.js';

const YAML = `name: pdf-to-graph
inputs:
  type: object
  properties: { pdf: { type: string } }
steps:
  - id: requirements
    ask: { to: arangodb, template: pdf-structure }
  - id: extract
    command: { name: pdf-extract, input: { pdf: "{{ inputs.pdf }}" } }
  - id: check
    after: [requirements, extract]
    validate: { schema: document@1.0.0, value: "{{ steps.extract }}" }
  - id: convert
    after: [check]
    convert:
      function: convertToRequiredFormat
      args: { document: "{{ steps.extract }}", requirements: "{{ steps.requirements.value }}" }
output: { graph: "{{ steps.convert }}" }
`;

const FLOW = `name: flow
steps:
  - id: list
    convert: { function: collect, args: { files: [a, b] } }
  - id: each
    after: [list]
    forEach: { items: "{{ steps.list.files }}", concurrency: 2 }
    ask: { capability: summarise, prompt: "Summarise {{ item }} ({{ index }})" }
  - id: ok
    after: [each]
    when: exists steps.each[0].value and not inputs.quick
    approve: { message: Go?, timeoutMs: 60000, approvers: [ops] }
  - id: ship
    after: [ok]
    runIfSkipped: true
    convert: { function: collect }
`;

describe('workflow definitions', () => {
  it('loads conditions, forEach, approvals and asks by capability from YAML and the builder alike', () => {
    const built = workflow('flow')
      .step('list', convert('collect', { files: ['a', 'b'] }))
      .step('each', ask({ capability: 'summarise', prompt: 'Summarise {{ item }} ({{ index }})' }), {
        after: ['list'],
        forEach: { items: '{{ steps.list.files }}', concurrency: 2 },
      })
      .step('ok', approve({ message: 'Go?', timeoutMs: 60000, approvers: ['ops'] }), {
        after: ['each'],
        when: 'exists steps.each[0].value and not inputs.quick',
      })
      .step('ship', convert('collect'), { after: ['ok'], runIfSkipped: true })
      .build();
    expect(built).toEqual(parseDefinition(FLOW, 'flow.yaml'));
  });

  it('names the line of a flow feature that is wrong, every problem at once', () => {
    const bad = FLOW.replace('when: exists steps.each[0].value and', 'when: exists steps.each[0].value and and')
      .replace('Summarise {{ item }}', 'Summarise {{ items }}')
      .replace('items: "{{ steps.list.files }}"', 'items: "{{ item.files }}"')
      .replace('approvers: [ops] }', 'approvers: [ops] }\n    forEach: { items: [1] }')
      .replace('capability: summarise,', 'capability: summarise, to: marker,');
    let message = '';
    try {
      parseDefinition(bad, 'flow.yaml');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(
      /flow\.yaml:8: \/steps\/1\/ask: an ask step names either to \(a module\) or capability \(it has both\)/,
    );
    let second = '';
    try {
      parseDefinition(bad.replace(' to: marker,', ''), 'flow.yaml');
    } catch (err) {
      second = (err as Error).message;
    }
    expect(second).toMatch(
      /flow\.yaml:\d+: \/steps\/1\/ask: .*a path starts with inputs, steps, item or index, not "items"/,
    );
    expect(second).toMatch(
      /\/steps\/1\/forEach: \{\{ item.files \}\}: item is known only in the ask of a forEach step, not in its forEach/,
    );
    expect(second).toMatch(/\/steps\/2\/when: when "exists steps.each\[0\].value and and not inputs.quick": .*column/);
    expect(second).toMatch(/\/steps\/2\/forEach: an approve step runs once; it cannot have forEach/);
  });

  it('loads a YAML file and the builder to the same definition', () => {
    const fromFile = parseDefinition(YAML, 'pdf.yaml');
    const built = workflow('pdf-to-graph', { inputs: { type: 'object', properties: { pdf: { type: 'string' } } } })
      .step('requirements', ask({ to: 'arangodb', template: 'pdf-structure' }))
      .step('extract', command({ name: 'pdf-extract', input: { pdf: '{{ inputs.pdf }}' } }))
      .step('check', validate('document@1.0.0', '{{ steps.extract }}'), { after: ['requirements', 'extract'] })
      .step(
        'convert',
        convert('convertToRequiredFormat', {
          document: '{{ steps.extract }}',
          requirements: '{{ steps.requirements.value }}',
        }),
        { after: ['check'] },
      )
      .output({ graph: '{{ steps.convert }}' })
      .build();
    expect(built).toEqual(fromFile);
  });

  it('refuses templated or blank approvers, blank capabilities, item in a when, and numbers out of range', () => {
    const one = (step: Record<string, unknown>) => {
      try {
        checkDefinition({ name: 'x', steps: [{ id: 'a', ...step }] });
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(one({ approve: { approvers: ['{{ inputs.who }}'] } })).toMatch(/\/steps\/0\/approve\/approvers\/0/);
    expect(one({ approve: { approvers: ['  '] } })).toMatch(/approvers\/0/);
    expect(one({ approve: { approvers: [] } })).toMatch(/approvers/);
    expect(one({ approve: { approvers: ['ops', 'ops'] } })).toMatch(/approvers/);
    expect(one({ ask: { capability: '   ', prompt: 'x' } })).toMatch(/\/steps\/0\/ask\/capability/);
    expect(one({ ask: { capability: 'c'.repeat(201), prompt: 'x' } })).toMatch(/\/steps\/0\/ask\/capability/);
    const neither = one({ ask: { prompt: 'x' } });
    expect(neither).toMatch(/an ask step names either to \(a module\) or capability \(it has neither\)/);
    expect(neither).not.toMatch(/ask\/to/);
    expect(
      one({ forEach: { items: [1] }, when: 'item == 1', convert: { function: 'collect', args: { i: '{{ item }}' } } }),
    ).toMatch(/item is known only in the convert of a forEach step, not in its when/);
    expect(one({ when: 'inputs.v < 1e309', convert: { function: 'collect' } })).toMatch(/1e309 is out of range/);
    expect(one({ approve: { approvers: ['ops'] } })).toBe('');
  });

  it('names file, line and path of what is wrong, every problem at once', () => {
    const bad = YAML.replace('after: [check]', 'after: [chek]').replace(
      'template: pdf-structure',
      'template: pdf-structure, colour: red',
    );
    const err = (() => {
      try {
        parseDefinition(bad, 'pdf.yaml');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).toMatch(/pdf\.yaml:7: \/steps\/0\/ask.*colour/);
    expect(() => parseDefinition(YAML.replace('after: [check]', 'after: [chek]'), 'pdf.yaml')).toThrow(
      /pdf\.yaml:14: \/steps\/3\/after\/0: unknown step chek/,
    );
  });

  it('refuses cycles, duplicate ids, two kinds in a step, and references to steps not upstream', () => {
    const base = (steps: string) => `name: w\nsteps:\n${steps}`;
    expect(() =>
      parseDefinition(
        base(
          '  - { id: a, after: [b], convert: { function: f } }\n  - { id: b, after: [a], convert: { function: f } }\n',
        ),
      ),
    ).toThrow(/a cycle: (a → b → a|b → a → b)/);
    expect(() =>
      parseDefinition(base('  - { id: a, convert: { function: f } }\n  - { id: a, convert: { function: f } }\n')),
    ).toThrow(/duplicate step id a/);
    expect(() => parseDefinition(base('  - { id: a, convert: { function: f }, ask: { to: m } }\n'))).toThrow(
      /exactly one of/,
    );
    expect(() =>
      parseDefinition(
        base(
          '  - { id: a, convert: { function: f } }\n  - { id: b, convert: { function: f, args: { x: "{{ steps.a.out }}" } } }\n',
        ),
      ),
    ).toThrow(/uses step a, which is not upstream of b/);
    expect(() =>
      parseDefinition(base('  - { id: a, convert: { function: f, args: { x: "{{ steps.a + 1 }}" } } }\n')),
    ).toThrow(/unexpected/);
  });
});

describe('the template path language', () => {
  const scope = { inputs: { pdf: 'a.pdf', n: 2 }, steps: { req: { value: { fields: ['title', 'pages'] } } } };

  it('resolves whole values, text with places, dots and indexes', () => {
    expect(
      resolveTemplates({ f: '{{ steps.req.value.fields }}', s: 'file {{ inputs.pdf }} x{{inputs.n}}' }, scope),
    ).toEqual({
      f: ['title', 'pages'],
      s: 'file a.pdf x2',
    });
    expect(resolveTemplates('{{ steps.req.value.fields[1] }}', scope)).toBe('pages');
  });

  it('reads a long run of blanks after {{ without backtracking', () => {
    const text = `{{${' '.repeat(200_000)}`;
    expect(resolveTemplates(text, { inputs: {}, steps: {} })).toBe(text);
    expect(
      resolveTemplates(`{{${' '.repeat(1000)}inputs.a${' '.repeat(1000)}}}`, { inputs: { a: 1 }, steps: {} }),
    ).toBe(1);
  });

  it('treats steps named like prototype keys as steps', () => {
    const steps = Object.create(null) as Record<string, unknown>;
    steps.__proto__ = { v: 1 };
    expect(resolveTemplates('{{ steps.__proto__.v }}', { inputs: {}, steps })).toBe(1);
  });

  it('names the missing part, and parses nothing but paths', () => {
    expect(() => resolveTemplates('{{ steps.req.value.feilds }}', scope)).toThrow(
      /steps\.req\.value has no "feilds" \(it has fields\)/,
    );
    expect(() => resolveTemplates('{{ steps.req.value.fields[5] }}', scope)).toThrow(
      /has no index 5 \(it is a list of 2\)/,
    );
    expect(() => resolveTemplates('{{ steps.other }}', scope)).toThrow(/step other has no output/);
    expect(() => parsePath('constructor.prototype')).toThrow(/starts with inputs, steps, item or index/);
    expect(() => resolveTemplates('{{ inputs.constructor }}', scope)).toThrow(/has no "constructor"/);
    expect(() => parsePath('inputs.a()')).toThrow(/unexpected/);
  });
});
