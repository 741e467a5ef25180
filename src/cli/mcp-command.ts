/**
 * `claude-comms mcp`: the hub's tools served over MCP on stdin and stdout, for an agent (Claude Code) to start
 * as its MCP server. It reaches the hub as every command does (the running service, else the database
 * directly), acts as the module named by `--as` or `CLAUDE_COMMS_MODULE`, reports on the task named by `--task`
 * or `CLAUDE_COMMS_TASK`, and links its asks to the reply in `CLAUDE_COMMS_REPLY`. Stdout carries the protocol
 * only; everything said to people goes to stderr. It ends when its client closes stdin.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Command } from 'commander';
import { IDENTITY_ENV, type IdentityHints, identityFrom } from '../mcp/identity.js';
import { createMcpServer } from '../mcp/server.js';
import { connectSaying } from './connection.js';
import { printErr } from './output.js';

const HINTS: IdentityHints = {
  module: `start the server with --as MODULE or set ${IDENTITY_ENV.module}`,
  task: `--task ID or ${IDENTITY_ENV.taskId}`,
};

/** Registers `mcp`. */
export function registerMcpCommand(cli: Command): void {
  cli
    .command('mcp')
    .description('serve the hub to an agent as MCP tools on stdin/stdout (ask modules, read answers, report progress)')
    .option('--as <module>', `the module the tools act as (default: $${IDENTITY_ENV.module})`)
    .option('--task <id>', `the task report_progress updates by default (default: $${IDENTITY_ENV.taskId})`)
    .action(async (opts: { as?: string; task?: string }) => {
      const identity = identityFrom({
        ...(opts.as === undefined ? {} : { module: opts.as }),
        ...(opts.task === undefined ? {} : { taskId: opts.task }),
      });
      const client = await connectSaying(cli.opts<{ database?: string }>().database);
      const server = createMcpServer({ client, identity, hints: HINTS });
      const ended = new Promise<void>((resolve) => {
        process.stdin.once('end', resolve);
        process.stdin.once('close', resolve);
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      try {
        await server.connect(new StdioServerTransport());
        printErr(
          `claude-comms: serving MCP on stdio${identity.module ? ` as ${identity.module}` : ` (no module: name one with --as or ${IDENTITY_ENV.module} to ask)`}\n`,
        );
        await ended;
      } finally {
        await server.close();
        await client.close();
      }
    });
}
