/**
 * The MCP tools for asking other modules and reading what they answered: `list_modules`, `ask`, `get_reply` and
 * `get_thread`. Their descriptions are written for a model and kept short (every tool's description is in its
 * context for the whole session). The tools for an agent's own work — progress, inbox, answers — are in
 * work-tools.ts.
 */
import { z } from 'zod';
import type { MessageWithTask } from '../client/types.js';
import { HubError } from '../domain/errors.js';
import { isTerminal, STATUSES } from '../domain/status.js';
import { actingModule } from './identity.js';
import { type McpContext, type Tool, type ToolCall, tool } from './tool.js';
import { MAX_WAIT_SECONDS, waitForReply } from './wait.js';

/** The longest question the hub stores, in characters (its limit on a prompt, store/asks.ts). */
export const MAX_QUESTION_CHARS = 1_000_000;

const id = (what: string) => z.string().min(1).max(200).describe(what);
const moduleName = z.string().min(1).max(200);

/** A reply as `ask` and `get_reply` answer it. */
const Reply = z.object({
  replyId: z.string(),
  threadId: z.string(),
  taskId: z.string().nullable(),
  to: z.string().describe('the module answering'),
  status: z.enum(STATUSES),
  final: z.boolean().describe('true once complete, failed or cancelled'),
  waited: z.boolean().describe('true when the wait ran out before the reply finished: call get_reply to wait on'),
  content: z.string().optional(),
  value: z.unknown().optional().describe('the answer parsed, when a schema was asked for'),
  error: z.string().optional(),
});
type Reply = z.output<typeof Reply>;

const waitSeconds = (fallback: number) =>
  z
    .number()
    .int()
    .min(0)
    .max(MAX_WAIT_SECONDS)
    .default(fallback)
    .describe(`seconds to wait for the answer (0 to ${MAX_WAIT_SECONDS}, default ${fallback})`);

/** The reply as the tools answer it, and a text saying the same. */
function replyAnswer(reply: MessageWithTask, timedOut: boolean, seconds: number): { data: Reply; text: string } {
  const final = isTerminal(reply.status);
  const data: Reply = {
    replyId: reply.id,
    threadId: reply.threadId,
    taskId: reply.taskId,
    to: reply.author,
    status: reply.status,
    final,
    waited: timedOut && seconds > 0,
    ...(reply.content ? { content: reply.content } : {}),
    ...(reply.value === null || reply.value === undefined ? {} : { value: reply.value }),
    ...(reply.error ? { error: reply.error } : {}),
  };
  const head = `Reply ${reply.id} from ${reply.author} in thread ${reply.threadId}: ${reply.status}`;
  const later = final ? '' : ` — not finished${data.waited ? ` after ${seconds} s` : ''}; call get_reply to wait`;
  const body =
    data.value !== undefined
      ? JSON.stringify(data.value, null, 2)
      : (data.content ?? '') + (data.error ? `${data.content ? '\n' : ''}error: ${data.error}` : '');
  return { data, text: `${head}${later}.${body ? `\n\n${body}` : ''}` };
}

/** `text` cut to `max` UTF-16 units, never between the two halves of a character. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** Sends MCP progress notifications while waiting, when the caller asked for them (a progress token). */
function progressOf(call: ToolCall, total: number): ((seconds: number) => void) | undefined {
  const progressToken = call._meta?.progressToken;
  if (progressToken === undefined) return undefined;
  return (seconds) => {
    void call
      .sendNotification({
        method: 'notifications/progress',
        params: { progressToken, progress: seconds, total, message: `waited ${seconds} s for the answer` },
      })
      .catch(() => undefined);
  };
}

/** Waits for a reply as the tool call allows (its cancellation stops the wait) and answers it. */
async function waitAndAnswer(context: McpContext, replyId: string, seconds: number, call: ToolCall) {
  const onWaiting = progressOf(call, seconds);
  const { reply, timedOut } = await waitForReply(context.client, replyId, seconds, {
    signal: call.signal,
    ...(onWaiting ? { onWaiting } : {}),
  });
  return replyAnswer(reply, timedOut, seconds);
}

const listModules = tool({
  name: 'list_modules',
  description:
    'List the modules (agents working in other repositories) you can ask, with what each is for and its capabilities.',
  input: z.strictObject({
    capability: z.string().min(1).max(200).optional().describe('only modules declaring this capability'),
  }),
  output: z.object({
    modules: z.array(
      z.object({
        name: z.string(),
        description: z.string(),
        capabilities: z.array(z.string()),
        health: z.enum(['healthy', 'unhealthy']),
        paused: z.boolean().describe('a paused module takes no questions until resumed'),
        interactive: z.boolean().describe('answered by a live session rather than an agent started per question'),
      }),
    ),
  }),
  readOnly: true,
  async run(input, { client }) {
    const all = await client.modules(input.capability ? { capability: input.capability } : {});
    const modules = all
      .filter((m) => m.removedAt === null)
      .map((m) => ({
        name: m.name,
        description: m.description,
        capabilities: m.capabilities,
        health: m.health,
        paused: m.paused,
        interactive: m.backend === 'session',
      }));
    const lines = modules.map(
      (m) =>
        `- ${m.name}: ${m.description || '(no description)'}` +
        (m.capabilities.length ? ` [${m.capabilities.join(', ')}]` : '') +
        (m.paused ? ' (paused)' : '') +
        (m.health === 'unhealthy' ? ' (unhealthy)' : ''),
    );
    return { data: { modules }, text: modules.length ? lines.join('\n') : 'No modules.' };
  },
});

const ask = tool({
  name: 'ask',
  description:
    'Ask another module a question (give `to` or `capability`) and wait up to waitSeconds for its answer. ' +
    'If it is not finished by then, you get its replyId and status: call get_reply later. ' +
    'Pass threadId to follow up in the same conversation.',
  input: z.strictObject({
    to: moduleName.optional().describe('the module to ask (see list_modules)'),
    capability: z.string().min(1).max(200).optional().describe('instead of to: any module declaring this capability'),
    question: z
      .string()
      .min(1)
      .max(MAX_QUESTION_CHARS)
      .optional()
      .describe(`the question, self-contained (at most ${MAX_QUESTION_CHARS} characters); optional with a template`),
    threadId: id('continue this thread (the answering agent keeps its context)').optional(),
    schema: z
      .union([z.string().min(1).max(300), z.record(z.string(), z.unknown())])
      .optional()
      .describe('JSON Schema the answer must satisfy: "name@version" of a published one, or the schema itself'),
    template: z.string().min(1).max(300).optional().describe('a query template, "name@version" or "name"'),
    params: z.record(z.string(), z.unknown()).optional().describe("the template's parameters"),
    waitSeconds: waitSeconds(60),
  }),
  output: Reply,
  readOnly: false,
  async run(input, context, call) {
    const from = actingModule(context.identity, context.hints);
    if (input.question === undefined && input.template === undefined)
      throw new HubError('validation', 'question is required (unless a template asks it)');
    const asked = await context.client.ask({
      from,
      ...(input.to === undefined ? {} : { to: input.to }),
      ...(input.capability === undefined ? {} : { capability: input.capability }),
      ...(input.question === undefined ? {} : { prompt: input.question }),
      ...(input.threadId === undefined ? {} : { threadId: input.threadId }),
      ...(input.schema === undefined ? {} : { schema: input.schema }),
      ...(input.template === undefined ? {} : { template: input.template }),
      ...(input.params === undefined ? {} : { params: input.params }),
      ...(context.identity.replyId ? { via: context.identity.replyId } : {}),
    });
    return waitAndAnswer(context, asked.messageId, input.waitSeconds, call);
  },
});

const getReply = tool({
  name: 'get_reply',
  description: 'Get a reply by its replyId (from ask), waiting up to waitSeconds for it to finish.',
  input: z.strictObject({ replyId: id('the replyId ask gave'), waitSeconds: waitSeconds(0) }),
  output: Reply,
  readOnly: true,
  run: (input, context, call) => waitAndAnswer(context, input.replyId, input.waitSeconds, call),
});

const getThread = tool({
  name: 'get_thread',
  description: 'Read a conversation: its questions and answers in order, each cut to maxChars.',
  input: z.strictObject({
    threadId: id('the thread (from ask or get_reply)'),
    maxChars: z
      .number()
      .int()
      .min(1)
      .max(MAX_QUESTION_CHARS)
      .default(4000)
      .describe('the most characters shown of each message (default 4000)'),
  }),
  output: z.object({
    threadId: z.string(),
    title: z.string().nullable(),
    messages: z.array(
      z.object({
        id: z.string(),
        author: z.string(),
        role: z.string(),
        status: z.enum(STATUSES),
        content: z.string(),
        truncated: z.boolean().optional().describe('true when content was cut to maxChars'),
        value: z.unknown().optional(),
      }),
    ),
  }),
  readOnly: true,
  async run(input, { client }) {
    const thread = await client.thread(input.threadId);
    const messages = thread.messages.map((m) => ({
      id: m.id,
      author: m.author,
      role: m.role,
      status: m.status,
      content: cut(m.content, input.maxChars),
      ...(m.content.length > input.maxChars ? { truncated: true } : {}),
      ...(m.value === null || m.value === undefined ? {} : { value: m.value }),
    }));
    const text = [
      `Thread ${thread.id}${thread.title ? `: ${thread.title}` : ''}`,
      ...messages.map(
        (m) =>
          `--- ${m.author} (${m.role}, ${m.status}) ${m.id}\n${m.content}${m.truncated ? ' […cut]' : ''}` +
          (m.value === undefined ? '' : `\nvalue: ${JSON.stringify(m.value)}`),
      ),
    ].join('\n\n');
    return { data: { threadId: thread.id, title: thread.title, messages }, text };
  },
});

/** The tools for asking and reading answers. */
export const CONVERSATION_TOOLS: readonly Tool[] = [listModules, ask, getReply, getThread];
