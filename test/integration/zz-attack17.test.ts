import { appendFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import type { Service } from '../../src/service/service.js';
import { startBareService } from '../support/service.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const OUT = '/tmp/attack17/out.log';
const log = (...a: unknown[]) => appendFileSync(OUT, `${a.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' ')}\n`);
const services: Service[] = [];
afterEach(async () => { await Promise.all(services.splice(0).map((s) => s.close())); });
const db = () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'cc-att-')), 'comms.db')}`;

async function svc() {
  const service = await startBareService(db());
  services.push(service);
  const { hub } = service;
  for (const name of ['alpha', 'beta', 'ops']) await hub.modules.register({ name, description: name, config: { capabilities: ['pdf'] } } as never);
  return {
    service, hub,
    alpha: (await hub.tokens.create({ module: 'alpha' })).token,
    beta: (await hub.tokens.create({ module: 'beta' })).token,
    ops: (await hub.tokens.create({ module: 'ops' })).token,
  };
}
async function call(service: Service, token: string | undefined, path: string, init: { method?: string; body?: unknown; raw?: string; ctype?: string | null; headers?: Record<string,string> } = {}) {
  const hasBody = init.body !== undefined || init.raw !== undefined;
  const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers ?? {}) };
  if (hasBody && init.ctype !== null) headers['content-type'] = init.ctype ?? 'application/json';
  const res = await fetch(`${service.url}/api/v1${path}`, {
    method: init.method ?? (hasBody ? 'POST' : 'GET'), headers,
    ...(init.raw !== undefined ? { body: init.raw } : init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  let body: any = text;
  try { body = JSON.parse(text); } catch {}
  return { status: res.status, body };
}
const short = (r: { status: number; body: any }) => ({ status: r.status, code: r.body?.code, detail: typeof r.body?.detail === 'string' ? r.body.detail.slice(0, 300) : typeof r.body === 'string' ? r.body.slice(0, 300) : undefined, runStatus: r.body?.status });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitRun(service: Service, id: string, pred: (r: any) => boolean, ms = 8000) {
  const end = Date.now() + ms; let r: any;
  while (Date.now() < end) { r = (await call(service, undefined, `/runs/${id}`)).body; if (pred(r)) return r; await sleep(100); }
  return r;
}
const steps = (r: any) => r?.steps?.map((s: any) => `${s.stepId}:${s.status}${s.error ? `(${String(s.error).slice(0, 160)})` : ''}`).join(', ');
const ended = (r: any) => ['complete', 'failed', 'cancelled'].includes(r?.status);

export { svc, call, short, log, waitRun, steps, ended, sleep };

const approveDef = (extra: Record<string, unknown> = {}) => ({
  name: 'appr', steps: [
    { id: 'a', convert: { function: 'collect', args: { x: 1 } } },
    { id: 'gate', after: ['a'], approve: { message: 'ok?', ...extra } },
    { id: 'b', after: ['gate'], convert: { function: 'collect', args: { y: '{{ steps.gate.approved }}' } } },
  ] });

it.skip('approvals', async () => {
  const w = await svc();
  const S = w.service;
  const start = async (token: string | undefined, def: unknown, inputs: unknown = {}) => call(S, token, '/runs', { body: { definition: def, inputs } });
  // run started by alpha, approvers default
  const r1 = await start(w.alpha, approveDef());
  log('start alpha', short(r1));
  const id = r1.body.id;
  await waitRun(S, id, (r) => r.steps?.[1]?.status === 'waiting');
  const P = `/runs/${id}/steps/gate`;
  for (const [label, init] of [
    ['note number', { body: { note: 5 } }],
    ['note null', { body: { note: null } }],
    ['note 4001', { body: { note: 'x'.repeat(4001) } }],
    ['note 10MB', { raw: JSON.stringify({ note: 'x'.repeat(10_000_000) }) }],
    ['unknown field', { body: { note: 'a', extra: 1 } }],
    ['non-JSON', { raw: 'not json' }],
    ['array body', { body: [1] }],
    ['json null body', { raw: 'null' }],
    ['missing body w/ ctype', { raw: '' }],
    ['text/plain body', { raw: '{"note":"x"}', ctype: 'text/plain' }],
    ['no body no ctype', { method: 'POST' }],
    ['lone surrogate', { raw: '{"note":"\\ud800"}' }],
  ] as const) {
    log('approve', label, short(await call(S, undefined, `/runs/${id}/steps/nosuch/approve`, init as never)));
  }
  // other module tokens
  log('beta approve alpha run', short(await call(S, w.beta, `${P}/approve`, { body: {} })));
  log('beta approve alpha run, no such step', short(await call(S, w.beta, `/runs/${id}/steps/zz/approve`, { body: {} })));
  log('beta approve nonexistent run', short(await call(S, w.beta, `/runs/nope/steps/zz/approve`, { body: {} })));
  log('bad token', short(await call(S, 'garbage', `${P}/approve`, { body: {} })));
  log('host evil', short(await call(S, undefined, `${P}/approve`, { body: {}, headers: { host: 'evil.com' } })));
  log('origin evil', short(await call(S, undefined, `${P}/approve`, { body: {}, headers: { origin: 'http://evil.com' } })));
  log('approve non-waiting step a', short(await call(S, undefined, `/runs/${id}/steps/a/approve`, { body: {} })));
  log('approve step b pending', short(await call(S, undefined, `/runs/${id}/steps/b/approve`, { body: {} })));
  log('long step param', short(await call(S, undefined, `/runs/${id}/steps/${'x'.repeat(65)}/approve`, { body: {} })));
  // concurrent approve/reject race
  const rs = await Promise.all([
    call(S, undefined, `${P}/approve`, { body: { note: 'one' } }),
    call(S, w.alpha, `${P}/approve`, { body: { note: 'two' } }),
    call(S, undefined, `${P}/reject`, { body: { note: 'three' } }),
    call(S, w.alpha, `${P}/reject`, { body: { note: 'four' } }),
  ]);
  log('race', rs.map(short));
  const fin = await waitRun(S, id, ended);
  log('race final', fin.status, steps(fin), JSON.stringify(fin.steps[1].detail), JSON.stringify(fin.steps[1].output));

  // approvers beta: alpha creator token, beta approver, ops outsider
  const r2 = await start(w.alpha, approveDef({ approvers: ['beta'] }), { secret: 'ALPHA-SECRET' });
  await waitRun(S, r2.body.id, (r) => r.steps?.[1]?.status === 'waiting');
  log('ops on approvers run', short(await call(S, w.ops, `/runs/${r2.body.id}/steps/gate/approve`, { body: {} })));
  log('alpha creator not approver', short(await call(S, w.alpha, `/runs/${r2.body.id}/steps/gate/approve`, { body: {} })));
  log('beta GET run', short(await call(S, w.beta, `/runs/${r2.body.id}`)));
  log('beta reject on step a (not approve step)', short(await call(S, w.beta, `/runs/${r2.body.id}/steps/a/reject`, { body: {} })));
  const br = await call(S, w.beta, `/runs/${r2.body.id}/steps/gate/reject`, { body: { note: 'no' } });
  log('beta reject', short(br), 'body has inputs?', JSON.stringify(br.body.inputs), 'step a output', JSON.stringify(br.body.steps?.[0]?.output));

  // approvers weird
  for (const ap of [[], [''], ['  '], ['alpha', 'alpha'], Array(101).fill('x'), [1], ['{{ inputs.who }}'], null, 'beta']) {
    const r = await start(undefined, approveDef({ approvers: ap }), { who: ['beta', 'ops'] });
    log('approvers', JSON.stringify(ap).slice(0, 40), short(r));
    if (r.status === 201) {
      const run = await waitRun(S, r.body.id, (x) => x.steps?.[1]?.status === 'waiting');
      log('  detail', JSON.stringify(run.steps[1].detail));
      log('  beta approve', short(await call(S, w.beta, `/runs/${r.body.id}/steps/gate/approve`, { body: {} })));
      log('  GET by unscoped', short(await call(S, undefined, `/runs/${r.body.id}`)));
      log('  list runs', short(await call(S, undefined, `/runs?limit=3`)));
    }
  }
  // templated message -> object / huge
  for (const m of [{ a: 1 }, 'y'.repeat(900_000), 42, null]) {
    const r = await start(undefined, approveDef({ message: '{{ inputs.m }}' }), { m });
    log('message tmpl', typeof m, short(r));
    if (r.status === 201) {
      const run = await waitRun(S, r.body.id, (x) => x.steps?.[1]?.status !== 'pending' && x.steps?.[1]?.status !== undefined && x.steps[0].status === 'complete');
      log('  run', run.status, steps(run)?.slice(0, 300), typeof run.steps?.[1]?.detail?.approval?.message);
      log('  GET', short(await call(S, undefined, `/runs/${r.body.id}`)));
    }
  }
  // timeoutMs edges
  for (const t of [0, 1, -1, 1.5, 86_400_001, '100', 2 ** 31]) {
    const r = await start(undefined, approveDef({ timeoutMs: t }));
    log('timeoutMs', t, short(r));
    if (r.status === 201) { const run = await waitRun(S, r.body.id, ended, 3000); log('  ', run.status, steps(run)); }
  }
  // approve on paused run and cancelled run
  const r3 = await start(undefined, approveDef());
  await waitRun(S, r3.body.id, (r) => r.steps?.[1]?.status === 'waiting');
  log('pause', short(await call(S, undefined, `/runs/${r3.body.id}/pause`, { method: 'POST' })));
  log('approve while paused', short(await call(S, undefined, `/runs/${r3.body.id}/steps/gate/approve`, { body: {} })));
  await sleep(500);
  let run3 = (await call(S, undefined, `/runs/${r3.body.id}`)).body; log('  paused run after approve', run3.status, steps(run3));
  log('resume', short(await call(S, undefined, `/runs/${r3.body.id}/resume`, { method: 'POST' })));
  run3 = await waitRun(S, r3.body.id, ended); log('  after resume', run3.status, steps(run3));
  const r4 = await start(undefined, approveDef());
  await waitRun(S, r4.body.id, (r) => r.steps?.[1]?.status === 'waiting');
  log('cancel', short(await call(S, undefined, `/runs/${r4.body.id}/cancel`, { method: 'POST' })));
  log('approve cancelled', short(await call(S, undefined, `/runs/${r4.body.id}/steps/gate/approve`, { body: {} })));
  log('retry cancelled gate', short(await call(S, undefined, `/runs/${r4.body.id}/steps/gate/retry`, { method: 'POST' })));
  // reject then retry then approve
  const r5 = await start(undefined, approveDef());
  await waitRun(S, r5.body.id, (r) => r.steps?.[1]?.status === 'waiting');
  log('reject', short(await call(S, undefined, `/runs/${r5.body.id}/steps/gate/reject`, { body: { note: 'nah' } })));
  await waitRun(S, r5.body.id, ended);
  log('retry', short(await call(S, undefined, `/runs/${r5.body.id}/steps/gate/retry`, { method: 'POST' })));
  let run5 = await waitRun(S, r5.body.id, (r) => r.steps?.[1]?.status === 'waiting');
  log('  after retry', run5.status, steps(run5), JSON.stringify(run5.steps[1].detail));
  log('approve after retry', short(await call(S, undefined, `/runs/${r5.body.id}/steps/gate/approve`, { body: {} })));
  run5 = await waitRun(S, r5.body.id, ended); log('  final', run5.status, steps(run5));
}, 120_000);

import { request as httpRequest } from 'node:http';
function raw(url: string, path: string, method: string, headers: Record<string,string>, body?: string): Promise<{status:number; body:string}> {
  const u = new URL(url);
  return new Promise((res, rej) => {
    const r = httpRequest({ host: u.hostname, port: u.port, path: `/api/v1${path}`, method, headers }, (resp) => { let d=''; resp.on('data', (c) => d+=c); resp.on('end', () => res({ status: resp.statusCode ?? 0, body: d.slice(0, 300) })); });
    r.on('error', rej); if (body) r.write(body); r.end();
  });
}
it.skip('approvals 2', async () => {
  const w = await svc();
  const S = w.service;
  const start = async (token: string | undefined, def: unknown, inputs: unknown = {}) => call(S, token, '/runs', { body: { definition: def, inputs } });
  const r1 = await start(undefined, approveDef());
  const id = r1.body.id;
  await waitRun(S, id, (r) => r.steps?.[1]?.status === 'waiting');
  const P = `/runs/${id}/steps/gate`;
  log('raw host evil', await raw(S.url, `${P}/approve`, 'POST', { host: 'evil.com', 'content-type': 'application/json' }, '{}'));
  log('raw host evil GET modules cap', await raw(S.url, `/modules?capability=pdf`, 'GET', { host: 'evil.com' }));
  log('raw origin null', await raw(S.url, `${P}/approve`, 'POST', { origin: 'null', 'content-type': 'application/json' }, '{}'));
  log('raw no ctype with body', await raw(S.url, `${P}/approve`, 'POST', {}, '{}'));
  const rs = await Promise.all([
    call(S, undefined, `${P}/approve`, { body: { note: 'one' } }),
    call(S, undefined, `${P}/reject`, { body: { note: 'three' } }),
    call(S, undefined, `${P}/approve`, { body: { note: 'two' } }),
    call(S, undefined, `${P}/reject`, { body: { note: 'four' } }),
  ]);
  log('race', rs.map(short));
  const fin = await waitRun(S, id, ended);
  log('race final', fin.status, steps(fin), JSON.stringify(fin.steps[1].detail), JSON.stringify(fin.steps[1].output));
  // no body no ctype on a waiting step
  const r2 = await start(undefined, approveDef());
  await waitRun(S, r2.body.id, (r) => r.steps?.[1]?.status === 'waiting');
  log('no body at all', short(await call(S, undefined, `/runs/${r2.body.id}/steps/gate/approve`, { method: 'POST' })));
  // big inputs + message
  const t0 = Date.now();
  const r3 = await start(undefined, approveDef({ message: '{{ inputs.m }}' }), { m: 'y'.repeat(900_000) });
  log('big msg start', short(r3), Date.now() - t0);
  const run3 = await waitRun(S, r3.body.id, (x) => x.steps?.[1]?.status === 'waiting' || ended(x), 30000);
  log('  big msg', run3.status, steps(run3)?.slice(0, 300), Date.now() - t0);
}, 120_000);

import { memoryLogger } from '../support/backends.js';
it.skip('big inputs', async () => {
  const mem = memoryLogger();
  const service = await startBareService(db(), { logger: mem.logger });
  services.push(service);
  const S = service;
  for (const size of [1000, 100_000, 300_000, 600_000, 900_000]) {
    const t0 = Date.now();
    const r = await call(S, undefined, '/runs', { body: { definition: { name: 'big', steps: [{ id: 'a', convert: { function: 'collect', args: { x: 1 } } }] }, inputs: { m: 'y'.repeat(size) } } });
    const run = await waitRun(S, r.body.id, ended, 10000);
    log('size', size, short(r), run.status, steps(run), Date.now() - t0);
  }
  log('warnings', mem.lines.filter((l) => (l.level as number) >= 40).map((l) => JSON.stringify(l).slice(0, 600)));
}, 120_000);

it.skip('big message', async () => {
  const mem = memoryLogger();
  const service = await startBareService(db(), { logger: mem.logger });
  services.push(service);
  const S = service;
  for (const size of [4001, 20_000, 900_000]) {
    const t0 = Date.now();
    const r = await call(S, undefined, '/runs', { body: { definition: approveDef({ message: '{{ inputs.m }}' }), inputs: { m: 'y'.repeat(size) } } });
    const run = await waitRun(S, r.body.id, (x) => x.steps?.[1]?.status === 'waiting' || ended(x), 5000);
    log('msg size', size, short(r), run.status, steps(run), Date.now() - t0);
    log('  cancel', short(await call(S, undefined, `/runs/${r.body.id}/cancel`, { method: 'POST' })));
    const after = await waitRun(S, r.body.id, ended, 3000);
    log('  after cancel', after.status, steps(after));
  }
  const warns = mem.lines.filter((l) => (l.level as number) >= 40);
  log('warnings', warns.length, warns.slice(0, 2).map((l) => JSON.stringify(l).slice(0, 900)));
}, 120_000);

import { openHub, type Hub } from '../../src/index.js';
import { commandModule } from '../support/modules.js';
const hubsOpen: Hub[] = [];
afterEach(async () => { await Promise.all(hubsOpen.splice(0).map((h) => h.close())); });
async function lib(opts: Record<string, unknown> = {}) {
  const mem = memoryLogger();
  const hub = await openHub({ database: db(), config: false, logger: mem.logger, ...opts } as never);
  hubsOpen.push(hub);
  return { hub, mem };
}
async function until2(hub: Hub, id: string, pred: (r: any) => boolean, ms = 5000) {
  const end = Date.now() + ms; let r: any;
  while (Date.now() < end) { r = await hub.workflows.get(id); if (pred(r)) return r; await sleep(50); }
  return r;
}
const tryStart = async (hub: Hub, def: any, inputs: any = {}) => {
  try { return { run: await hub.workflows.start(def, inputs) }; } catch (e: any) { return { err: `${e.code ?? e.name}: ${String(e.message).slice(0, 250)}` }; }
};
it.skip('head of line', async () => {
  const { hub, mem } = await lib();
  await commandModule(hub, 'echo', `process.stdin.resume(); process.stdin.on('end', () => process.stdout.write('{"ok":1}'));`);
  await hub.startWorker();
  await hub.startWorkflows();
  const bad = await hub.workflows.start(approveDef({ message: '{{ inputs.m }}' }), { m: 'y'.repeat(30000) });
  await sleep(1500);
  const good = await hub.workflows.start({ name: 'g', steps: [{ id: 'q', ask: { to: 'echo', prompt: 'hi' } }, { id: 'c', after: ['q'], convert: { function: 'collect', args: { v: '{{ steps.q.value }}' } } }] });
  const r = await until2(hub, good.id, ended, 15000);
  log('good run behind poisoned one:', r.status, steps(r));
  log('bad run', steps(await hub.workflows.get(bad.id)));
  log('warn count', mem.lines.filter((l) => (l.level as number) >= 40).length);
}, 60_000);

it.skip('conditions', async () => {
  const { hub, mem } = await lib();
  await hub.startWorkflows();
  const def = (when: string, extra: any = {}) => ({ name: 'c', steps: [
    { id: 'a', convert: { function: 'collect', args: { v: '{{ inputs.v }}' } } },
    { id: 'b', after: ['a'], when, convert: { function: 'collect', args: { ran: true } }, ...extra },
  ] });
  const deep = (n: number) => { let v: any = 1; for (let i = 0; i < n; i++) v = [v]; return v; };
  const cases: [string, any][] = [
    ['inputs.v == 1e309', { v: 1 }],
    ['inputs.v < 1e309', { v: 1e308 }],
    ['inputs.v == -0', { v: 0 }],
    ['inputs.v > -1e309', { v: -1e308 }],
    ['inputs.v == 0.1e1', { v: 1 }],
    ['inputs.v == 00', { v: 0 }],
    ['inputs.v == 1.', { v: 1 }],
    ['inputs.v == .5', { v: 0.5 }],
    ['inputs.v == 1E5', { v: 100000 }],
    ['inputs.v == 123456789012345678901234567890', { v: 1.2345678901234568e29 }],
    ['"many" > 10', {}],
    ['inputs.v > 10', { v: 'many' }],
    ['inputs.v in inputs.w', { v: 'a', w: 5 }],
    ['inputs.v in inputs.w', { v: { a: 1 }, w: 'xx' }],
    ['inputs.v == inputs.w', { v: deep(5000), w: deep(5000) }],
    ['inputs.v == inputs.w', { v: deep(100), w: deep(100) }],
    ['inputs.v in inputs.w', { v: 'z', w: 'a'.repeat(500_000) }],
    ['inputs.v in inputs.w', { v: deep(2), w: Array.from({ length: 100000 }, () => deep(2)) }],
    ['inputs.__proto__', { }],
    ['inputs.__proto__.x == 1', JSON.parse('{"__proto__": {"x": 1}}')],
    ['inputs.constructor', {}],
    ['exists inputs.constructor.name', {}],
    ['steps.a.v.length > 0', { v: 'abc' }],
    ['steps.a.v[0] == "a"', { v: 'abc' }],
    ['steps.a.v[999999999] == null', { v: [1] }],
    ['steps.a.v[1000000000] == null', { v: [1] }],
    ['inputs.ü == 1', { 'ü': 1 }],
    ['inputs.v == "é\u0301"', { v: 'é' }],
    ['inputs.v == "😀"', { v: '😀' }],
    ['inputs.v == \'it\\\'s\'', { v: "it's" }],
    ['inputs.v == 1', { v: 1 }],
    ['inputs.v == 1', { v: 1 }],
    ['inputs.v == 1 and', { v: 1 }],
    ['inputs and and', {}],
    ['TRUE', {}],
    ['true', {}],
    ['null == null', {}],
    ['inputs.missing != 1', {}],
    ['not ' .repeat(64) + 'true', {}],
    ['not ' .repeat(65) + 'true', {}],
    ['('.repeat(64) + 'true' + ')'.repeat(64), {}],
    ['('.repeat(65) + 'true' + ')'.repeat(65), {}],
    ['('.repeat(1000) + 'true' + ')'.repeat(1000), {}],
    [Array(400).fill('true').join(' and '), {}],
    [Array(300).fill('inputs.a').join(' or '), {}],
    ['x'.repeat(2001), {}],
    ['item == 1', {}],
    ['index > 0', {}],
    ['steps.b.x', {}],
    ['steps.nope.x', {}],
    ['steps', {}],
    ['steps.a', {}],
    ['inputs[0]', {}],
    ['inputs.a[0][1][2]', { a: [[0, [0, 0, 7]]] }],
    ['inputs.v == \'unterminated', {}],
    ['inputs.v == "\\n"', {}],
    ['inputs.v === 1', {}],
    ['inputs.v = 1', {}],
    ['1 == 1 == 1', {}],
    ['inputs.v >= "a"', { v: 'b' }],
    ['inputs.v < inputs.w', { v: [1], w: [2] }],
    ['inputs.v < inputs.w', { v: null, w: null }],
    ['inputs.v < inputs.w', { v: true, w: false }],
  ];
  for (const [when, inputs] of cases) {
    const r = await tryStart(hub, def(when), inputs);
    if (r.err) { log('WHEN', JSON.stringify(when).slice(0, 70), '->', r.err.replace(/\n/g, ' | ').slice(0, 200)); continue; }
    const run = await until2(hub, r.run!.id, ended, 5000);
    log('WHEN', JSON.stringify(when).slice(0, 70), '->', run.status, steps(run)?.slice(0, 250), run.steps[1]?.detail?.skipped ? '' : '');
  }
  const warns = mem.lines.filter((l) => (l.level as number) >= 40);
  log('warnings', warns.length, warns.slice(0, 3).map((l) => JSON.stringify(l).slice(0, 500)));
}, 200_000);

it.skip('deep inputs http', async () => {
  const mem = memoryLogger();
  const service = await startBareService(db(), { logger: mem.logger });
  services.push(service);
  const S = service;
  for (const n of [129, 1000, 3000, 5000, 100_000]) {
    const raw = `{"definition":{"name":"d","steps":[{"id":"a","convert":{"function":"collect"}}]},"inputs":{"v":${'['.repeat(n)}1${']'.repeat(n)}}}`;
    const r = await call(S, undefined, '/runs', { raw });
    log('deep inputs', n, short(r));
    if (r.status === 201) { const run = await waitRun(S, r.body.id, ended, 3000); log('   run', run?.status, steps(run)); log('   GET', short(await call(S, undefined, `/runs/${r.body.id}`))); }
    const raw2 = `{"definition":{"name":"d","steps":[{"id":"a","convert":{"function":"collect","args":{"v":${'['.repeat(n)}1${']'.repeat(n)}}}}]}}`;
    log('deep def', n, short(await call(S, undefined, '/runs', { raw: raw2 })));
    const raw3 = `{"definition":{"name":"d","steps":[{"id":"a","convert":{"function":"collect"}},{"id":"f","after":["a"],"forEach":{"items":[${'['.repeat(n)}1${']'.repeat(n)}]},"convert":{"function":"collect","args":{"i":"{{ item }}"}}}]}}`;
    log('deep items', n, short(await call(S, undefined, '/runs', { raw: raw3 })));
  }
  const errs = mem.lines.filter((l) => (l.level as number) >= 40);
  log('errors logged', errs.length, errs.slice(0, 2).map((l) => JSON.stringify(l).slice(0, 700)));
}, 120_000);

import { writeFileSync } from 'node:fs';
it.skip('forEach', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cc-fe-'));
  const script = join(dir, 'w.mjs');
  writeFileSync(script, `let q='';process.stdin.on('data',d=>q+=d);process.stdin.on('end',async()=>{const i=JSON.parse(q);await new Promise(r=>setTimeout(r,i.ms??0));if(i.fail){process.exitCode=3;return;}process.stdout.write(JSON.stringify({item:i.item}));});`);
  const { hub, mem } = await lib({ commands: { work: { argv: [process.execPath, script] } } });
  await hub.startWorkflows();
  const fe = (items: any, extra: any = {}, spec: any = { convert: { function: 'collect', args: { it: '{{ item }}', ix: '{{ index }}' } } }) => ({ name: 'fe', steps: [
    { id: 'a', convert: { function: 'collect', args: { list: '{{ inputs.list }}' } } },
    { id: 'f', after: ['a'], forEach: { items, ...extra }, ...spec },
  ] });
  const go = async (label: string, def: any, inputs: any = {}, ms = 8000) => {
    const t0 = Date.now();
    const r = await tryStart(hub, def, inputs);
    if (r.err) { log('FE', label, '->', r.err.replace(/\n/g, ' | ').slice(0, 220)); return undefined; }
    const run = await until2(hub, r.run!.id, ended, ms);
    const out = run.steps[1]?.output;
    log('FE', label, '->', run.status, steps(run)?.slice(0, 260), 'out:', JSON.stringify(out)?.slice(0, 120), 'detail:', JSON.stringify(run.steps[1]?.detail), `${Date.now() - t0}ms`);
    return run;
  };
  for (const list of ['str', { a: 1 }, null, 5, true]) await go(`list=${JSON.stringify(list)}`, fe('{{ steps.a.list }}'), { list });
  await go('10001', fe('{{ steps.a.list }}'), { list: Array.from({ length: 10001 }, (_, i) => i) });
  await go('empty', fe('{{ steps.a.list }}'), { list: [] });
  await go('literal list with tmpl', fe(['{{ inputs.x }}', 'b'], {}), { x: 'X', list: [] });
  await go('items tmpl in text', fe('list: {{ steps.a.list }}'), { list: [1] });
  await go('injection', fe('{{ steps.a.list }}'), { list: ['{{ inputs.secret }}', 'a {{ inputs.secret }} $& $1'], secret: 'S3CRET' });
  for (const c of [0, 101, '4', 1.5, -1, null]) await go(`concurrency ${c}`, fe('{{ steps.a.list }}', { concurrency: c }), { list: [1] });
  await go('extra key in forEach', fe('{{ steps.a.list }}', { bogus: 1 }), { list: [1] });
  await go('forEach on approve', fe('{{ steps.a.list }}', {}, { approve: { message: 'x {{ item }}' } }), { list: [1] });
  await go('item in when of forEach', { ...fe('{{ steps.a.list }}'), steps: [fe('x').steps[0], { ...fe('{{ steps.a.list }}').steps[1], when: 'item == 1' }] }, { list: [1] });
  await go('item out of forEach', { name: 'x', steps: [{ id: 'a', convert: { function: 'collect', args: { i: '{{ item }}' } } }] });
  await go('index.x', fe('{{ steps.a.list }}', {}, { convert: { function: 'collect', args: { i: '{{ index.x }}' } } }), { list: [1] });
  await go('item path missing on some', fe('{{ steps.a.list }}', { continueOnError: true }, { convert: { function: 'collect', args: { i: '{{ item.x }}' } } }), { list: [{ x: 1 }, 2, { x: 3 }] });
  await go('item path missing, no continue', fe('{{ steps.a.list }}', {}, { convert: { function: 'collect', args: { i: '{{ item.x }}' } } }), { list: [{ x: 1 }, 2, { x: 3 }] });
  await go('ask item to tmpl', fe('{{ steps.a.list }}', { continueOnError: true }, { ask: { to: '{{ item }}', prompt: 'hi' } }), { list: ['nobody', 42, { a: 1 }, null] });
  await go('ask capability tmpl', fe('{{ steps.a.list }}', { continueOnError: true }, { ask: { capability: '{{ item }}', prompt: 'hi' } }), { list: ['nope', 42, '   ', { a: 1 }, 'x'.repeat(300)] });
  const big = Array.from({ length: 10000 }, (_, i) => ({ i, pad: 'p'.repeat(50) }));
  await go('10000 convert items c=100', fe('{{ steps.a.list }}', { concurrency: 100 }), { list: big }, 120_000);
  // huge item objects
  await go('huge items', fe('{{ steps.a.list }}'), { list: Array.from({ length: 5 }, () => ({ blob: 'z'.repeat(2_000_000) })) }, 30000);
  // cancel while items run
  const cdef = fe('{{ steps.a.list }}', { concurrency: 3 }, { command: { name: 'work', input: { item: '{{ item }}', ms: 1500 } } });
  let r = await hub.workflows.start(cdef, { list: [1, 2, 3, 4, 5, 6] });
  await until2(hub, r.id, (x) => x.steps[1]?.detail?.items?.running === 3);
  await hub.workflows.cancel(r.id);
  await sleep(2500);
  let x = await hub.workflows.get(r.id);
  log('cancel mid-items', x.status, steps(x), JSON.stringify(x.steps[1]?.detail));
  // pause while items run
  r = await hub.workflows.start(cdef, { list: [1, 2, 3, 4, 5, 6] });
  await until2(hub, r.id, (x) => x.steps[1]?.detail?.items?.running === 3);
  await hub.workflows.pause(r.id);
  await sleep(2500);
  x = await hub.workflows.get(r.id);
  log('paused mid-items', x.status, steps(x), JSON.stringify(x.steps[1]?.detail));
  await hub.workflows.resume(r.id);
  x = await until2(hub, r.id, ended, 10000);
  log('resumed', x.status, steps(x), JSON.stringify(x.steps[1]?.output));
  // retry over a changed list: a is a command whose output differs on retry? use fail item then retry
  const rdef = { name: 'r', steps: [
    { id: 'a', command: { name: 'work', input: { item: '{{ inputs.list }}' } } },
    { id: 'f', after: ['a'], forEach: { items: '{{ steps.a.item }}', concurrency: 2 }, command: { name: 'work', input: { item: '{{ item }}', fail: '{{ inputs.fail }}' } } },
  ] };
  r = await hub.workflows.start(rdef, { list: [1, 2, 3], fail: true });
  x = await until2(hub, r.id, ended, 10000);
  log('retry-src failed run', x.status, steps(x));
  try { await hub.workflows.retry(r.id, 'a'); } catch (e: any) { log('retry a err', e.code, e.message); }
  try { await hub.workflows.retry(r.id, 'f'); } catch (e: any) { log('retry f err', e.code, e.message); }
  x = await until2(hub, r.id, ended, 10000);
  log('after retry f', x.status, steps(x), JSON.stringify(x.steps[1]?.detail));
  // retry while running
  r = await hub.workflows.start(cdef, { list: [1, 2, 3, 4] });
  await until2(hub, r.id, (x) => x.steps[1]?.detail?.items?.running >= 1);
  try { await hub.workflows.retry(r.id, 'f'); } catch (e: any) { log('retry running err', e.code, e.message); }
  try { await hub.workflows.startFrom(r.id, 'f'); log('startFrom while running ok'); } catch (e: any) { log('startFrom running err', e.code, e.message); }
  x = await until2(hub, r.id, ended, 15000);
  log('retry-while-running run', x.status, steps(x));
  const warns = mem.lines.filter((l) => (l.level as number) >= 40);
  log('warnings', warns.length, warns.slice(0, 3).map((l) => JSON.stringify(l).slice(0, 600)));
}, 400_000);

it.skip('pause items', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cc-fe-'));
  const script = join(dir, 'w.mjs');
  writeFileSync(script, `let q='';process.stdin.on('data',d=>q+=d);process.stdin.on('end',async()=>{const i=JSON.parse(q);await new Promise(r=>setTimeout(r,i.ms??0));if(i.fail){process.exitCode=3;return;}process.stdout.write(JSON.stringify({item:i.item}));});`);
  const { hub, mem } = await lib({ commands: { work: { argv: [process.execPath, script] } } });
  await hub.startWorkflows();
  const cdef = { name: 'p', steps: [{ id: 'f', forEach: { items: '{{ inputs.list }}', concurrency: 3 }, command: { name: 'work', input: { item: '{{ item }}', ms: 1000 } } }] };
  const r = await hub.workflows.start(cdef, { list: [1, 2, 3, 4, 5, 6] });
  await until2(hub, r.id, (x) => x.steps[0]?.detail?.items?.running === 3);
  await hub.workflows.pause(r.id);
  for (let i = 0; i < 6; i++) {
    await sleep(700);
    const x = await hub.workflows.get(r.id);
    const items = await (hub as any).workflows.deps.store.items.list(undefined, r.id, 'f').catch((e: any) => e.message);
    log('t', i, x.status, JSON.stringify(x.steps[0]?.detail), JSON.stringify(Array.isArray(items) ? items.map((i: any) => i.status) : items));
  }
  // cancel a paused run with items
  await hub.workflows.cancel(r.id);
  await sleep(300);
  const x = await hub.workflows.get(r.id);
  log('cancel paused', x.status, steps(x), JSON.stringify(x.steps[0]?.detail));
  const task = await hub.tasks.get(x.steps[0]!.taskId!);
  log('task', task.status, task.progress);
  log('warns', mem.lines.filter((l) => (l.level as number) >= 40).length);
}, 60_000);

it.skip('capability http', async () => {
  const w = await svc();
  const S = w.service;
  await w.hub.modules.register({ name: 'weird', description: 'w', config: { capabilities: [' pdf ', '', '   ', 'a&b=c', 'x'.repeat(5000), '\u0000nul', 'ünï'] } } as never).catch((e: any) => log('register weird', e.code, e.message.slice(0, 200)));
  for (const q of ['', '%20', '%20%20%20', 'pdf', '%20pdf%20', 'PDF', 'a%26b%3Dc', 'a&b=c', 'x'.repeat(200), 'x'.repeat(201), 'x'.repeat(10000), '%00', '%ED%A0%80', 'pdf&capability=x', 'pdf&extra=1', '%C3%BCn%C3%AF', '__proto__', 'constructor']) {
    const r = await call(S, undefined, `/modules?capability=${q}`);
    log('GET cap', JSON.stringify(q).slice(0, 30), r.status, r.body?.code ?? '', (r.body?.detail ?? '').slice(0, 150), r.status === 200 ? r.body.modules.map((m: any) => m.name).join(',') : '');
  }
  log('GET cap as beta token', short(await call(S, w.beta, `/modules?capability=pdf`)));
  log('route as API?', short(await call(S, undefined, `/modules/route?capability=pdf`)));
  // definitions with capability
  const d = (ask: any) => ({ name: 'c', steps: [{ id: 'q', ask }] });
  for (const ask of [
    { to: 'alpha', capability: 'pdf', prompt: 'x' },
    { capability: '', prompt: 'x' },
    { capability: '   ', prompt: 'x' },
    { capability: 'x'.repeat(10000), prompt: 'x' },
    { capability: 5, prompt: 'x' },
    { capability: null, prompt: 'x' },
    { prompt: 'x' },
    { capability: '{{ inputs.c }}', prompt: 'x' },
  ]) {
    const r = await call(S, w.alpha, '/runs', { body: { definition: d(ask), inputs: { c: { a: 1 } } } });
    log('def cap', JSON.stringify(ask).slice(0, 60), short(r));
    if (r.status === 201) { const run = await waitRun(S, r.body.id, ended, 4000); log('   ', run.status, steps(run)?.slice(0, 250), JSON.stringify(run.steps[0].detail)?.slice(0, 200)); }
  }
  // capability routes to a module alpha's token runs as... capability ask from alpha token: routing detail reveals other modules' load
  const r = await call(S, w.alpha, '/runs', { body: { definition: d({ capability: 'pdf', prompt: 'hi' }) } });
  const run = await waitRun(S, r.body.id, (x) => x.steps?.[0]?.status !== 'pending', 3000);
  log('cap run', run.status, steps(run), JSON.stringify(run.steps[0].detail).slice(0, 400));
  // cancel that run: reply cancelled?
  log('cancel', short(await call(S, w.alpha, `/runs/${r.body.id}/cancel`, { method: 'POST' })));
}, 60_000);

it('final', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cc-fe-'));
  const script = join(dir, 'w.mjs');
  writeFileSync(script, `process.stdin.resume();process.stdin.on('end',()=>{process.stderr.write('E'.repeat(3_000_000));process.stdout.write('O'.repeat(100));process.exitCode=2;});`);
  const { hub, mem } = await lib({ commands: { loud: { argv: [process.execPath, script] } } });
  await hub.startWorkflows();
  let r = await hub.workflows.start({ name: 'l', steps: [{ id: 'c', command: { name: 'loud' } }] });
  let x = await until2(hub, r.id, ended, 8000);
  log('loud step', x.status, x.steps[0].status, String(x.steps[0].error).length);
  r = await hub.workflows.start({ name: 'l2', steps: [{ id: 'c', forEach: { items: [1, 2], continueOnError: true }, command: { name: 'loud' } }] });
  x = await until2(hub, r.id, ended, 8000);
  log('loud items', x.status, x.steps[0].status, String(x.steps[0].error).length);
  r = await hub.workflows.start(approveDef({ message: '{{ inputs.m }}' }), { m: 'y'.repeat(30000) });
  x = await until2(hub, r.id, (y) => y.steps[1]?.status === 'waiting' || ended(y), 5000);
  log('big msg on working tree', x.status, steps(x), String(x.steps[1]?.detail?.approval?.message).length);
  r = await hub.workflows.start(approveDef({ approvers: ['{{ inputs.who }}'] }), { who: { x: 1 } });
  x = await until2(hub, r.id, (y) => y.steps[1]?.status === 'waiting' || ended(y), 5000);
  log('approvers tmpl on working tree', x.status, steps(x), JSON.stringify(x.steps[1]?.detail));
  log('warns', mem.lines.filter((l) => (l.level as number) >= 40).map((l) => JSON.stringify(l).slice(0, 300)));
}, 60_000);
