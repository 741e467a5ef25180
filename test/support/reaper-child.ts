// A hub's process in miniature, for the reaper test. Run it with
//   node --import tsx test/support/reaper-child.ts <file>
// It starts a Reaper and process groups as agents run (detached): `term`, a shell with a `sleep` child;
// `stubborn`, the same ignoring SIGTERM; `ended`, a `sleep` it registers and then reports ended; and one run,
// registered by its marker before it starts: a shell whose `sleep` moves to a session of its own (`escaped`),
// and `unregistered`, a `sleep` of the run whose group the hub dies before registering. It writes { reaper,
// term, stubborn, ended, escaped, unregistered } (the reaper's pid, each group's id, the two sleeps' pids) as
// JSON to <file>, once `escaped` runs, and waits to be killed.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { newRunMarker, RUN_MARKER } from '../../src/process/process-group.js';
import { Reaper } from '../../src/process/reaper.js';

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
const run = newRunMarker();
reaper.runStarting(run);
const env = { ...process.env, [RUN_MARKER]: run };
const escapedFile = `${file}.escaped`;
const shell = spawn('sh', ['-c', `setsid sleep 60 & echo $! > ${escapedFile}; wait`], { detached: true, env });
if (shell.pid !== undefined) reaper.started(shell.pid);
const unregistered = spawn('sleep', ['60'], { detached: true, stdio: 'ignore', env }).pid;
while (!existsSync(escapedFile) || readFileSync(escapedFile, 'utf8') === '') await sleep(5);
const escaped = Number(readFileSync(escapedFile, 'utf8'));
// Written whole or not at all: the test reads it as soon as it appears.
writeFileSync(`${file}.tmp`, JSON.stringify({ reaper: reaper.pid, term, stubborn, ended, escaped, unregistered }));
renameSync(`${file}.tmp`, file);
setInterval(() => {}, 60_000);
