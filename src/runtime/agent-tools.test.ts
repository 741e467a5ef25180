// The MCP server a worker gives its agents, started as Claude Code starts it: from the agent's own directory, with
// the command and environment hubToolsFor gives. Under the tests it runs the sources through tsx.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { hubToolsFor } from './agent-tools.js';

const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

const home = mkdtempSync(join(tmpdir(), 'cc-mcp-launch-'));
writeFileSync(
  join(home, 'config.yaml'),
  'modules:\n  alpha:\n    cwd: .\n    backend: session\n  inboxer:\n    cwd: .\n    backend: session\n',
);

/** The server as an agent in a repository of its own starts it, acting as `module` answering `reply`. */
async function start(module: string, reply: string, taskId?: string): Promise<Client> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && !key.startsWith('CLAUDE_COMMS_')) env[key] = value;
  const tools = hubToolsFor({ database: `sqlite:${join(home, 'comms.db')}`, home }, module, reply, taskId);
  const transport = new StdioClientTransport({
    command: tools.command,
    args: tools.args,
    cwd: mkdtempSync(join(tmpdir(), 'cc-agent-repo-')),
    env: { ...env, ...tools.env },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'launch-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (result.isError) throw new Error(JSON.stringify(result.content));
  return result.structuredContent as Record<string, unknown>;
}

describe('hubToolsFor', () => {
  it('starts the stdio server from an agent’s directory, acting as the module, task and reply it is given', async () => {
    expect(hubToolsFor({ database: 'sqlite:/x.db', home: '/h' }, 'alpha', 'r', 't')).toMatchObject({
      server: 'claude-comms',
      env: {
        CLAUDE_COMMS_MODULE: 'alpha',
        CLAUDE_COMMS_TASK: 't',
        CLAUDE_COMMS_REPLY: 'r',
        CLAUDE_COMMS_DATABASE: 'sqlite:/x.db',
        CLAUDE_COMMS_HOME: '/h',
      },
    });
    const alpha = await start('alpha', '');
    const asked = await call(alpha, 'ask', { to: 'inboxer', question: 'Which fields?', waitSeconds: 0 });
    const [question] = (await call(alpha, 'get_thread', { threadId: asked.threadId })).messages as {
      author: string;
    }[];
    expect(question?.author).toBe('alpha');

    const inboxer = await start('inboxer', asked.replyId as string, asked.taskId as string);
    expect(await call(inboxer, 'report_progress', { percent: 30 })).toMatchObject({ id: asked.taskId, progress: 30 });
    // Asking alpha back from inside the answer to alpha would wait on itself: the reply went as `via`.
    await expect(call(inboxer, 'ask', { to: 'alpha', question: 'Which?', waitSeconds: 0 })).rejects.toThrow(
      /\[conflict\]/,
    );
  });
});
