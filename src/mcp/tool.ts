/**
 * What an MCP tool is made of here: its name, a description written for the model that calls it, zod schemas of
 * its input and output, and a function from checked input to a result — the exact JSON (`structuredContent`) and
 * a short text saying the same for clients that show only text. Each tool is written once, over `CommsClient`,
 * so the stdio server and the service's HTTP endpoint offer the same tools with the same checks.
 */
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { CommsClient } from '../client/types.js';
import { isHubError } from '../domain/errors.js';
import type { IdentityHints, McpIdentity } from './identity.js';

/** What the tools work with: the hub, who they act as, and how that is set (for the error when it is not). */
export interface McpContext {
  client: CommsClient;
  identity: McpIdentity;
  hints: IdentityHints;
}

/** What a tool call is given besides its input: its cancellation signal, and the progress token of its caller. */
export type ToolCall = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** A tool's answer: `data` checked against its output schema, `text` for the model to read. */
export interface ToolAnswer<O> {
  data: O;
  text: string;
}

/** One tool. */
export interface Tool<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  description: string;
  input: I;
  output: O;
  /** True for a tool that only reads (clients may call it without asking the user). */
  readOnly: boolean;
  run(input: z.output<I>, context: McpContext, call: ToolCall): Promise<ToolAnswer<z.output<O>>>;
}

/** A tool, typed by its schemas (the list of all tools holds them as `Tool`). */
export function tool<I extends z.ZodObject, O extends z.ZodObject>(definition: Tool<I, O>): Tool {
  return definition as unknown as Tool;
}

/** The most characters of error details shown to the model. */
const MAX_DETAILS_CHARS = 4000;

/**
 * A failure as a tool result the model can act on: the hub's message with its code (`[not_found]`,
 * `[conflict]`…) and, when the hub gave them (a schema's errors), its details; anything else as `[internal]`.
 */
export function toolError(err: unknown): CallToolResult {
  let text: string;
  if (isHubError(err)) {
    const details = err.details ? `\n${JSON.stringify(err.details).slice(0, MAX_DETAILS_CHARS)}` : '';
    text = `${err.message} [${err.code}]${details}`;
  } else {
    text = `unexpected error: ${err instanceof Error ? err.message : String(err)} [internal]`;
  }
  return { isError: true, content: [{ type: 'text', text }] };
}
