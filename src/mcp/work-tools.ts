/**
 * The MCP tools for an agent's own work: `report_progress` on the task it was started for (or one it names),
 * and, for a module answered by a live session (`backend: session`), `inbox` (the questions waiting for it) and
 * `answer`. The limits in the schemas are the hub's own (store/tasks.ts, store/asks.ts), so the model learns of
 * them before it calls.
 */
import { z } from 'zod';
import { HubError } from '../domain/errors.js';
import { STATUSES } from '../domain/status.js';
import { actingModule, actingTask } from './identity.js';
import { type Tool, tool } from './tool.js';
import { MAX_QUESTION_CHARS } from './tools.js';

/** The longest log entry the hub keeps (store/tasks.ts). */
const MAX_LOG_CHARS = 20_000;

const reportProgress = tool({
  name: 'report_progress',
  description:
    'Report progress on your task (the one you were started for, unless taskId is given): percent done, ' +
    'iteration, a criterion met, a note or an action for its log. Answers the task as it now stands.',
  input: z.strictObject({
    taskId: z.string().min(1).max(200).optional().describe('default: the task of your current run'),
    percent: z.number().min(0).max(100).optional().describe('how much is done, 0 to 100'),
    iteration: z.number().int().min(0).max(1_000_000).optional(),
    note: z.string().min(1).max(MAX_LOG_CHARS).optional().describe('a line for the task log'),
    criterionVerified: z
      .union([z.number().int().min(0), z.string().min(1).max(2000)])
      .optional()
      .describe('an acceptance criterion now met: its index (from 0) or its text'),
    action: z.string().min(1).max(MAX_LOG_CHARS).optional().describe('something you did, logged as an action'),
  }),
  output: z.object({
    id: z.string(),
    status: z.enum(STATUSES),
    progress: z.number(),
    iteration: z.number(),
    criteria: z.array(z.object({ text: z.string(), verified: z.boolean() })),
  }),
  readOnly: false,
  async run(input, { client, identity, hints }) {
    const id = actingTask(identity, input.taskId, hints);
    if (input.percent !== undefined || input.iteration !== undefined) {
      await client.updateTask(id, {
        ...(input.percent === undefined ? {} : { progress: input.percent }),
        ...(input.iteration === undefined ? {} : { iteration: input.iteration }),
      });
    }
    if (input.criterionVerified !== undefined) await client.verifyCriterion(id, input.criterionVerified);
    if (input.note !== undefined) await client.logTask(id, { text: input.note });
    if (input.action !== undefined) await client.logTask(id, { text: input.action, action: 'report_progress' });
    const task = await client.task(id);
    const criteria = task.criteria.map((c) => ({ text: c.text, verified: c.verified }));
    const met = criteria.filter((c) => c.verified).length;
    return {
      data: { id: task.id, status: task.status, progress: task.progress, iteration: task.iteration, criteria },
      text:
        `Task ${task.id}: ${task.status}, ${task.progress}% done, iteration ${task.iteration}` +
        (criteria.length ? `, ${met} of ${criteria.length} criteria met.` : '.'),
    };
  },
});

const Question = z.object({
  replyId: z.string().describe('give it to answer'),
  threadId: z.string(),
  taskId: z.string().nullable(),
  from: z.string(),
  question: z.string(),
  status: z.enum(['pending', 'processing']),
  content: z.string().describe('what you have answered so far'),
  schema: z.record(z.string(), z.unknown()).nullable().describe('JSON Schema your answer must satisfy'),
  askedAt: z.string(),
  expiresAt: z.string().nullable().describe('when it fails unless answered'),
});

const inbox = tool({
  name: 'inbox',
  description: 'The questions other modules asked you that wait for your answer, oldest first.',
  input: z.strictObject({ limit: z.number().int().min(1).max(100).optional().describe('at most this many') }),
  output: z.object({ module: z.string(), questions: z.array(Question) }),
  readOnly: true,
  async run(input, { client, identity, hints }) {
    const module = actingModule(identity, hints);
    const questions = await client.inbox(module, input.limit === undefined ? {} : { limit: input.limit });
    const text = questions.length
      ? questions
          .map(
            (q) =>
              `--- ${q.replyId} from ${q.from} (${q.status}${q.schema ? ', answer as JSON per its schema' : ''})\n${q.question}`,
          )
          .join('\n\n')
      : `No questions wait for ${module}.`;
    return { data: { module, questions }, text };
  },
});

const answer = tool({
  name: 'answer',
  description:
    'Answer a question from your inbox. final=false sends a part and keeps the reply open for more. ' +
    'With a schema, the final answer must be JSON satisfying it, else it is refused with the errors.',
  input: z.strictObject({
    replyId: z.string().min(1).max(200).describe('from inbox'),
    content: z.string().min(1).max(MAX_QUESTION_CHARS).describe('the answer, or its next part'),
    final: z.boolean().default(true).describe('false: a part, more follows (default true)'),
  }),
  output: z.object({ replyId: z.string(), status: z.enum(STATUSES) }),
  readOnly: false,
  async run(input, { client, identity, hints }) {
    // Only this module's own questions: another module's reply is answered as if it did not exist.
    const module = actingModule(identity, hints);
    const asked = await client.message(input.replyId);
    if (asked.role !== 'assistant' || asked.author !== module)
      throw new HubError('not_found', `no question with reply id ${input.replyId} in ${module}'s inbox`);
    const reply = await client.answer(input.replyId, { content: input.content, final: input.final });
    return { data: { replyId: reply.id, status: reply.status }, text: `Reply ${reply.id}: ${reply.status}.` };
  },
});

/** The tools for an agent's own work. */
export const WORK_TOOLS: readonly Tool[] = [reportProgress, inbox, answer];
