// A worker in its own process, for the worker-kill test. Run it with
//   node --import tsx test/support/worker-child.ts <database> <leaseMs>
// It opens a hub on the database, starts a worker for every registered module with that lease, prints
// {"ready":true} and runs until it is killed. Its warnings go to stderr as JSON lines.
import pino from 'pino';
import { openHub } from '../../src/index.js';

const [database, leaseMs] = process.argv.slice(2);
if (!database || !leaseMs) {
  process.stderr.write('usage: worker-child.ts <database> <leaseMs>\n');
  process.exit(2);
}
try {
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const hub = await openHub({ database, config: false, retentionDays: 0, logger });
  await hub.startWorker({ leaseMs: Number(leaseMs) });
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  setInterval(() => {}, 60_000);
} catch (err) {
  process.stderr.write(`worker-child failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
