// A hub's process in miniature, for the reaper test. Run it with
//   node --import tsx test/support/reaper-child.ts <file>
// It starts a Reaper and three process groups as agents run (detached): `term`, a shell with a `sleep` child;
// `stubborn`, the same ignoring SIGTERM; `ended`, a `sleep` it registers and then reports ended. It writes
// { reaper, term, stubborn, ended } (the reaper's pid and each group's id) as JSON to <file>, and waits to be killed.
import { spawn } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import pino from 'pino';
import { Reaper } from '../../src/runtime/reaper.js';

const [file] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: reaper-child.ts <file>\n');
  process.exit(2);
}
const reaper = Reaper.start(pino(pino.destination(2)));
const group = (command: string, args: string[]): number => {
  const child = spawn(command, args, { detached: true, stdio: 'ignore' });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  reaper.started(child.pid);
  return child.pid;
};
const term = group('sh', ['-c', 'sleep 60 & wait']);
const stubborn = group('sh', ['-c', "trap '' TERM; sleep 60 & wait"]);
const ended = group('sleep', ['60']);
reaper.ended(ended);
// Written whole or not at all: the test reads it as soon as it appears.
writeFileSync(`${file}.tmp`, JSON.stringify({ reaper: reaper.pid, term, stubborn, ended }));
renameSync(`${file}.tmp`, file);
setInterval(() => {}, 60_000);
