// The service as a daemon, driven as a user would: `claude-comms poll …` from the built bin, the questions and
// the checks through the HTTP API, hooks received by a real command and a real HTTP receiver.
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { openHub } from '../../src/index.js';
import { alive } from '../support/modules.js';
import { createDatabase, setReadOnly } from '../support/postgres.js';
import { until } from '../support/wait.js';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'claude-comms.js');

/** Daemons and receivers to stop whatever a test's outcome. */
const cleanups: (() => void | Promise<void>)[] = [];

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js')))
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A data home whose config.yaml defines module `slow`, answered by `agent` (a node script), `concurrency` at once. */
function dataHome(agent: string, concurrency: number): { home: string; env: NodeJS.ProcessEnv } {
  const home = mkdtempSync(join(tmpdir(), 'cc-daemon-'));
  mkdirSync(join(home, 'slow'));
  writeFileSync(join(home, 'slow', 'agent.mjs'), agent);
  writeFileSync(
    join(home, 'config.yaml'),
    [
      'modules:',
      '  slow:',
      '    description: answers after a while',
      '    cwd: slow',
      '    backend: command',
      `    command: ${JSON.stringify(process.execPath)}`,
      '    args: [agent.mjs]',
      `    concurrency: ${concurrency}`,
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, CLAUDE_COMMS_HOME: home };
  delete env.CLAUDE_COMMS_DATABASE;
  cleanups.push(() => {
    // A test that failed half-way must not leave its daemon running.
    const pid = servicePid(home);
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
  });
  return { home, env };
}

function servicePid(home: string): number | undefined {
  for (const file of ['service.json', 'service.pid']) {
    try {
      const text = readFileSync(join(home, file), 'utf8');
      return file === 'service.json' ? (JSON.parse(text) as { pid: number }).pid : Number(text);
    } catch {
      // absent
    }
  }
  return undefined;
}

/** Runs the CLI; never rejects, so a test asserts the exit status it expects. */
function cli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function api<T>(url: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}/api/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const answer = (await response.json()) as T;
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

interface Reply {
  id: string;
  threadId: string;
  status: string;
  content: string;
}

describe('claude-comms poll (the service as a daemon)', () => {
  it('starts once, reports status, lists and shows a running reply, and stops cancelling it', async () => {
    const { home, env } = dataHome(
      `process.stdout.write('working on it\\n'); setTimeout(() => process.stdout.write('done\\n'), 60_000);`,
      1,
    );
    const started = await cli(env, 'poll', 'start', '--port', '0', '--interval', '0.2');
    expect(started).toMatchObject({ code: 0 });
    const [, pidText, url] = /started \(pid (\d+)\) at (http:\/\/127\.0\.0\.1:\d+)/.exec(started.stdout) ?? [];
    const pid = Number(pidText);
    expect(alive(pid)).toBe(true);
    expect(readFileSync(join(home, 'service.pid'), 'utf8').trim()).toBe(String(pid));
    expect(JSON.parse(readFileSync(join(home, 'service.json'), 'utf8'))).toMatchObject({ pid, url });

    // Commands that only read run side by side: each CLI process takes about half a second to load.
    const [again, status, statusJson] = await Promise.all([
      cli(env, 'poll', 'start', '--port', '0'),
      cli(env, 'poll', 'status'),
      cli(env, 'poll', 'status', '--json'),
    ]);
    expect(again).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout).toBe(`claude-comms is already running (pid ${pid}) at ${url}\n`);
    // A second service in the foreground on the same data home is refused, and the first stays the one found.
    const second = await cli(env, 'serve', '--port', '0');
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`a service already runs for ${home} (pid ${pid}) at ${url}`);
    expect(JSON.parse(readFileSync(join(home, 'service.json'), 'utf8'))).toMatchObject({ pid, url });
    expect(status).toMatchObject({ code: 0, stderr: '' });
    expect(status.stdout).toContain(`pid ${pid}`);
    expect(status.stdout).toContain(url);
    expect(status.stdout).toMatch(/modules\s+slow {2}healthy/);
    expect(JSON.parse(statusJson.stdout)).toMatchObject({
      running: true,
      pid,
      url,
      modules: [{ name: 'slow', health: 'healthy' }],
      messages: { processing: 0, pending: 0 },
    });

    const asked = await api<{ messageId: string; threadId: string }>(url as string, 'POST', '/ask', {
      from: 'tester',
      to: 'slow',
      prompt: 'Take your time.',
    });
    await until(
      async () => {
        const reply = await api<Reply>(url as string, 'GET', `/messages/${asked.messageId}`);
        return reply.status === 'processing' && reply.content.includes('working on it');
      },
      15_000,
      'the reply to be processing with its first line',
    );

    const [list, listJson, show, showJson] = await Promise.all([
      cli(env, 'poll', 'list'),
      cli(env, 'poll', 'list', '--json'),
      cli(env, 'poll', 'show', asked.messageId),
      cli(env, 'poll', 'show', asked.messageId, '--json'),
    ]);
    expect(list.stdout).toMatch(new RegExp(`${asked.messageId}\\s+${asked.threadId}\\s+slow\\s+processing\\s`));
    expect(JSON.parse(listJson.stdout)).toEqual([
      expect.objectContaining({ id: asked.messageId, module: 'slow', status: 'processing', contentLength: 14 }),
    ]);

    expect(show).toMatchObject({ code: 0, stderr: '' });
    expect(show.stdout).toMatch(/status\s+processing/);
    expect(show.stdout).toMatch(/Z\s+\+\S+ ms\s+pending\n.*Z\s+\+\S+ m?s\s+processing/);
    expect(show.stdout).toContain('content (14 characters so far):\n  working on it\n');
    const shown = JSON.parse(showJson.stdout);
    expect(shown.history.map((h: { status: string }) => h.status)).toEqual(['pending', 'processing']);
    expect(shown.task).toMatchObject({ status: 'processing', messageId: asked.messageId });

    const stopped = await cli(env, 'poll', 'stop');
    expect(stopped).toMatchObject({ code: 0, stderr: '' });
    expect(stopped.stdout).toMatch(
      new RegExp(
        `^claude-comms stopped \\(pid ${pid}\\) in .*; 1 running reply handed back, to run again when the service is back\\n$`,
      ),
    );
    expect(alive(pid)).toBe(false);
    expect(existsSync(join(home, 'service.json'))).toBe(false);
    expect(existsSync(join(home, 'service.pid'))).toBe(false);

    const hub = await openHub({ database: `sqlite:${join(home, 'comms.db')}`, config: false });
    try {
      // Handed back: pending again, its partial answer cleared, to run when the service is back.
      expect(await hub.messages.get(asked.messageId)).toMatchObject({ status: 'pending', content: '' });
      expect((await hub.statusHistory(asked.messageId)).map((h) => h.status)).toEqual([
        'pending',
        'processing',
        'pending',
      ]);
    } finally {
      await hub.close();
    }
    expect(await cli(env, 'poll', 'status')).toMatchObject({
      code: 3,
      stdout: `claude-comms is not running (${home})\n`,
    });
    expect((await cli(env, 'poll', 'stop')).stdout).toBe('claude-comms is not running\n');
  });

  it('fails to start on a port in use, showing the end of the log, and leaves no pid file', async () => {
    const { home, env } = dataHome('process.stdout.write("hi");', 1);
    const blocker = await listening(createServer());
    const { port } = blocker.address() as AddressInfo;
    const failed = await cli(env, 'poll', 'start', '--port', String(port));
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(
      `claude-comms: the service exited before it listened; the end of ${home}/service.log:`,
    );
    expect(failed.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    expect(existsSync(join(home, 'service.pid'))).toBe(false);
    expect(existsSync(join(home, 'service.json'))).toBe(false);
  });

  it('delivers every completion once to a command hook and a signed webhook across a SIGKILL of the daemon', async () => {
    const questions = 10;
    // Each answer waits for the go file, then 1.5 s: three at a time, so the replies finish in four waves.
    const { home, env } = dataHome(
      `import { existsSync } from 'node:fs';
       let prompt = '';
       process.stdin.on('data', (d) => (prompt += d));
       while (!existsSync('../go')) await new Promise((r) => setTimeout(r, 20));
       await new Promise((r) => setTimeout(r, 1500));
       process.stdout.write('answer to ' + prompt.trim());`,
      3,
    );
    const hookLog = join(home, 'hooks.log');
    const closed = join(home, 'hooks-closed');
    const hookLines = () => (existsSync(hookLog) ? readFileSync(hookLog, 'utf8').trim().split('\n') : []);

    // The webhook receiver: answers 503 while hooks are closed, and keeps what it accepted to check at the end.
    const accepted: { headers: IncomingHttpHeaders; body: string }[] = [];
    const receiver = await listening(
      createServer((req, res) => {
        let body = '';
        req.on('data', (d: Buffer) => (body += d));
        req.on('end', () => {
          if (existsSync(closed)) return void res.writeHead(503).end('closed');
          accepted.push({ headers: req.headers, body });
          res.writeHead(204).end();
        });
      }),
    );
    const webhook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const start = () => cli(env, 'poll', 'start', '--port', '0', '--interval', '0.2', '--lease', '2');
    expect(await start()).toMatchObject({ code: 0, stderr: '' });
    let url = (JSON.parse(readFileSync(join(home, 'service.json'), 'utf8')) as { url: string }).url;

    const asked: { messageId: string; threadId: string }[] = [];
    for (let i = 0; i < questions; i++) {
      asked.push(await api(url, 'POST', '/ask', { from: 'tester', to: 'slow', prompt: `question ${i}` }));
    }
    const command = `test ! -e '${closed}' && echo "$CLAUDE_COMMS_DELIVERY_ID $CLAUDE_COMMS_MESSAGE_ID $CLAUDE_COMMS_STATUS" >> '${hookLog}'`;
    const secrets = new Map<string, string>();
    // Two at a time: more CLI processes at once only contend for the machine's cores.
    for (let i = 0; i < asked.length; i += 2) {
      const pair = asked.slice(i, i + 2);
      for (const added of await Promise.all(
        pair.map((a) =>
          cli(env, 'poll', 'add', a.threadId, a.messageId, '--on-complete', command, '--webhook', webhook, '--json'),
        ),
      )) {
        expect(added).toMatchObject({ code: 0, stderr: '' });
        const watch = JSON.parse(added.stdout) as { id: string; secret: string };
        secrets.set(watch.id, watch.secret);
      }
    }
    const watches = (all = true) =>
      api<{ watches: { delivered: number; failures: number; lastError: string | null }[] }>(
        url,
        'GET',
        `/watches${all ? '?all=true' : ''}`,
      ).then((r) => r.watches);

    // Wave one finishes and its hooks are delivered and stored; then hooks close, so wave two's completions
    // wait (failing, retried) for delivery; the daemon is killed while wave three runs. Hooks close between two
    // waves and the kill lands while every attempt fails, so no delivery is cut off after it took effect: one
    // that is may be repeated (delivery is at least once), and this test counts deliveries exactly.
    writeFileSync(join(home, 'go'), '');
    await until(
      async () => {
        const delivered = (await watches()).reduce((sum, w) => sum + w.delivered, 0);
        return delivered >= 3 && delivered === hookLines().length && delivered === accepted.length;
      },
      15_000,
      () => `wave one's hooks (${hookLines().length} command, ${accepted.length} webhook)`,
    );
    writeFileSync(closed, '');
    const deliveredBeforeKill = hookLines().length;
    await until(
      async () => {
        const failing = (await watches()).filter((w) => w.failures > 0).length;
        const processing = await api<{ messages: Reply[] }>(url, 'GET', '/messages?status=processing');
        return failing >= 2 && processing.messages.length > 0;
      },
      15_000,
      'wave two’s hooks failing while wave three runs',
    );
    const pid = servicePid(home) as number;
    process.kill(pid, 'SIGKILL');
    await until(() => !alive(pid), 5000, 'the daemon to die');
    expect(existsSync(join(home, 'service.json'))).toBe(true);
    expect((await cli(env, 'poll', 'status')).code).toBe(3);

    // Hooks open again; the next start is not blocked by the files the killed daemon left.
    rmSync(closed);
    const restarted = await start();
    expect(restarted.stdout).toMatch(/^claude-comms started/);
    url = (JSON.parse(readFileSync(join(home, 'service.json'), 'utf8')) as { url: string }).url;
    await until(
      async () =>
        hookLines().length >= questions && accepted.length >= questions && (await watches(false)).length === 0,
      30_000,
      () => `every hook (${hookLines().length} command, ${accepted.length} webhook)`,
    );

    const replies = await Promise.all(asked.map((a) => api<Reply>(url, 'GET', `/messages/${a.messageId}`)));
    expect(replies.map((r) => r.status)).toEqual(Array(questions).fill('complete'));
    const histories = await Promise.all(
      asked.map((a) =>
        api<{ history: { status: string; from: string | null }[] }>(url, 'GET', `/messages/${a.messageId}/history`),
      ),
    );
    const recovered = histories.filter((h) => h.history.some((s) => s.status === 'pending' && s.from === 'processing'));
    expect(recovered.length).toBeGreaterThan(0);
    expect((await watches()).filter((w) => w.lastError !== null).length).toBeGreaterThan(0);
    expect(deliveredBeforeKill).toBeGreaterThanOrEqual(3);

    const ids = asked.map((a) => a.messageId).sort();
    const commandRuns = hookLines().map((line) => line.split(' '));
    expect(commandRuns.map(([, messageId]) => messageId).sort()).toEqual(ids);
    expect(commandRuns.every(([, , status]) => status === 'complete')).toBe(true);
    expect(new Set(commandRuns.map(([deliveryId]) => deliveryId)).size).toBe(questions);

    const notified = accepted.map(({ headers, body }) => {
      const watchId = String(headers['x-claude-comms-watch']);
      const timestamp = String(headers['x-claude-comms-timestamp']);
      const expected = createHmac('sha256', secrets.get(watchId) ?? '')
        .update(`${timestamp}.${body}`)
        .digest('hex');
      expect(headers['x-claude-comms-signature']).toBe(`sha256=${expected}`);
      const n = JSON.parse(body) as { watchId: string; deliveryId: string; message: { id: string; status: string } };
      expect(n).toMatchObject({
        watchId,
        deliveryId: headers['x-claude-comms-delivery'],
        message: { status: 'complete' },
      });
      return n;
    });
    expect(notified.map((n) => n.message.id).sort()).toEqual(ids);
    expect(new Set(notified.map((n) => n.watchId)).size).toBe(questions);

    expect(await cli(env, 'poll', 'stop')).toMatchObject({ code: 0, stderr: '' });
  });

  it.skipIf(inject('postgresUrl') === '')(
    'shows in poll status that its database refuses writes, and that it stores again',
    async () => {
      const { env } = dataHome('process.stdout.write("hi");', 1);
      const database = await createDatabase(inject('postgresUrl'));
      env.CLAUDE_COMMS_DATABASE = database;
      const started = await cli(env, 'poll', 'start', '--port', '0');
      expect(started).toMatchObject({ code: 0, stderr: '' });
      const [, url] = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(started.stdout) ?? [];

      await setReadOnly(inject('postgresUrl'), database, true);
      // A write meets the fault (the first may meet a connection that the set-up ended: the same code).
      await until(
        async () => {
          const refused = await fetch(`${url}/api/v1/ask`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ from: 'tester', to: 'slow', prompt: 'Anything?' }),
          });
          return ((await refused.json()) as { detail: string }).detail.includes('refuses writes');
        },
        10_000,
        'a write to meet the read-only database',
      );
      const [status, statusJson] = await Promise.all([
        cli(env, 'poll', 'status'),
        cli(env, 'poll', 'status', '--json'),
      ]);
      expect(status).toMatchObject({ code: 0, stderr: '' });
      expect(status.stdout).toMatch(/storage {4}cannot store for [\d.]+ (ms|s): PostgreSQL at .* refuses writes/);
      expect(JSON.parse(statusJson.stdout)).toMatchObject({
        running: true,
        storage: { status: 'faulted', code: 'storage_unavailable' },
      });

      await setReadOnly(inject('postgresUrl'), database, false);
      await until(
        async () => JSON.parse((await cli(env, 'poll', 'status', '--json')).stdout).storage.status === 'ok',
        20_000,
        'poll status to show the database storing again',
      );
      expect((await cli(env, 'poll', 'status')).stdout).toMatch(/storage {4}ok\n/);
      expect((await cli(env, 'poll', 'stop')).code).toBe(0);
    },
  );
});

function listening(server: Server): Promise<Server> {
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
