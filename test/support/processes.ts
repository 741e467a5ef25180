// Looking at process groups from outside (Linux /proc), for the tests that check no agent process is left behind.
import { readdirSync, readFileSync } from 'node:fs';

/** The pids of the running processes (zombies aside) of process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let line: string;
    try {
      line = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the command name, which may itself contain spaces and parentheses: state, ppid, pgrp, …
    const [state, , pgrp] = line.slice(line.lastIndexOf(')') + 2).split(' ');
    if (pgrp === String(pgid) && state !== 'Z') members.push(Number(entry));
  }
  return members;
}
