/**
 * `openHub()` wires the store, the event log and the watchers into the library's front door.
 */

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { dataHome, defaultDatabase } from './config/paths.js';
import { encodeCursor } from './domain/cursor.js';
import { HubError, isHubError } from './domain/errors.js';
import type { AnswerInput, InboxItem, SearchOptions } from './domain/inputs.js';
import type { Message, SearchHit, StatusChange } from './domain/types.js';
import { MAX_TIMER_MS, number } from './domain/validate.js';
import { EventLog } from './events/event-log.js';
import type { HubEvents } from './events/hub-events.js';
import { newHolderId } from './events/leased-role.js';
import { MessageMonitor } from './events/message-monitor.js';
import { type Completion, MessageWatch, type WaitOptions } from './events/watch.js';
import { type HookOptions, HookRunner } from './hooks/runner.js';
import { WatchStore } from './hooks/watches.js';
import { LazyReaper } from './process/reaper.js';
import { ProgressTracker } from './progress/tracker.js';
import { type RouteDecision, routeCapability } from './registry/routing.js';
import { SchemaRegistry } from './registry/schema-registry.js';
import { resolveAsk } from './registry/structured-ask.js';
import { TemplateRegistry } from './registry/template-registry.js';
import { Worker } from './runtime/worker.js';
import type { WorkerOptions } from './runtime/worker-options.js';
import { A2ATaskStore } from './store/a2a-tasks.js';
import { waitingUpChain } from './store/ask-chain.js';
import { type AskInput, type AskResult, AskStore } from './store/asks.js';
import { ConfigSync, type ConfigSyncResult } from './store/config-sync.js';
import type { Database } from './store/database.js';
import { EventStore } from './store/events.js';
import { Inbox } from './store/inbox.js';
import { InstanceStore } from './store/instances.js';
import { LeaseStore } from './store/leases.js';
import { MessageStore } from './store/messages.js';
import { schemaVersion } from './store/migrations.js';
import { ModuleStore } from './store/modules.js';
import { type OpenDatabaseOptions, openDatabase } from './store/open.js';
import { ReplyQueue } from './store/reply-queue.js';
import { type RetryOptions, type RetryResult, RetryStore } from './store/retries.js';
import { SchemaStore } from './store/schemas.js';
import { SearchStore } from './store/search.js';
import type { StorageState } from './store/storage-health.js';
import { StructuredReplies } from './store/structured-replies.js';
import { TaskStore } from './store/tasks.js';
import { TemplateStore } from './store/templates.js';
import { ThreadContext } from './store/thread-context.js';
import { ThreadStore } from './store/threads.js';
import { TokenStore } from './store/tokens.js';
import { Visibility } from './store/visibility.js';
import { WatchRecords } from './store/watches.js';
import { WorkflowStore } from './store/workflow-runs.js';
import { BUILTIN_COMMANDS } from './workflows/builtin-commands.js';
import { type EngineOptions, WorkflowEngine } from './workflows/engine.js';
import type { DeclaredCommand } from './workflows/steps.js';
import { Workflows } from './workflows/workflows.js';

/** Options of `openHub`. */
export interface HubOptions extends OpenDatabaseOptions {
  /**
   * `sqlite:PATH` or `postgres://…`. Default: `CLAUDE_COMMS_DATABASE`, else SQLite at
   * `$CLAUDE_COMMS_HOME/comms.db` (`~/.claude-comms/comms.db`).
   */
  database?: string;
  /**
   * Backstop check for other processes' changes, in ms (default 1000). Changes still arrive at once through
   * file notifications (SQLite) or NOTIFY (PostgreSQL); this only bounds the delay if one is lost.
   */
  pollIntervalMs?: number;
  /** Events older than this many days are pruned (default 30; 0 keeps everything). */
  retentionDays?: number;
  /** Largest message content in characters (default 4,000,000). */
  maxContentLength?: number;
  /** Quiet time between two content writes of one message in ms (default 50: ≤ 20 content events/s). */
  contentCoalesceMs?: number;
  /**
   * Module definitions to sync at open (see `syncConfig`): a `config.yaml` path, or false for none. Default:
   * `$CLAUDE_COMMS_HOME/config.yaml` (`~/.claude-comms/config.yaml`). A file that does not exist changes nothing.
   */
  config?: string | false;
  /**
   * Called instead of failing the open when the config file is invalid (the error names file and line); the
   * modules then stay as they were. For readers that must work while someone fixes the file.
   */
  onConfigError?: (err: HubError) => void;
  /** Hears each warning about the config file read at open (an old name of a setting, with file and line). */
  onConfigWarning?: (warning: string) => void;
  /** Where diagnostics go (default: pino at `warn` on stderr). */
  logger?: Logger;
  /**
   * Let watches created by module tokens call loopback, private and link-local webhook addresses (default:
   * `CLAUDE_COMMS_WEBHOOK_ALLOW_PRIVATE=1`, else false). Watches created without a module scope always may.
   */
  allowPrivateWebhooks?: boolean;
  /** Programs workflow `command` steps may run by name, besides those config.yaml declares under `commands`. */
  commands?: Record<string, DeclaredCommand>;
}

export type { HubEvents };

/** An open hub. Close it to release the database. */
export interface Hub {
  /** Where the data lives (no password). */
  readonly database: string;
  readonly threads: ThreadStore;
  readonly messages: MessageStore;
  readonly tasks: TaskStore;
  readonly modules: ModuleStore;
  /** The modules' agents: list, create, pause, resume, terminate. */
  readonly instances: InstanceStore;
  /** Task progress as agents report it (the original design's ProgressTracker), live everywhere. */
  readonly progress: ProgressTracker;
  /** API tokens (the service requires one on any bind but loopback). */
  readonly tokens: TokenStore;
  readonly events: HubEvents;
  /** Hooks' watches: what fires a command or a webhook, on which replies (see `startHooks`). */
  readonly watches: WatchStore;
  /** What a token scoped to a module may see: single-record checks (lists take `visibleTo`). */
  readonly visibility: Visibility;
  /** The tasks outside agents started over A2A, as the protocol writes them (see src/a2a/). */
  readonly a2aTasks: A2ATaskStore;
  /** Watches many messages through one subscription (the original design's MessageMonitor). */
  readonly monitor: MessageMonitor;
  /** Every status of a message with times (the original design's StatusTracker history). */
  statusHistory(messageId: string): Promise<StatusChange[]>;
  /** Resolves when the message finishes (the original design's poll_message_until_complete). */
  waitForCompletion(messageId: string, options?: WaitOptions): Promise<Completion>;
  /**
   * Asks a module a question: stores it, creates the pending reply and its task, and returns at once. Watch the
   * reply with `waitForCompletion(messageId)`. With a `requestId`, asking again (a retry) within 24 hours answers
   * the first ask (`replayed: true`) instead of asking twice.
   */
  ask(input: AskInput): Promise<AskResult>;
  /**
   * The questions waiting for an interactive module (`backend: session`), oldest first (see store/inbox.ts).
   */
  inbox(module: string, options?: { limit?: number }): Promise<InboxItem[]>;
  /**
   * An interactive module's answer, or part of one, to a reply in its inbox (see store/inbox.ts). `as`: the module
   * the caller acts as (a scoped token): a reply of another module is `not_found`.
   */
  answer(replyId: string, input: AnswerInput, options?: { as?: string }): Promise<Message>;
  /**
   * The module an ask for `capability` goes to: among the modules declaring it that are served (not removed,
   * paused or unhealthy), the one with the fewest busy instances, then the fewest queued replies, then by name;
   * with every module declaring it and why each was passed over. `not_found` when none declares it (naming those
   * declared), `unavailable` when none is served now (naming each and why). See src/registry/routing.ts.
   */
  routeCapability(capability: string): Promise<RouteDecision>;
  /** The exchange schemas: publish (compatibility-checked), get, list, validate, check, types. */
  readonly schemas: SchemaRegistry;
  /** Query templates: named, versioned questions with parameters and an answer schema. */
  readonly templates: TemplateRegistry;
  /**
   * Retries a failed or cancelled reply, or the task behind one (`kind`): a new pending reply to the same question,
   * by the same module, with its own task; both carry `retryOf`. `invalid_transition` for a reply not failed or
   * cancelled.
   */
  retry(id: string, kind?: 'message' | 'task', options?: RetryOptions): Promise<RetryResult>;
  /**
   * Finds threads (by title), messages (questions and answers, once finished) and tasks (by name and log) whose
   * text holds every word of `q` as the beginning of a word, any case, accents ignored; newest first, with a
   * snippet marking the matched words. Page on with `before` = the last hit's id.
   */
  search(options: SearchOptions): Promise<SearchHit[]>;
  /**
   * Starts a worker that answers the pending replies of the registered modules (all, or those named) through
   * their backends. Several workers, in one process or many, can share a database. Closing the hub stops it.
   */
  startWorker(options?: WorkerOptions): Promise<Worker>;
  /**
   * Starts delivering the watches' hooks (commands and webhooks), at least once, from each watch's stored
   * position in the log. One runner per hub (`conflict` for a second); closing the hub stops it.
   */
  startHooks(options?: HookOptions): Promise<HookRunner>;
  /** Workflows: definitions, runs and their control (see docs/workflows.md); runs advance where `startWorkflows` runs. */
  readonly workflows: Workflows;
  /**
   * Runs the workflow engine in this hub: one hub at a time among those sharing the database runs it (a lease),
   * the others stand by and take over when it stops or dies, continuing every unfinished run.
   */
  startWorkflows(options?: EngineOptions): Promise<WorkflowEngine>;
  /**
   * Makes the registered modules match a config.yaml: its modules are registered or updated (and served again if
   * they had been removed); a module registered from a config file that is not in this one is marked removed —
   * asking it is refused, its unanswered replies fail. Modules registered with `modules.register` are left alone.
   * `source` is what the modules record as their origin (default: the file's absolute path). `warnings`: what
   * the file should change (an old name of a setting), each with file and line.
   */
  syncConfig(file: string, options?: { source?: string }): Promise<ConfigSyncResult & { warnings: string[] }>;
  /** The schema version of the open database. */
  schemaVersion(): Promise<number>;
  /**
   * Whether the database can store anything now: `ok`, or the fault writes meet (`storage_full`,
   * `storage_unavailable`), what to do about it and since when. Cleared within about a second of the fault
   * clearing; the worker then writes what the fault held back.
   */
  storage(): StorageState;
  /**
   * Stops the workers and hooks and closes the database. Running replies are cancelled, or with `handBack` go back
   * to pending to run again when a worker is back (their agents' sessions resumed where they have them).
   */
  close(options?: { handBack?: boolean }): Promise<void>;
}

const HOUR = 60 * 60 * 1000;

/** Opens (creating and migrating as needed) the hub's database and starts following its event log. */
export async function openHub(options: HubOptions = {}): Promise<Hub> {
  const logger =
    options.logger ??
    pino({ name: 'claude-comms', level: process.env.CLAUDE_COMMS_LOG_LEVEL ?? 'warn' }, pino.destination(2));
  const pollIntervalMs = number(options.pollIntervalMs ?? 1000, 'pollIntervalMs', 5, MAX_TIMER_MS);
  const retentionDays = number(options.retentionDays ?? 30, 'retentionDays', 0, 100 * 365);
  const maxContentLength = number(options.maxContentLength ?? 4_000_000, 'maxContentLength', 1, 1_000_000_000, true);
  const coalesceMs = number(options.contentCoalesceMs ?? 50, 'contentCoalesceMs', 0, 60_000);
  const databaseUrl = options.database ?? defaultDatabase();
  const db: Database = await openDatabase(databaseUrl, options);
  const eventStore = new EventStore(db);
  const log = new EventLog(db, eventStore, logger);
  const tasks = new TaskStore(db);
  const messages = new MessageStore(db, { maxContentLength, coalesceMs }, tasks);
  const watch = new MessageWatch(log, eventStore, messages);
  const monitor = new MessageMonitor(eventStore, log, logger);
  const threads = new ThreadStore(db);
  const modules = new ModuleStore(db);
  const instances = new InstanceStore(db, messages);
  const asks = new AskStore(db, threads, messages, tasks);
  const retries = new RetryStore(db, messages, tasks);
  const visibility = new Visibility(db);
  const search = new SearchStore(db);
  const watchSettings = {
    allowPrivateWebhooks: options.allowPrivateWebhooks ?? process.env.CLAUDE_COMMS_WEBHOOK_ALLOW_PRIVATE === '1',
  };
  const watchRecords = new WatchRecords(db);
  const queue = new ReplyQueue(db, messages, tasks, instances);
  const threadContext = new ThreadContext(db);
  const replies = new StructuredReplies(db, messages);
  const inbox = new Inbox(db, messages, tasks);
  const schemas = new SchemaRegistry(new SchemaStore(db));
  const templates = new TemplateRegistry(new TemplateStore(db), schemas);
  const watches = new WatchStore(watchRecords, visibility, watchSettings);
  db.storage.onChange((state) => {
    if (state.status === 'ok') logger.warn({ database: db.location }, 'the database stores again');
    else logger.error({ database: db.location, code: state.code, since: state.since }, state.detail ?? state.code);
  });
  const configSync = new ConfigSync(db, modules, messages, tasks);
  let declaredCommands: Record<string, DeclaredCommand> = { ...BUILTIN_COMMANDS, ...(options.commands ?? {}) };
  const workflowStore = new WorkflowStore(db);
  let engine: WorkflowEngine | undefined;
  const workflows = new Workflows({
    store: workflowStore,
    tasks,
    messages,
    commands: () => declaredCommands,
    poke: (id) => engine?.poke(id),
  });
  const syncConfig = async (file: string, o: { source?: string } = {}) => {
    // The parser (zod, yaml) is loaded only when there is a file to read: a process watching the hub stays small.
    const loaded = (await import('./config/modules-config.js')).loadConfig(file);
    const { modules: configured, warnings } = loaded;
    declaredCommands = { ...BUILTIN_COMMANDS, ...(options.commands ?? {}), ...loaded.commands };
    const entries = Object.entries(configured).map(([name, { description, ...settings }]) => [
      name,
      { description, settings },
    ]);
    return { ...(await configSync.apply(o.source ?? resolve(file), Object.fromEntries(entries))), warnings };
  };
  try {
    const file = options.config === false ? undefined : (options.config ?? join(dataHome(), 'config.yaml'));
    if (file && existsSync(file)) {
      try {
        const { warnings } = await syncConfig(file);
        for (const warning of warnings) options.onConfigWarning?.(warning);
      } catch (err) {
        if (!options.onConfigError || !isHubError(err, 'validation')) throw err;
        options.onConfigError(err);
      }
    }
    await log.start(pollIntervalMs);
  } catch (err) {
    await db.close();
    throw err;
  }

  const prune = (before: Date) => {
    if (!(before instanceof Date) || Number.isNaN(before.getTime())) {
      return Promise.reject(new HubError('validation', 'prune needs a valid Date'));
    }
    return eventStore.prune(before.toISOString());
  };
  const leases = new LeaseStore(db);
  const holder = newHolderId();
  let retention: NodeJS.Timeout | undefined;
  if (retentionDays > 0) {
    // Under a lease held for the hour between sweeps: with many hubs open on one database (services, CLI
    // commands), one sweeps each hour and the others skip; when it goes away, the next to try after the hour does.
    const sweep = () =>
      void leases
        .acquire('retention', holder, HOUR)
        // The task totals' waiting changes are folded too (PostgreSQL), should no one read statistics for long.
        .then((held) =>
          held ? tasks.foldTotals().then(() => prune(new Date(Date.now() - retentionDays * 24 * HOUR))) : 0,
        )
        .catch((err: unknown) => {
          if (!isHubError(err, 'closed')) logger.warn({ err }, 'pruning old events failed; will try again in an hour');
        });
    sweep();
    retention = setInterval(sweep, HOUR);
    retention.unref();
  }

  let closing: Promise<void> | undefined;
  // One watchdog for the agents of every worker and the hooks' commands, started when the first of them runs.
  const processes = new LazyReaper(logger);
  const workers: Worker[] = [];
  let hooks: HookRunner | undefined;
  const events: HubEvents = {
    // Once close() has begun, no new subscription starts (one could otherwise resolve just before the end).
    subscribe: (o, handler) =>
      closing ? Promise.reject(new HubError('closed', 'the hub is closed')) : log.subscribe(o, handler),
    list: (o) => log.list(o),
    recent: (o) => log.recent(o),
    latest: (o) => log.latest(o),
    head: async () => encodeCursor(await eventStore.head()),
    prune,
    subscriberCount: () => log.subscriberCount,
  };
  return {
    database: db.location,
    threads,
    messages,
    tasks,
    modules,
    instances,
    tokens: new TokenStore(db),
    watches,
    visibility,
    a2aTasks: new A2ATaskStore(db),
    events,
    progress: new ProgressTracker(tasks, events),
    monitor,
    ask: async (input) => {
      if (input.capability !== undefined) {
        if (input.to !== undefined) throw new HubError('validation', 'give `to` or `capability`, not both');
        // Not back to the asker, nor to a module waiting up the chain this ask is made in.
        const avoid = new Map<string, string>([[input.from, 'the asker']]);
        if (input.via !== undefined)
          for (const m of await waitingUpChain(db.read, input.via, input.from))
            if (!avoid.has(m)) avoid.set(m, 'waiting for an answer up this ask chain');
        input = { ...input, to: (await routeCapability({ modules }, input.capability, new Map(), avoid)).chosen };
      } else if (input.to === undefined) {
        throw new HubError('validation', 'to: the answering module is required (or a `capability` to route by)');
      }
      const resolved = await resolveAsk(input, schemas, templates);
      return asks.ask(resolved.input, undefined, resolved.checking);
    },
    inbox: (module, o) => inbox.list(module, o),
    answer: (replyId, input, o = {}) => inbox.answer(replyId, input, o.as),
    routeCapability: (capability) => routeCapability({ modules }, capability),
    schemas,
    templates,
    retry: (id, kind = 'message', o = {}) => (kind === 'task' ? retries.retryTask(id, o) : retries.retry(id, o)),
    search: (o) => search.search(o),
    async startWorker(o = {}) {
      if (o.modules) {
        const registered = await modules.list();
        for (const name of o.modules) {
          if (!registered.some((m) => m.name === name)) throw new HubError('not_found', `no module named ${name}`);
        }
      }
      const worker = new Worker(
        {
          storage: db.storage,
          log,
          messages,
          tasks,
          instances,
          modules,
          queue,
          threads: threadContext,
          replies,
          inbox,
          toolsPlace: { database: databaseUrl },
        },
        logger,
        o,
        processes,
      );
      await worker.start();
      workers.push(worker);
      return worker;
    },
    async startHooks(o = {}) {
      if (closing) throw new HubError('closed', 'the hub is closed');
      if (hooks) throw new HubError('conflict', 'hooks are already running in this hub');
      const runner = new HookRunner(
        { records: watchRecords, log, messages, watches: watchSettings, leases, holder },
        logger,
        o,
        processes,
      );
      hooks = runner;
      try {
        await runner.start();
      } catch (err) {
        hooks = undefined;
        await runner.stop();
        throw err;
      }
      return runner;
    },
    workflows,
    async startWorkflows(o = {}) {
      if (closing) throw new HubError('closed', 'the hub is closed');
      if (engine) throw new HubError('conflict', 'the workflow engine already runs in this hub');
      const started = new WorkflowEngine(
        {
          store: workflowStore,
          asks,
          messages,
          tasks,
          events,
          leases,
          holder,
          logger,
          processes,
          commands: () => declaredCommands,
          validate: (schema, value) => schemas.validate(schema, value),
          moduleDir: async (name) => {
            const cwd = (await modules.get(name)).config.cwd;
            if (typeof cwd !== 'string') throw new HubError('validation', `module ${name} has no directory (cwd)`);
            return cwd;
          },
          resolveAsk: (spec) => resolveAsk(spec as unknown as AskInput, schemas, templates),
          routeCapability: (capability, unseen) => routeCapability({ modules }, capability, unseen),
        },
        o,
      );
      engine = started;
      try {
        await started.start();
      } catch (err) {
        engine = undefined;
        await started.stop();
        throw err;
      }
      return started;
    },
    statusHistory: (id) => watch.statusHistory(id),
    waitForCompletion: (id, o) => watch.waitForCompletion(id, o),
    syncConfig,
    schemaVersion: () => schemaVersion(db),
    storage: () => db.storage.state,
    close(o = {}) {
      closing ??= (async () => {
        if (retention) clearInterval(retention);
        await Promise.all([
          ...workers.map((w) => w.stop({ handBack: o.handBack === true })),
          hooks?.stop(),
          engine?.stop(),
        ]);
        await processes.close();
        await messages.flushAll();
        monitor.close();
        log.close();
        await db.close();
      })();
      return closing;
    },
  };
}
