// A service running the workflow engine in its own process, for the workflow-recovery test. Run it with
//   node --import tsx test/support/workflow-child.ts <database> <options as JSON>
// where the options are { commands, leaseMs, workerLeaseMs? }: it opens a hub on the database with those
// declared commands, starts the workflow engine with that lease (and a worker with `workerLeaseMs`, when given),
// prints {"ready":true,"engaged":…} — whether it holds the engine's lease — then {"engaged":…} each time that
// changes, and runs until it is killed. Its warnings go to stderr as JSON lines.
import pino from 'pino';
import { openHub } from '../../src/index.js';
import type { DeclaredCommand } from '../../src/workflows/steps.js';

interface ChildOptions {
  commands: Record<string, DeclaredCommand>;
  leaseMs: number;
  workerLeaseMs?: number;
}

const [database, json] = process.argv.slice(2);
if (!database || !json) {
  process.stderr.write('usage: workflow-child.ts <database> <options as JSON>\n');
  process.exit(2);
}
try {
  const options = JSON.parse(json) as ChildOptions;
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const hub = await openHub({ database, config: false, retentionDays: 0, logger, commands: options.commands });
  if (options.workerLeaseMs !== undefined) await hub.startWorker({ leaseMs: options.workerLeaseMs });
  const engine = await hub.startWorkflows({ leaseMs: options.leaseMs });
  let engaged = engine.engaged;
  process.stdout.write(`${JSON.stringify({ ready: true, engaged })}\n`);
  setInterval(() => {
    if (engine.engaged === engaged) return;
    engaged = engine.engaged;
    process.stdout.write(`${JSON.stringify({ engaged })}\n`);
  }, 10);
} catch (err) {
  process.stderr.write(`workflow-child failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
