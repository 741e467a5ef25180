/**
 * What a program that talks to the hub is given: one interface over the two ways of reaching it — the running
 * service's HTTP API (http.ts) or the database opened in this process (direct.ts) — so the command line, and any
 * other front end, is written once. connect.ts chooses between them.
 */

import type {
  AnswerInput,
  AskInput,
  AskResult,
  InboxItem,
  ListInstancesOptions,
  ListTasksOptions,
  SearchOptions,
  TaskChange,
  TaskLogEntry,
} from '../domain/inputs.js';
import type { HubEvent, Instance, Message, ModuleView, SearchHit, Task, Thread } from '../domain/types.js';
import type { EventPage, SubscribeOptions } from '../events/event-log.js';
import type { CompatibilityReport } from '../exchange/compat.js';
import type { PublishResult, PublishSchemaInput, SchemaSummary, SchemaVersion } from '../registry/schema-registry.js';
import type { PublishTemplateInput, TemplateVersion } from '../registry/template-registry.js';
import type { StorageState } from '../store/storage-health.js';
import type { WorkflowClient } from './workflows.js';

/** Which way the client reaches the hub, and why. */
export type Connection =
  | { kind: 'service'; url: string }
  | {
      kind: 'direct';
      /** Where the data lives (no password). */
      database: string;
      /** `none`: no service runs; `silent`: its state file names one that does not answer; `other-database`:
       * it serves another database than the one asked for; `tokens`: tokens are managed in the database. */
      why: 'none' | 'silent' | 'other-database' | 'tokens';
      serviceUrl?: string;
    };

/** A message with the task tracking it, if any. */
export type MessageWithTask = Message & { taskId: string | null };

/** A task with its log lines (`task.logged` events as `{ at, ...data }`), oldest first. */
export type TaskWithLog = Task & { log: { at: string; text?: string; level?: string }[] };

/** What `GET /health` tells about the running service. */
export interface ServiceHealth {
  /** False while the database cannot store (`storage` says why). */
  ok: boolean;
  database: string;
  storage?: StorageState;
  uptimeMs?: number;
  config?: string;
  version?: string;
}

/** A thread with its messages in order. */
export type ThreadWithMessages = Thread & { messages: Message[] };

/** A new task recorded by hand. */
export interface NewTask {
  name: string;
  module?: string;
  criteria?: string[];
  maxIterations?: number;
  maxCostUsd?: number;
}

/** A change of a task by hand: counters and a status (the session id is the worker's to set). */
export type TaskEdit = Omit<TaskChange, 'sessionId'>;

/** What an instance can be told to do. */
export type InstanceAction = 'pause' | 'resume' | 'terminate';

/** A live feed of events; `failed` rejects if it ends for good (it never resolves). */
export interface LiveFeed {
  readonly failed: Promise<never>;
  close(): void;
}

/** The operations the commands need, over HTTP or on an open hub. */
export interface CommsClient {
  readonly connection: Connection;
  ask(input: AskInput): Promise<AskResult>;
  /** The message with its task id; `not_found` when there is none. */
  message(id: string): Promise<MessageWithTask>;
  cancel(messageId: string, reason?: string): Promise<Message>;
  /**
   * The questions waiting for an interactive module (`backend: session`), oldest first: pending ones and those
   * it has begun answering. `validation` for a module of another backend.
   */
  inbox(module: string, options?: { limit?: number }): Promise<InboxItem[]>;
  /**
   * An interactive module's answer (or a part of it) to a reply in its inbox; answers the reply as it now is.
   * `conflict` once the reply is finished (cancelled, timed out), `validation` with the schema's errors.
   */
  answer(replyId: string, input: AnswerInput): Promise<Message>;
  /** Answers a failed or cancelled reply (or the task behind one) again: a new reply to the same question. */
  retry(id: string, kind: 'message' | 'task'): Promise<Omit<AskResult, 'replayed'>>;
  threads(limit?: number): Promise<Thread[]>;
  /** Threads, messages and tasks holding every word of `options.q`, newest first (see `Hub.search`). */
  search(options: SearchOptions): Promise<SearchHit[]>;
  /** Schemas and query templates. */
  readonly exchange: ExchangeClient;
  /** Workflow definitions and runs. */
  readonly workflows: WorkflowClient;
  thread(id: string): Promise<ThreadWithMessages>;
  /** The modules by name; with `capability`, those that declare it (exact after trimming). */
  modules(options?: { capability?: string }): Promise<ModuleView[]>;
  instances(options?: ListInstancesOptions): Promise<Instance[]>;
  changeInstance(id: string, action: InstanceAction): Promise<Instance>;
  /** Pauses the module (it takes no new questions) or resumes it. */
  setModulePaused(name: string, paused: boolean): Promise<ModuleView>;
  createTask(input: NewTask): Promise<Task>;
  task(id: string): Promise<Task>;
  tasks(options?: ListTasksOptions): Promise<Task[]>;
  updateTask(id: string, change: TaskEdit): Promise<Task>;
  verifyCriterion(id: string, criterion: number | string): Promise<Task>;
  logTask(id: string, entry: TaskLogEntry): Promise<void>;
  /** A page of the event log. */
  events(options?: SubscribeOptions & { limit?: number }): Promise<EventPage>;
  /**
   * Delivers the events passing `filter` from now on (or after its `after` cursor), in order; resolves once live. `notice` hears about a
   * lost connection being restored (the feed resumes where it stopped, missing nothing).
   */
  follow(
    filter: SubscribeOptions,
    handler: (event: HubEvent) => void,
    notice?: (text: string) => void,
  ): Promise<LiveFeed>;
  close(): Promise<void>;
}

/** The exchange registry as front ends use it (schemas and query templates); values are validated by the caller. */
export interface ExchangeClient {
  listSchemas(): Promise<SchemaSummary[]>;
  schemaVersions(name: string): Promise<SchemaVersion[]>;
  /** `name@version` or `name` (its latest). */
  schema(ref: string): Promise<SchemaVersion>;
  publishSchema(input: PublishSchemaInput): Promise<PublishResult>;
  checkSchema(input: PublishSchemaInput): Promise<CompatibilityReport & { name: string; version: string }>;
  listTemplates(): Promise<(TemplateVersion & { versions: string[] })[]>;
  template(ref: string): Promise<TemplateVersion>;
  publishTemplate(input: PublishTemplateInput): Promise<TemplateVersion>;
}
