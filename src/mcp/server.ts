/**
 * The MCP server of claude-comms: every tool registered on one `McpServer`, each failure turned into a tool
 * result the model can read (`isError`, the hub's message and code) rather than a protocol error. The stdio
 * command (cli/mcp-command.ts) makes one for its process; the service's `/mcp` endpoint (server/mcp-route.ts)
 * makes one per request.
 */
import { readFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import { type McpContext, type Tool, toolError } from './tool.js';
import { CONVERSATION_TOOLS } from './tools.js';
import { WORK_TOOLS } from './work-tools.js';

export type { McpContext } from './tool.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Every tool, in the order clients list them. */
export const TOOLS: readonly Tool[] = [...CONVERSATION_TOOLS, ...WORK_TOOLS];

/**
 * Told to the client when it connects: what the server is for, in two sentences (clients may put it in the
 * model's context, so it is short).
 */
const INSTRUCTIONS =
  'claude-comms lets you ask agents working in other repositories (modules) questions and get their answers. ' +
  'Use list_modules to see who you can ask, ask to ask, get_reply for an answer still coming.';

/**
 * The most array elements and object members a call's arguments may hold: far more than any question, schema or
 * template parameters a model writes, and a bound on what checking a call's input may cost.
 */
const MAX_INPUT_ELEMENTS = 10_000;

/**
 * One JSON Schema checker for every server: the service makes a server per `/mcp` request, and the SDK would
 * otherwise build an Ajv instance with its formats for each (about a sixth of an empty request's CPU).
 */
let validator: AjvJsonSchemaValidator | undefined;

/** A server offering every tool, acting as `context.identity` on `context.client`. */
export function createMcpServer(context: McpContext): McpServer {
  validator ??= new AjvJsonSchemaValidator();
  const server = new McpServer(
    { name: 'claude-comms', version: pkg.version },
    {
      instructions: INSTRUCTIONS,
      maxToolInputElements: MAX_INPUT_ELEMENTS,
      jsonSchemaValidator: validator,
    },
  );
  for (const t of TOOLS) {
    server.registerTool(
      t.name,
      {
        description: t.description,
        inputSchema: t.input,
        outputSchema: t.output,
        annotations: { readOnlyHint: t.readOnly, openWorldHint: false },
      },
      async (input: unknown, call): Promise<CallToolResult> => {
        try {
          const answer = await t.run(input as never, context, call);
          return {
            content: [{ type: 'text', text: answer.text }],
            structuredContent: answer.data as Record<string, unknown>,
          };
        } catch (err) {
          return toolError(err);
        }
      },
    );
  }
  return server;
}
