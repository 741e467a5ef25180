// The schema registry and query templates on every backend: the bundled ones there from the start, publishing
// with immutability and compatibility modes judged from what versions accept, owners, validation, and templates
// whose parameters are checked before anything is asked.
import { expect, it } from 'vitest';
import type { Hub } from '../../src/index.js';
import { describeEachBackend } from '../support/backends.js';

// A closed object: a property it does not name is refused, so adding an optional one accepts more (BACKWARD). On an
// open object it would not: `{ pages: "x" }` was accepted before `pages` was declared an integer.
const v1 = {
  type: 'object',
  properties: { title: { type: 'string' }, status: { enum: ['draft', 'final', 'archived'] } },
  required: ['title'],
  additionalProperties: false,
};

async function publish(hub: Hub, version: string, schema: object, compatibility?: string) {
  return hub.schemas.publish({
    name: 'paper',
    version,
    schema: schema as Record<string, unknown>,
    ...(compatibility ? { compatibility: compatibility as 'BACKWARD' } : {}),
  });
}

describeEachBackend('schema registry', (hubs) => {
  it('holds the bundled schemas and templates, each answer schema published', async () => {
    const hub = await hubs.open();
    const names = (await hub.schemas.list()).map((s) => `${s.name}@${s.latest}`);
    expect(names).toEqual(expect.arrayContaining(['pdf-requirements@1.0.0', 'document@1.0.0']));
    const templates = await hub.templates.list();
    expect(templates.map((t) => t.name).sort()).toEqual([
      'compatibility-check',
      'example-generation',
      'field-requirements',
      'pdf-structure',
      'transformation',
      'validation',
    ]);
    for (const t of templates) await expect(hub.schemas.get(t.answerSchema)).resolves.toBeTruthy();
    expect((await hub.templates.get('pdf-structure')).answerSchema).toBe('pdf-requirements@1.0.0');
  });

  it('publishes and fetches versions; a version is immutable and must follow the latest', async () => {
    const hub = await hubs.open();
    const first = await publish(hub, '1.0.0', v1);
    expect(first).toMatchObject({
      created: true,
      schema: { name: 'paper', version: '1.0.0', compatibility: 'BACKWARD' },
    });
    expect((await hub.schemas.get('paper@1.0.0')).body).toEqual(v1);
    // The same content again (its keys in another order) is no change; other content under the version is refused.
    const reordered = { additionalProperties: false, required: ['title'], properties: v1.properties, type: 'object' };
    expect((await publish(hub, '1.0.0', reordered)).created).toBe(false);
    await expect(publish(hub, '1.0.0', { ...v1, required: [] })).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('immutable'),
    });
    await publish(hub, '1.1.0', { ...v1, properties: { ...v1.properties, pages: { type: 'integer' } } });
    await expect(publish(hub, '1.0.5', v1)).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/older than the latest version 1\.1\.0/),
    });
    expect((await hub.schemas.get('paper')).version).toBe('1.1.0');
    expect((await hub.schemas.versions('paper')).map((s) => s.version)).toEqual(['1.0.0', '1.1.0']);
    await expect(hub.schemas.get('papr')).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringContaining('did you mean "paper"'),
    });
    await expect(hub.schemas.get('paper@9.0.0')).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringContaining('1.0.0, 1.1.0'),
    });
  });

  it('refuses bad names, versions and schemas, saying what was wrong and storing nothing', async () => {
    const hub = await hubs.open();
    await expect(publish(hub, 'v1', v1)).rejects.toMatchObject({
      code: 'validation',
      message: expect.stringContaining('semantic version'),
    });
    await expect(publish(hub, '1.0.0+build', v1)).rejects.toMatchObject({ code: 'validation' });
    await expect(hub.schemas.publish({ name: 'Paper!', version: '1.0.0', schema: v1 })).rejects.toMatchObject({
      code: 'validation',
    });
    await expect(publish(hub, '1.0.0', { type: 'object', propertys: {} })).rejects.toMatchObject({
      code: 'validation',
      message: expect.stringContaining('propertys'),
    });
    await expect(publish(hub, '1.0.0', v1, 'SIDEWAYS')).rejects.toMatchObject({
      code: 'validation',
      message: expect.stringContaining('BACKWARD'),
    });
    // Nested past any real schema (and deep enough to overflow a recursive walk): refused by name, not a crash.
    const deep = JSON.parse(`${'{"properties":{"a":'.repeat(20_000)}{}${'}}'.repeat(20_000)}`) as Record<
      string,
      unknown
    >;
    await expect(publish(hub, '1.0.0', deep)).rejects.toMatchObject({
      code: 'validation',
      message: expect.stringContaining('nests deeper than 128'),
    });
    await expect(hub.ask({ from: 'm', to: 'nobody', prompt: 'x', schema: deep })).rejects.toMatchObject({
      code: 'validation',
    });
    await expect(
      hub.workflows.start({ name: 'deep', steps: [{ id: 'a', convert: { function: 'collect', args: deep } }] }),
    ).rejects.toMatchObject({ code: 'validation' });
    expect((await hub.schemas.list()).some((s) => s.name === 'paper')).toBe(false);
  });

  it('keeps each compatibility mode, refusing with a report of what changed', async () => {
    const hub = await hubs.open();
    await publish(hub, '1.0.0', v1);
    // BACKWARD: dropping an enum value is refused, naming it.
    const narrowed = { ...v1, properties: { ...v1.properties, status: { enum: ['draft', 'final'] } } };
    const refused = await publish(hub, '2.0.0', narrowed).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'conflict', message: expect.stringContaining('archived') });
    const report = (refused as { details: { report: { breaking: { direction: string }[]; mode: string } } }).details
      .report;
    expect(report.mode).toBe('BACKWARD');
    expect(report.breaking.every((c) => c.direction === 'no_longer_accepted')).toBe(true);
    // A new required field breaks BACKWARD too; a new optional one does not (the object is closed), nor on an open
    // object is it decided by names: there it narrows what the property accepted.
    const opened = { ...v1, additionalProperties: true };
    await hub.schemas.publish({ name: 'open-paper', version: '1.0.0', schema: opened });
    const doi = { ...opened, properties: { ...v1.properties, doi: { type: 'string' } } };
    const open = await hub.schemas.check({ name: 'open-paper', version: '1.1.0', schema: doi });
    expect(open).toMatchObject({ compatible: false, against: ['1.0.0'] });
    expect(open.breaking.map((c) => c.path)).toContain('/doi');
    await expect(publish(hub, '2.0.0', { ...v1, required: ['title', 'status'] })).rejects.toMatchObject({
      code: 'conflict',
    });
    const optional = { ...v1, properties: { ...v1.properties, doi: { type: 'string' } } };
    expect((await publish(hub, '1.1.0', optional)).report).toMatchObject({ compatible: true, against: ['1.0.0'] });
    // FORWARD accepts the narrowing (old readers read everything the new one writes) and refuses a widening.
    const forward = { ...optional, properties: { ...optional.properties, status: { enum: ['draft', 'final'] } } };
    expect((await publish(hub, '1.2.0', forward, 'FORWARD')).created).toBe(true);
    const widened = { ...forward, properties: { ...forward.properties, pages: { type: ['integer', 'string'] } } };
    await expect(publish(hub, '1.3.0', { ...widened, additionalProperties: false }, 'FORWARD')).rejects.toMatchObject({
      code: 'conflict',
    });
    // What cannot be decided (a format added) is refused unless the mode is NONE, with that reason.
    const formatted = { ...forward, properties: { ...forward.properties, doi: { type: 'string', format: 'uri' } } };
    await expect(publish(hub, '1.3.0', formatted, 'BACKWARD')).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('format'),
    });
    expect((await publish(hub, '1.3.0', formatted, 'NONE')).created).toBe(true);
    // check answers the same report without publishing.
    const check = await hub.schemas.check({
      name: 'paper',
      version: '1.4.0',
      schema: { type: 'string' },
      compatibility: 'FULL',
    });
    expect(check).toMatchObject({ compatible: false, mode: 'FULL', name: 'paper', version: '1.4.0' });
    expect((await hub.schemas.get('paper')).version).toBe('1.3.0');
  });

  it('checks transitive modes against every earlier version, the others against the latest', async () => {
    const hub = await hubs.open();
    const range = (minimum: number, maximum: number) => ({
      type: 'object',
      properties: { n: { type: 'integer', minimum, maximum } },
    });
    await publish(hub, '1.0.0', range(0, 10));
    // A break let through on purpose (NONE): 0 to 4 are no longer accepted.
    await publish(hub, '1.1.0', range(5, 10), 'NONE');
    // Widening 1.1.0 is backward compatible with it, but still drops what 1.0.0 accepted: refused only transitively.
    const refused = await publish(hub, '1.2.0', range(5, 20), 'BACKWARD_TRANSITIVE').catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'conflict', message: expect.stringContaining('1.0.0') });
    expect((refused as { details: { report: { against: string[] } } }).details.report.against).toEqual([
      '1.0.0',
      '1.1.0',
    ]);
    expect((await publish(hub, '1.2.0', range(5, 20), 'BACKWARD')).report).toMatchObject({
      compatible: true,
      against: ['1.1.0'],
    });
  });

  it('lets only the owning module publish a name', async () => {
    const hub = await hubs.open();
    await hub.schemas.publish(
      {
        name: 'graph',
        version: '1.0.0',
        schema: { type: 'object' },
        description: 'graph nodes',
        compatibility: 'FULL',
      },
      { module: 'arangodb' },
    );
    expect((await hub.schemas.get('graph')).owner).toBe('arangodb');
    await expect(
      hub.schemas.publish({ name: 'graph', version: '1.1.0', schema: { type: 'object' } }, { module: 'marker' }),
    ).rejects.toMatchObject({ code: 'forbidden', message: expect.stringContaining('owned by module arangodb') });
    expect((await hub.schemas.publish({ name: 'graph', version: '1.1.0', schema: { type: 'object' } })).created).toBe(
      true,
    );
    // A version published without a description or mode keeps the name's.
    expect(await hub.schemas.get('graph@1.1.0')).toMatchObject({ description: 'graph nodes', compatibility: 'FULL' });
  });

  it('validates values with every issue, and gives TypeScript types', async () => {
    const hub = await hubs.open();
    await publish(hub, '1.0.0', v1);
    const result = await hub.schemas.validate('paper', { titel: 'x', status: 'lost' });
    expect(result).toMatchObject({ valid: false, schema: 'paper@1.0.0' });
    expect(result.issues.map((i) => [i.rule, i.path])).toEqual(
      expect.arrayContaining([
        ['required', '/title'],
        ['additionalProperties', '/titel'],
        ['enum', '/status'],
      ]),
    );
    expect(result.issues.find((i) => i.path === '/titel')?.suggestion).toContain('title');
    expect((await hub.schemas.validate('paper@1.0.0', { title: 'x' })).valid).toBe(true);
    const types = await hub.schemas.types('paper@1.0.0');
    expect(types).toMatch(/export interface Paper \{/);
    expect(types).toMatch(/title: string;/);
    expect(types).toMatch(/"draft" \| "final" \| "archived"/);
  });

  it('asks with a template: parameters checked before anything is stored, the answer schema on the reply', async () => {
    const hub = await hubs.open();
    await hub.modules.register({ name: 'arangodb', description: 'database layer' });
    const threadsBefore = (await hub.threads.list()).length;
    await expect(
      hub.ask({ from: 'marker', to: 'arangodb', template: 'field-requirements', params: { fromat: 'document@1.0.0' } }),
    ).rejects.toMatchObject({ code: 'validation', message: expect.stringContaining('did you mean "format"') });
    await expect(hub.ask({ from: 'marker', to: 'arangodb', template: 'field-requirements' })).rejects.toMatchObject({
      code: 'validation',
      message: expect.stringContaining('format'),
    });
    await expect(
      hub.ask({
        from: 'marker',
        to: 'arangodb',
        template: 'example-generation',
        params: { format: 'x', count: 'many' },
      }),
    ).rejects.toMatchObject({ code: 'validation', message: expect.stringContaining('/count') });
    await expect(hub.ask({ from: 'marker', to: 'arangodb', template: 'pdf-structur' })).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringContaining('did you mean "pdf-structure"'),
    });
    expect((await hub.threads.list()).length).toBe(threadsBefore);

    const asked = await hub.ask({
      from: 'marker',
      to: 'arangodb',
      template: 'pdf-structure',
      params: { purpose: 'a citation graph' },
    });
    const question = await hub.messages.require(asked.questionId);
    expect(question.content).toContain('They are for: a citation graph');
    expect(question.content).not.toContain('{{');
    expect(question.content).not.toContain('The documents are');
    const reply = await hub.messages.require(asked.messageId);
    expect(reply.validation).toEqual({ schema: 'pdf-requirements@1.0.0', maxRepairs: 2, valid: null, rounds: [] });
    expect(reply.schema).toEqual((await hub.schemas.get('pdf-requirements@1.0.0')).body);
    await expect(
      hub.ask({ from: 'marker', to: 'arangodb', prompt: 'x', schema: 'no-such@1.0.0' }),
    ).rejects.toMatchObject({ code: 'not_found' });
    await expect(hub.ask({ from: 'marker', to: 'arangodb', prompt: 'x', maxRepairs: 2 })).rejects.toMatchObject({
      code: 'validation',
    });
  });
});
