/**
 * How another program starts this installation's command line (not whatever `claude-comms` a PATH may hold): the
 * worker names it in the MCP configuration of each agent it runs, whose Claude Code then starts
 * `claude-comms mcp`. From the built package it is `node bin/claude-comms.js`; from the sources (tests run src/
 * through tsx, and dist/ may be older or absent) it is node with tsx's loader running src/cli/main.ts.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A program to start and its arguments (an MCP configuration's `command` and `args`). */
export interface CliCommand {
  command: string;
  args: string[];
}

/** The command line with `args` (`['mcp']`), startable from any directory. */
export function cliCommand(...args: string[]): CliCommand {
  if (!import.meta.url.endsWith('.ts')) {
    return {
      command: process.execPath,
      args: [fileURLToPath(new URL('../../bin/claude-comms.js', import.meta.url)), ...args],
    };
  }
  // Resolved from here, not from the directory it runs in, where `--import tsx` would not find the package.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const main = new URL('../cli/main.ts', import.meta.url).href;
  const run = `const { main } = await import(${JSON.stringify(main)}); await main([process.argv[0], 'claude-comms', ...process.argv.slice(1)]);`;
  return { command: process.execPath, args: ['--import', tsx, '--input-type=module', '-e', run, '--', ...args] };
}
