// The workflow commands run as a user runs them against a real service whose config.yaml declares a command:
// a run followed live to its exit status, the steps shown as a tree, a failure retried, a run from a step, a
// step waiting for an approval approved and rejected from the command line.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killStarted, type Run, type Running, requireBuild, runCli, startCli } from '../support/cli.js';
import { until } from '../support/wait.js';

const home = mkdtempSync(join(tmpdir(), 'cc-wfcli-'));
const env: NodeJS.ProcessEnv = { ...process.env, CLAUDE_COMMS_HOME: home, NO_COLOR: '1' };
for (const name of ['CLAUDE_COMMS_DATABASE', 'CLAUDE_COMMS_TOKEN', 'CLAUDE_COMMS_MODULE']) delete env[name];
const cli = (...args: string[]): Promise<Run> => runCli(env, args);
let service: Running;

/** Counts pages: answers `{ pages: N }` for its input's text; fails on the text "fail". */
const PAGES = `let q = '';
process.stdin.on('data', (d) => (q += d));
process.stdin.on('end', () => {
  const input = JSON.parse(q);
  if (input.text === 'fail') { process.stderr.write('cannot read it\\n'); process.exit(4); }
  process.stdout.write('@@claude-comms {"progress": 50}\\n' + JSON.stringify({ pages: String(input.text).length }));
});`;

const FLOW = `name: count
inputs:
  type: object
  properties: { text: { type: string } }
  required: [text]
steps:
  - id: count
    command: { name: pages, input: { text: "{{ inputs.text }}" } }
  - id: report
    after: [count]
    convert: { function: collect, args: { pages: "{{ steps.count.pages }}" } }
output: "{{ steps.report }}"
`;

beforeAll(async () => {
  requireBuild();
  writeFileSync(join(home, 'pages.mjs'), PAGES);
  writeFileSync(join(home, 'flow.yaml'), FLOW);
  writeFileSync(
    join(home, 'config.yaml'),
    `modules: {}\ncommands:\n  pages:\n    argv: [${JSON.stringify(process.execPath)}, pages.mjs]\n`,
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

describe('claude-comms workflow', () => {
  it('runs a file to its end with --wait, a line per step, exit 0, and shows the steps as a tree', async () => {
    const run = await cli('workflow', 'run', join(home, 'flow.yaml'), '--input', 'text=hello', '--wait');
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('step count: processing');
    expect(run.stderr).toContain('step report: complete');
    expect(run.stdout).toMatch(/run \S+ {2}count {2}complete/);
    expect(run.stdout).toMatch(/\n {2}└ report +convert +complete +1 .*after count\n/);
    const id = /started run (\S+)/.exec(run.stderr)?.[1] as string;
    const shown = JSON.parse((await cli('workflow', 'show', id, '--json')).stdout) as {
      output: unknown;
      steps: { after: string[] }[];
    };
    expect(shown.output).toEqual({ pages: 5 });
    expect(shown.steps[1]?.after).toEqual(['count']);
    const list = await cli('workflow', 'list');
    expect(list.stdout).toMatch(new RegExp(`${id} +count +complete +2/2`));
  });

  it('exits 1 for a failed run, names the error, retries the step and starts again from it', async () => {
    const run = await cli('workflow', 'run', join(home, 'flow.yaml'), '--input', 'text=fail', '--wait');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/step count: failed — .*cannot read it/);
    const id = /started run (\S+)/.exec(run.stderr)?.[1] as string;
    expect((await cli('workflow', 'retry', id, 'count')).stdout).toContain(`run ${id}: retrying count`);
    const from = await cli('workflow', 'start-from', id, 'report');
    expect(from.stdout).toMatch(/started run \S+ from report/);
    const missing = await cli('workflow', 'run', join(home, 'flow.yaml'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('text');
    const unknown = await cli('workflow', 'run', 'no-such-flow');
    expect(unknown.stderr).toContain('no workflow named no-such-flow');
    // A file that does not load is named by its own name and line, through the service as well.
    const broken = join(home, 'broken.yaml');
    writeFileSync(
      broken,
      'name: broken\nsteps:\n  - id: a\n    after: [nowhere]\n    convert: { function: collect }\n',
    );
    const refused = await cli('workflow', 'run', broken);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('broken.yaml:4: /steps/0/after/0: unknown step nowhere');
  });

  it('saves a definition and runs it by name; pauses, resumes and cancels', async () => {
    expect((await cli('workflow', 'define', join(home, 'flow.yaml'))).stdout).toBe('saved workflow count\n');
    const byName = await cli('workflow', 'run', 'count', '--input', 'text=abc', '--wait', '--json');
    expect(byName.code).toBe(0);
    const lines = byName.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { status?: string; type?: string; output?: unknown });
    expect(lines[0]?.status).toMatch(/pending|processing/);
    expect(lines.some((l) => l.type === 'step_run.status_changed')).toBe(true);
    expect(lines.at(-1)).toMatchObject({ status: 'complete', output: { pages: 3 } });
    const slow = join(home, 'slow.yaml');
    writeFileSync(slow, 'name: slow\nsteps:\n  - { id: s, command: { run: [/bin/sleep, "30"] } }\n');
    const started = await cli('workflow', 'run', slow);
    const id = started.stdout.split('\n')[0] as string;
    await new Promise((r) => setTimeout(r, 300));
    expect((await cli('workflow', 'pause', id)).stdout).toBe(`run ${id}: paused\n`);
    expect((await cli('workflow', 'resume', id)).stdout).toBe(`run ${id}: processing\n`);
    expect((await cli('workflow', 'cancel', id)).stdout).toBe(`run ${id}: cancelled\n`);
    const again = await cli('workflow', 'cancel', id);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('[invalid_transition]');
  });

  it('waits for an approval with --wait, printing how to give it; approve and reject with a note', async () => {
    const gated = join(home, 'gated.yaml');
    writeFileSync(
      gated,
      'name: gated\nsteps:\n  - { id: ok, approve: { message: "Ship it?" } }\n' +
        '  - { id: skip, after: [ok], when: "steps.ok.approved == false", convert: { function: collect } }\n',
    );
    const waiting = startCli(env, ['workflow', 'run', gated, '--wait']);
    await waiting.until((s) => /step ok: waiting/.test(s.stderr), 'the step to wait');
    const id = /started run (\S+)/.exec(waiting.stderr)?.[1] as string;
    expect(waiting.stderr).toContain(`step ok: waiting — claude-comms workflow approve ${id} ok (or reject)`);
    const shown = await cli('workflow', 'show', id);
    expect(shown.stdout).toMatch(/ok +approve +waiting .*awaiting approval: Ship it\?/);
    const approved = await cli('workflow', 'approve', id, 'ok', '--note', 'all good');
    expect(approved.stdout).toBe(`run ${id}: ok approved\n`);
    expect(await waiting.exit).toBe(0);
    const after = await cli('workflow', 'show', id);
    expect(after.stdout).toMatch(/ok +approve +complete .*approved by user: all good/);
    expect(after.stdout).toMatch(/skip +convert +skipped .*skipped: when steps.ok.approved == false does not hold/);

    const second = (await cli('workflow', 'run', gated)).stdout.split('\n')[0] as string;
    await until(async () => /waiting/.test((await cli('workflow', 'show', second)).stdout));
    const rejected = await cli('workflow', 'reject', second, 'ok', '--note', 'not today', '--json');
    const steps = (JSON.parse(rejected.stdout) as { steps: { status: string; error: string }[] }).steps;
    expect(steps[0]).toMatchObject({ status: 'failed', error: 'rejected by user: not today' });
    const twice = await cli('workflow', 'approve', second, 'ok');
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('only a step waiting for an approval is approved or rejected');
  });
});
