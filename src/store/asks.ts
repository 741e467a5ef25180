/**
 * Asking (the original design's module_ask_module / send_to_background): one module asks another. In one
 * transaction the question is stored (complete), a pending reply is created for the answering module, and a
 * task tracks it; the call returns at once and a worker produces the answer. An ask may carry a request id, which
 * makes retrying it safe (see ask-requests.ts). An ask may also be made inside a caller's write transaction, so
 * that what the caller records (a workflow step) and the ask are stored together or not at all.
 */
import { checkLimits } from '../domain/budget.js';
import { HubError } from '../domain/errors.js';
import { assertId } from '../domain/ids.js';
import type { AskInput, AskResult } from '../domain/inputs.js';
import { budgetDefaults } from '../domain/settings-summary.js';
import { nameHint } from '../domain/suggest.js';
import { moduleName, requestId, text } from '../domain/validate.js';
import { checkAskChain } from './ask-chain.js';
import { type AskRequest, claimRequest, recordRequest, requestHash } from './ask-requests.js';
import type { Database, WriteTx } from './database.js';
import type { MessageStore } from './messages.js';
import { atomicStep } from './savepoint.js';
import type { ModulesTable } from './schema.js';
import { SearchBatch } from './search-index.js';
import type { TaskStore } from './tasks.js';
import type { ThreadStore } from './threads.js';

export type { AskInput, AskResult } from '../domain/inputs.js';

/** An ask with its input checked, and its request id when it carries one. */
interface CheckedAsk {
  from: string;
  to: string;
  prompt: string;
  threadId: string | undefined;
  schema: Record<string, unknown> | undefined;
  /** A structured reply's checking: the schema's name and its repair rounds. */
  checking: { schema: string; maxRepairs: number } | undefined;
  /** The limits the ask gives (undefined: the module's default; null: none). */
  limits: { maxCostUsd: number | null | undefined; maxIterations: number | null | undefined };
  request: AskRequest | undefined;
  /** The reply whose run asks (see ask-chain.ts). */
  via: string | undefined;
}

/** Stores questions with their pending replies and tasks. */
export class AskStore {
  constructor(
    private readonly db: Database,
    private readonly threads: ThreadStore,
    private readonly messages: MessageStore,
    private readonly tasks: TaskStore,
  ) {}

  /**
   * Asks `to` a question; `not_found` for an unknown module or thread, `conflict` for a paused module or one
   * removed from config.yaml. With `tx`, the ask is made inside that write transaction (so a caller can record
   * something together with its ask, both or neither) and is whole or absent in it: an ask that throws leaves
   * nothing there, not even its request id, and the caller may go on. Its request id is then held until `tx`
   * ends: a concurrent ask with the same id waits for it, and answers this ask if `tx` commits.
   */
  async ask(input: AskInput, tx?: WriteTx, checking?: { schema: string; maxRepairs: number }): Promise<AskResult> {
    const from = moduleName(input.from, 'from');
    if (input.to === undefined && input.capability !== undefined)
      throw new HubError('validation', 'an ask by capability is routed by hub.ask, not by the store');
    const to = moduleName(input.to, 'to');
    const prompt = text(input.prompt, 'prompt', 1_000_000);
    if (typeof input.schema === 'string' || input.template !== undefined)
      throw new HubError('validation', 'a schema or template by name is resolved by hub.ask, not by the store');
    const schema = input.schema as Record<string, unknown> | undefined;
    if (input.threadId !== undefined) assertId(input.threadId, 'thread id');
    const checked = checkLimits(input);
    const limits = {
      maxCostUsd: input.maxCostUsd === undefined ? undefined : checked.maxCostUsd,
      maxIterations: input.maxIterations === undefined ? undefined : checked.maxIterations,
    };
    const request: AskRequest | undefined =
      input.requestId === undefined
        ? undefined
        : {
            scope: input.requestScope === undefined ? `module:${from}` : text(input.requestScope, 'requestScope', 200),
            key: requestId(input.requestId, 'requestId'),
            // Limits left out are left out of the hash too, so an ask's hash is what it was before asks had them.
            hash: requestHash({
              from,
              to,
              prompt,
              threadId: input.threadId,
              schema,
              ...limits,
              ...(checking ? { checking } : {}),
            }),
          };
    if (input.via !== undefined) assertId(input.via, 'via');
    const asked: CheckedAsk = {
      from,
      to,
      prompt,
      threadId: input.threadId,
      schema,
      checking,
      limits,
      request,
      via: input.via,
    };
    // In its own transaction a failed ask is rolled back with it; in a caller's, only its savepoint is.
    if (tx) return atomicStep(tx, (step) => this.askIn(step, asked));
    return this.db.write((own) => this.askIn(own, asked));
  }

  /** The ask's writes, its input checked. */
  private async askIn(tx: WriteTx, input: CheckedAsk): Promise<AskResult> {
    const { from, to, prompt, request } = input;
    // The id first: a concurrent duplicate waits here for this ask to commit, then answers it.
    if (request) {
      const earlier = await claimRequest<Omit<AskResult, 'replayed'>>(tx, request, new Date());
      if (earlier) return { ...earlier, replayed: true };
    }
    const module = await assertAskable(this.db, tx, to);
    if (input.via !== undefined) await checkAskChain(tx, input.via, from, to);
    // The module's defaults, where the ask gives no limit of its own; stored on the task, where the worker reads them.
    const defaults = budgetDefaults(JSON.parse(module.config) as Record<string, unknown>);
    // The thread's title, the question and the task's name are indexed for search together, by one statement.
    const batch = new SearchBatch();
    const threadId =
      input.threadId ??
      (await this.threads.create({ title: prompt.split('\n')[0]?.slice(0, 120) ?? null, createdBy: from }, tx, batch))
        .id;
    const question = await this.messages.create(
      { threadId, author: from, role: 'user', content: prompt, status: 'complete' },
      tx,
      batch,
    );
    const reply = await this.messages.create(
      {
        threadId,
        author: to,
        role: 'assistant',
        schema: input.schema ?? null,
        checking: input.checking ?? null,
        asker: from,
        via: input.via ?? null,
      },
      tx,
    );
    const task = await this.tasks.create(
      {
        name: `${to} answers ${from}: ${prompt.split('\n')[0]?.slice(0, 80) ?? ''}`,
        module: to,
        kind: 'ask',
        messageId: reply.id,
        maxCostUsd: input.limits.maxCostUsd === undefined ? defaults.maxCostUsd : input.limits.maxCostUsd,
        maxIterations: input.limits.maxIterations === undefined ? defaults.maxIterations : input.limits.maxIterations,
      },
      tx,
      batch,
    );
    await batch.write(this.db.dialect, tx);
    const asked = { threadId, questionId: question.id, messageId: reply.id, taskId: task.id };
    if (request) await recordRequest(tx, request, asked);
    return { ...asked, replayed: false };
  }
}

/**
 * The module `to`, unless it may not be asked now: `not_found` for an unknown module, `conflict` for a paused one or one
 * removed from config.yaml. It takes a shared lock on the module's row: asks to one module go side by side, while a
 * pause waits for them (and they for it).
 */
export async function assertAskable(db: Database, tx: WriteTx, to: string): Promise<ModulesTable> {
  const share = db.dialect === 'postgres' ? ' FOR SHARE' : '';
  const module = await tx.get<ModulesTable>(`SELECT * FROM modules WHERE name = ?${share}`, [to]);
  if (!module) {
    const known = await tx.all<{ name: string }>('SELECT name FROM modules ORDER BY name');
    const hint = nameHint(
      to,
      known.map((m) => m.name),
    );
    throw new HubError('not_found', `no module named ${to} (${hint}); modules are defined in config.yaml`);
  }
  if (module.removed_at)
    throw new HubError(
      'conflict',
      `module ${to} was removed from ${module.config_file ?? 'config.yaml'} on ${module.removed_at}; add it back to serve it`,
    );
  if (Number(module.paused) === 1)
    throw new HubError(
      'conflict',
      `module ${to} is paused; resume it to ask it questions (claude-comms modules resume ${to})`,
    );
  return module;
}
