/**
 * How another program starts `claude-comms mcp`: the worker writes it into the MCP configuration of an agent it
 * runs, so that the agent's Claude Code starts this very installation's command line (not whatever
 * `claude-comms` its PATH may hold), acting as the module, task and reply it is given.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { IDENTITY_ENV, type McpIdentity } from './identity.js';

/** A program to start and its arguments, as an MCP configuration's `command` and `args`. */
export interface McpServerCommand {
  command: string;
  args: string[];
}

/**
 * The command that serves MCP on stdio: `node bin/claude-comms.js mcp` from the built package; from the sources
 * (tests run src/ through tsx, and dist/ may be older or absent), node with tsx's loader running src/cli/main.ts.
 * Further arguments (`--as MODULE`, `--task ID`) may be appended.
 */
export function mcpServerCommand(): McpServerCommand {
  if (!import.meta.url.endsWith('.ts')) {
    return {
      command: process.execPath,
      args: [fileURLToPath(new URL('../../bin/claude-comms.js', import.meta.url)), 'mcp'],
    };
  }
  // Resolved from here, not from the agent's directory, where `--import tsx` would not find the package.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const main = new URL('../cli/main.ts', import.meta.url).href;
  const run = `const { main } = await import(${JSON.stringify(main)}); await main([process.argv[0], 'claude-comms', ...process.argv.slice(1)]);`;
  return { command: process.execPath, args: ['--import', tsx, '--input-type=module', '-e', run, '--', 'mcp'] };
}

/**
 * The environment that tells the server who it acts as (an MCP configuration's `env`): the module, the task
 * `report_progress` updates by default, and the reply whose run makes its asks.
 */
export function mcpServerEnv(identity: McpIdentity): Record<string, string> {
  return {
    ...(identity.module ? { [IDENTITY_ENV.module]: identity.module } : {}),
    ...(identity.taskId ? { [IDENTITY_ENV.taskId]: identity.taskId } : {}),
    ...(identity.replyId ? { [IDENTITY_ENV.replyId]: identity.replyId } : {}),
  };
}
