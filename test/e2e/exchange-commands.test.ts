// The exchange commands run as a user runs them (the built bin, in child processes) against a real service:
// publishing and checking schemas from YAML files, validating files with every issue, types, templates, a
// structured ask repaired on the way, and the PDF commands on a marker-shaped document.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_REQUIREMENTS } from '../../src/exchange/pdf/index.js';
import { killStarted, type Run, type Running, requireBuild, runCli, startCli } from '../support/cli.js';

const home = mkdtempSync(join(tmpdir(), 'cc-exchange-'));
const env: NodeJS.ProcessEnv = { ...process.env, CLAUDE_COMMS_HOME: home, NO_COLOR: '1' };
for (const name of ['CLAUDE_COMMS_DATABASE', 'CLAUDE_COMMS_TOKEN', 'CLAUDE_COMMS_MODULE']) delete env[name];

/** Answers with a misspelt field until it is told what was wrong. */
const NEEDS = `let q = '';
process.stdin.on('data', (d) => (q += d));
process.stdin.on('end', () => process.stdout.write(q.includes('does not satisfy') ? '{"title": "ok"}' : 'Sure: {"titel": "ok"}'));`;

const cli = (...args: string[]): Promise<Run> => runCli(env, args);
const file = (name: string, text: string) => {
  const path = join(home, name);
  writeFileSync(path, text);
  return path;
};
let service: Running;

beforeAll(async () => {
  requireBuild();
  writeFileSync(join(home, 'needs.mjs'), NEEDS);
  writeFileSync(
    join(home, 'config.yaml'),
    `modules:\n  needs:\n    cwd: .\n    backend: command\n    command: ${JSON.stringify(process.execPath)}\n    args: [needs.mjs]\n`,
  );
  service = startCli(env, ['serve', '--port', '0']);
  await service.until((s) => /serving at (http:\S+)/.test(s.stdout), 'the service to listen');
});

afterAll(async () => {
  if (service.child.exitCode === null) {
    service.child.kill('SIGINT');
    await service.exit;
  }
  killStarted();
});

const PAPER = `name: paper
version: 1.0.0
description: A paper
schema:
  type: object
  properties:
    title: { type: string }
    status: { enum: [draft, final] }
  required: [title]
  additionalProperties: false
`;

describe('claude-comms schema, template and pdf commands', () => {
  it('publishes from YAML, says when nothing changed, and refuses a break with what changed', async () => {
    const first = await cli('schema', 'publish', file('paper.yaml', PAPER));
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('published paper@1.0.0\n');
    expect((await cli('schema', 'publish', join(home, 'paper.yaml'))).stdout).toContain(
      'already published with this content',
    );
    const narrowed = file('paper2.yaml', PAPER.replace('1.0.0', '2.0.0').replace('[draft, final]', '[draft]'));
    const check = await cli('schema', 'check', narrowed);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('NOT compatible (BACKWARD, against 1.0.0)');
    expect(check.stdout).toContain('"final"');
    const refused = await cli('schema', 'publish', narrowed);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/paper@2\.0\.0 breaks BACKWARD compatibility with 1\.0\.0:\n- .*"final"/);
    expect(refused.stderr).toContain('[conflict]');
    // A bare schema named on the command line, in another mode.
    const bare = file('bare.json', JSON.stringify({ type: 'object', properties: { title: { type: 'string' } } }));
    const published = await cli(
      'schema',
      'publish',
      bare,
      '--name',
      'paper@2.0.0',
      '--compatibility',
      'NONE',
      '--json',
    );
    expect(JSON.parse(published.stdout)).toMatchObject({
      created: true,
      schema: { version: '2.0.0', compatibility: 'NONE' },
    });
    const list = JSON.parse((await cli('schema', 'list', '--json')).stdout) as {
      schemas: { name: string; versions: string[] }[];
    };
    expect(list.schemas.find((s) => s.name === 'paper')?.versions).toEqual(['1.0.0', '2.0.0']);
    expect(list.schemas.map((s) => s.name)).toEqual(expect.arrayContaining(['document', 'pdf-requirements']));
    const show = await cli('schema', 'show', 'paper@1.0.0');
    expect(show.stdout).toContain('versions: 1.0.0, 2.0.0');
    expect(show.stdout).toContain('"additionalProperties": false');
    expect((await cli('schema', 'show', 'papr')).stderr).toContain('did you mean "paper"');
  });

  it('validates a file against a version, listing every issue, and writes TypeScript types', async () => {
    const bad = await cli('schema', 'validate', 'paper@1.0.0', file('bad.json', '{"titel": "x", "status": "lost"}'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('at /title');
    expect(bad.stderr).toContain('at /status');
    expect(bad.stderr).toContain("Did you mean property 'title'?");
    const good = await cli('schema', 'validate', 'paper@1.0.0', file('good.yaml', 'title: x\n'));
    expect(good.code).toBe(0);
    const types = await cli('schema', 'types', 'paper@1.0.0');
    expect(types.stdout).toMatch(/export interface Paper \{\n(.|\n)*title: string;/);
    expect(types.stdout).toContain('"draft" | "final"');
  });

  it('lists templates, refuses a mistyped parameter before asking, and asks a structured question', async () => {
    const list = await cli('template', 'list');
    expect(list.stdout).toMatch(/pdf-structure +1\.0\.0 +purpose, documentKind +pdf-requirements@1\.0\.0/);
    const wrong = await cli('ask', 'needs', '--template', 'field-requirements', '--param', 'fromat=document@1.0.0');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('did you mean "format"');
    const asked = await cli('ask', 'needs', 'A paper?', '--schema', 'paper@1.0.0', '--wait', '--json');
    expect(asked.code).toBe(0);
    const lines = asked.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; message?: { value?: unknown } });
    const id = (lines[0] as unknown as { messageId: string }).messageId;
    const reply = JSON.parse((await cli('watch', id, '--json')).stdout.trim().split('\n').at(-1) as string) as {
      message: { value: unknown; validation: { rounds: { valid: boolean }[] } };
    };
    expect(reply.message.value).toEqual({ title: 'ok' });
    expect(reply.message.validation.rounds.map((r) => r.valid)).toEqual([false, true]);
    // On a terminal's view, the repair round says what it is — not a lost run.
    const shown = await cli('ask', 'needs', 'A paper?', '--schema', 'paper@1.0.0', '--wait');
    expect(shown.code).toBe(0);
    expect(shown.stderr).toMatch(/the answer does not satisfy the schema \(\d+ issues?\): asking again/);
    expect(shown.stderr).toContain('repair round 1 satisfies the schema');
    expect(shown.stderr).not.toContain('the run was lost');
  });

  it('checks and converts a marker-shaped document against requirements', async () => {
    const doc = join(import.meta.dirname, '..', 'fixtures', 'pdf', 'marker-sample.json');
    const requirements = file('requirements.json', JSON.stringify(EXAMPLE_REQUIREMENTS));
    const ok = await cli('pdf', 'check', doc, requirements);
    expect(ok.stdout).toContain('meets');
    expect(ok.code).toBe(0);
    const broken = JSON.parse(readFileSync(doc, 'utf8')) as { children: { id: string }[] };
    (broken.children[1] as { id: string }).id = (broken.children[0] as { id: string }).id;
    const bad = await cli('pdf', 'check', file('broken.json', JSON.stringify(broken)), requirements, '--json');
    expect(bad.code).toBe(1);
    expect((JSON.parse(bad.stdout) as { issues: { rule: string }[] }).issues.map((i) => i.rule)).toContain('unique-id');
    const out = join(home, 'converted.json');
    const converted = await cli('pdf', 'convert', doc, requirements, '--out', out);
    expect(converted.code).toBe(0);
    expect(converted.stderr).toContain('not supplied: ');
    const conversion = JSON.parse(readFileSync(out, 'utf8')) as {
      collections: Record<string, unknown[]>;
      edges: Record<string, unknown[]>;
    };
    expect(Object.keys(conversion.collections).sort()).toEqual(['pdf_blocks', 'pdf_documents', 'pdf_sections']);
    expect(conversion.edges.pdf_has_section?.length).toBeGreaterThan(0);
  });
});
