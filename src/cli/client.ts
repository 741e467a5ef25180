/**
 * How the command line reaches the hub: through the running service's HTTP API when there is one (found by
 * `service.json` in the data home), else by opening the database itself. Both ways offer the same operations,
 * so every command is written once; `connection` says which way was taken.
 */
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HUB_ERROR_CODES, HubError, type HubErrorCode, isHubError } from '../domain/errors.js';
import type { Status } from '../domain/status.js';
import {
  type HubEvent,
  type Instance,
  type Message,
  type ModuleView,
  moduleView,
  type StatusChange,
  type Task,
  type Thread,
} from '../domain/types.js';
import type { EventPage, SubscribeOptions } from '../events/event-log.js';
import type { CreateWatchInput, Watch } from '../hooks/watches.js';
import type { Hub } from '../hub.js';
import { runningService } from '../service/state.js';
import type { AskInput, AskResult } from '../store/asks.js';
import type { ListInstancesOptions } from '../store/instances.js';
import { isPostgresUrl, maskPassword, sqlitePath } from '../store/location.js';
import type { StorageState } from '../store/storage-health.js';
import type { ListTasksOptions, TaskLogEntry } from '../store/tasks.js';
import type { TokenStore } from '../store/tokens.js';
import { warnOfConfig } from './config-warning.js';
import { SseParser } from './sse.js';

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

/** A change of a task: counters, and a status to move it to. */
export interface TaskChange {
  progress?: number;
  iteration?: number;
  status?: Status;
  error?: string;
  reason?: string;
}

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
  threads(limit?: number): Promise<Thread[]>;
  thread(id: string): Promise<ThreadWithMessages>;
  modules(): Promise<ModuleView[]>;
  instances(options?: ListInstancesOptions): Promise<Instance[]>;
  changeInstance(id: string, action: InstanceAction): Promise<Instance>;
  /** Pauses the module (it takes no new questions) or resumes it. */
  setModulePaused(name: string, paused: boolean): Promise<ModuleView>;
  createTask(input: NewTask): Promise<Task>;
  task(id: string): Promise<Task>;
  tasks(options?: ListTasksOptions): Promise<Task[]>;
  updateTask(id: string, change: TaskChange): Promise<Task>;
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

/** Heartbeat asked of the service's event stream, in seconds; three missed ones count as a dead connection. */
const HEARTBEAT_S = 10;
/** Reconnection waits: 250 ms doubling up to 5 s, so a restarted service is picked up within seconds. */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5000;
/** How long a service named in `service.json` has to answer before the database is opened instead. */
const HEALTH_TIMEOUT_MS = 2000;

/** The client over the running service's HTTP API. */
export class HttpClient implements CommsClient {
  readonly connection: Connection;
  private readonly base: string;
  private readonly headers: Record<string, string>;

  constructor(
    readonly url: string,
    token = process.env.CLAUDE_COMMS_TOKEN,
  ) {
    this.connection = { kind: 'service', url };
    this.base = `${url}/api/v1`;
    this.headers = token ? { authorization: `Bearer ${token}` } : {};
  }

  async ask({ requestId, requestScope: _scope, ...input }: AskInput): Promise<AskResult> {
    // Over HTTP the request id travels as the Idempotency-Key header, and the service scopes it (token or module).
    const headers: Record<string, string> = requestId === undefined ? {} : { 'idempotency-key': requestId };
    const { res, data } = await this.send('POST', '/ask', input, {}, headers);
    return { ...(data as Omit<AskResult, 'replayed'>), replayed: res.headers.get('idempotent-replayed') === 'true' };
  }

  message(id: string): Promise<MessageWithTask> {
    return this.call('GET', `/messages/${encodeURIComponent(id)}`);
  }

  cancel(messageId: string, reason?: string): Promise<Message> {
    return this.call('POST', `/messages/${encodeURIComponent(messageId)}/cancel`, reason ? { reason } : {});
  }

  /** The messages in `status`, newest first (up to 1000). */
  async messagesIn(status: Status): Promise<Message[]> {
    return (await this.call<{ messages: Message[] }>('GET', '/messages', undefined, { status, limit: 1000 })).messages;
  }

  /** A message's status changes, oldest first. */
  async history(messageId: string): Promise<StatusChange[]> {
    const path = `/messages/${encodeURIComponent(messageId)}/history`;
    return (await this.call<{ history: StatusChange[] }>('GET', path)).history;
  }

  async threads(limit?: number): Promise<Thread[]> {
    return (await this.call<{ threads: Thread[] }>('GET', '/threads', undefined, { limit })).threads;
  }

  thread(id: string): Promise<ThreadWithMessages> {
    return this.call('GET', `/threads/${encodeURIComponent(id)}`);
  }

  async modules(): Promise<ModuleView[]> {
    return (await this.call<{ modules: ModuleView[] }>('GET', '/modules')).modules;
  }

  async instances(options: ListInstancesOptions = {}): Promise<Instance[]> {
    const query = { module: options.module, state: options.state, all: options.all ? 'true' : undefined };
    return (await this.call<{ instances: Instance[] }>('GET', '/instances', undefined, query)).instances;
  }

  changeInstance(id: string, action: InstanceAction): Promise<Instance> {
    return this.call('POST', `/instances/${encodeURIComponent(id)}/${action}`);
  }

  setModulePaused(name: string, paused: boolean): Promise<ModuleView> {
    return this.call('POST', `/modules/${encodeURIComponent(name)}/${paused ? 'pause' : 'resume'}`);
  }

  createTask(input: NewTask): Promise<Task> {
    return this.call('POST', '/tasks', input);
  }

  async task(id: string): Promise<Task> {
    const { log: _log, ...task } = await this.taskWithLog(id);
    return task;
  }

  /** The task with the newest entries of its log (20, as the API gives them by default). */
  taskWithLog(id: string): Promise<TaskWithLog> {
    return this.call('GET', `/tasks/${encodeURIComponent(id)}`);
  }

  async tasks(options: ListTasksOptions = {}): Promise<Task[]> {
    const { status, ...rest } = options;
    const query = { ...rest, status: Array.isArray(status) ? status.join(',') : status };
    return (await this.call<{ tasks: Task[] }>('GET', '/tasks', undefined, query)).tasks;
  }

  updateTask(id: string, change: TaskChange): Promise<Task> {
    return this.call('PATCH', `/tasks/${encodeURIComponent(id)}`, change);
  }

  verifyCriterion(id: string, criterion: number | string): Promise<Task> {
    return this.call('POST', `/tasks/${encodeURIComponent(id)}/criteria/verify`, { criterion });
  }

  async logTask(id: string, entry: TaskLogEntry): Promise<void> {
    await this.call('POST', `/tasks/${encodeURIComponent(id)}/log`, entry);
  }

  events(options: SubscribeOptions & { limit?: number } = {}): Promise<EventPage> {
    return this.call('GET', '/events', undefined, eventQuery(options));
  }

  /**
   * Follows `GET /events/stream` (Server-Sent Events). A dropped connection, a service restart or an
   * `overflow` reconnects with `Last-Event-ID`, so the log replays what was missed; an `error` event or a 4xx
   * ends the feed with that error.
   */
  async follow(
    filter: SubscribeOptions,
    handler: (event: HubEvent) => void,
    notice: (text: string) => void = () => undefined,
  ): Promise<LiveFeed> {
    const stop = new AbortController();
    const address = `${this.base}/events/stream?${new URLSearchParams(eventQuery({ ...filter, heartbeat: HEARTBEAT_S }))}`;
    let last: string | undefined;
    let wait = RETRY_FIRST_MS;
    let live = false;
    let lost = false;
    let onLive!: () => void;
    let onFailure!: (err: HubError) => void;
    const ready = new Promise<void>((resolve, reject) => {
      onLive = resolve;
      onFailure = reject;
    });
    let fail!: (err: HubError) => void;
    const failed = new Promise<never>((_, reject) => {
      fail = reject;
    });
    failed.catch(() => undefined);
    const end = (err: HubError) => (live ? fail(err) : onFailure(err));

    /** One connection: 'again' when it ended and should be reopened, 'done' when the feed is over. */
    const connectOnce = async (): Promise<'again' | 'done'> => {
      const attempt = new AbortController();
      const abort = () => attempt.abort();
      stop.signal.addEventListener('abort', abort);
      let watchdog: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(abort, HEARTBEAT_S * 3000);
      };
      try {
        arm();
        const res = await fetch(address, {
          headers: { ...this.headers, accept: 'text/event-stream', ...(last ? { 'last-event-id': last } : {}) },
          signal: attempt.signal,
        });
        if (!res.ok || !res.body) {
          const err = this.refusal(res.status, await res.text());
          if (res.status >= 500) throw err;
          end(err);
          return 'done';
        }
        const parser = new SseParser();
        const decoder = new TextDecoder();
        for await (const chunk of res.body) {
          arm();
          for (const m of parser.push(decoder.decode(chunk, { stream: true }))) {
            if (m.id) last = m.id;
            if (m.event === 'ready') {
              if (!live) onLive();
              else if (lost) notice('reconnected to the event stream; nothing was missed');
              live = true;
              lost = false;
              wait = RETRY_FIRST_MS;
            } else if (m.event === 'overflow') {
              return 'again';
            } else if (m.event === 'error') {
              const p = JSON.parse(m.data) as { code?: string; detail?: string };
              end(this.withTokenHint(new HubError(knownCode(p.code), p.detail ?? 'the event stream failed')));
              return 'done';
            } else {
              handler(JSON.parse(m.data) as HubEvent);
            }
          }
        }
        return 'again';
      } finally {
        clearTimeout(watchdog);
        stop.signal.removeEventListener('abort', abort);
        attempt.abort();
      }
    };

    void (async () => {
      while (!stop.signal.aborted) {
        try {
          if ((await connectOnce()) === 'done') return;
        } catch (err) {
          if (stop.signal.aborted) return;
          if (!live) return onFailure(this.unreachable(err));
        }
        if (stop.signal.aborted) return;
        if (!live)
          return onFailure(new HubError('unavailable', `the event stream of ${this.url} ended before it began`));
        if (!lost) notice(`lost the event stream of ${this.url}; reconnecting…`);
        lost = true;
        await sleep(wait, undefined, { signal: stop.signal }).catch(() => undefined);
        wait = Math.min(wait * 2, RETRY_MAX_MS);
      }
    })();

    try {
      await ready;
    } catch (err) {
      stop.abort();
      throw err;
    }
    return { failed, close: () => stop.abort() };
  }

  /** The live watches (hooks), oldest first. */
  async watches(): Promise<Watch[]> {
    return (await this.call<{ watches: Watch[] }>('GET', '/watches')).watches;
  }

  /** A new watch; its webhook secret is in this answer only. */
  addWatch(input: CreateWatchInput): Promise<Watch> {
    return this.call('POST', '/watches', input);
  }

  /** Removes every live watch of a message; answers those removed. */
  async removeWatches(messageId: string): Promise<Watch[]> {
    return (await this.call<{ watches: Watch[] }>('DELETE', '/watches', undefined, { messageId })).watches;
  }

  /** What the service says of itself, also while its database cannot store (HTTP 503 with the same body). */
  health(): Promise<ServiceHealth> {
    return this.call('GET', '/health', undefined, {}, [503]);
  }

  async close(): Promise<void> {}

  /** Answers whether anything answers HTTP at the address (any status will do). */
  async answers(): Promise<boolean> {
    try {
      const res = await fetch(`${this.base}/health`, {
        headers: this.headers,
        signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
      });
      await res.arrayBuffer();
      return true;
    } catch {
      return false;
    }
  }

  private async call<T>(
    method: string,
    path: string,
    body?: unknown,
    query: Record<string, string | number | undefined> = {},
    /** Error statuses whose body is still the answer. */
    answers: number[] = [],
  ): Promise<T> {
    return (await this.send(method, path, body, query, {}, answers)).data as T;
  }

  private async send(
    method: string,
    path: string,
    body?: unknown,
    query: Record<string, string | number | undefined> = {},
    headers: Record<string, string> = {},
    /** Error statuses whose body is still the answer. */
    answers: number[] = [],
  ): Promise<{ res: Response; data: unknown }> {
    const defined = Object.entries(query).filter((e): e is [string, string | number] => e[1] !== undefined);
    const search = defined.length
      ? `?${new URLSearchParams(defined.map(([k, v]): [string, string] => [k, String(v)]))}`
      : '';
    let res: Response;
    try {
      res = await fetch(this.base + path + search, {
        method,
        headers: { ...this.headers, ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw this.unreachable(err);
    }
    const text = await res.text();
    if (!res.ok && !(answers.includes(res.status) && res.headers.get('content-type')?.startsWith('application/json')))
      throw this.refusal(res.status, text);
    return { res, data: text ? JSON.parse(text) : undefined };
  }

  /** An error answer as the HubError the service raised; a refused token says what a CLI user does about it. */
  private refusal(status: number, body: string): HubError {
    return this.withTokenHint(problemError(status, body));
  }

  private withTokenHint(err: HubError): HubError {
    if (err.code !== 'unauthorized') return err;
    // The service's own words speak of HTTP headers; here the token comes from the environment.
    const what = this.headers.authorization
      ? 'the token in CLAUDE_COMMS_TOKEN is unknown or revoked'
      : 'the service requires a token';
    return new HubError('unauthorized', `${what}: set CLAUDE_COMMS_TOKEN to an API token (claude-comms token create)`, {
      cause: err,
    });
  }

  private unreachable(err: unknown): HubError {
    if (isHubError(err)) return err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (err as Error).message;
    return new HubError('unavailable', `cannot reach the service at ${this.url}: ${reason}`, { cause: err });
  }
}

/** The client on a hub opened in this process. */
class DirectClient implements CommsClient {
  constructor(
    readonly hub: Hub,
    readonly connection: Connection,
  ) {}

  ask(input: AskInput): Promise<AskResult> {
    return this.hub.ask(input);
  }

  async message(id: string): Promise<MessageWithTask> {
    const message = await this.hub.messages.require(id);
    const task = await this.hub.tasks.forMessage(id);
    return { ...message, taskId: task?.id ?? null };
  }

  cancel(messageId: string, reason?: string): Promise<Message> {
    return this.hub.messages.cancel(messageId, reason);
  }

  threads(limit?: number): Promise<Thread[]> {
    return this.hub.threads.list(limit === undefined ? {} : { limit });
  }

  async thread(id: string): Promise<ThreadWithMessages> {
    const thread = await this.hub.threads.get(id);
    return { ...thread, messages: await this.hub.messages.list({ threadId: id, limit: 1000 }) };
  }

  async modules(): Promise<ModuleView[]> {
    const [modules, instances] = await Promise.all([this.hub.modules.list(), this.hub.instances.list()]);
    return modules.map((m) => moduleView(m, instances));
  }

  instances(options: ListInstancesOptions = {}): Promise<Instance[]> {
    return this.hub.instances.list(options);
  }

  changeInstance(id: string, action: InstanceAction): Promise<Instance> {
    return this.hub.instances[action](id);
  }

  async setModulePaused(name: string, paused: boolean): Promise<ModuleView> {
    const module = await this.hub.modules.setPaused(name, paused);
    return moduleView(module, await this.hub.instances.list({ module: name }));
  }

  createTask(input: NewTask): Promise<Task> {
    return this.hub.tasks.create({ ...input, kind: 'manual' });
  }

  task(id: string): Promise<Task> {
    return this.hub.tasks.get(id);
  }

  tasks(options: ListTasksOptions = {}): Promise<Task[]> {
    return this.hub.tasks.list(options);
  }

  updateTask(id: string, change: TaskChange): Promise<Task> {
    return this.hub.tasks.change(id, change);
  }

  verifyCriterion(id: string, criterion: number | string): Promise<Task> {
    return this.hub.tasks.verifyCriterion(id, criterion);
  }

  logTask(id: string, entry: TaskLogEntry): Promise<void> {
    return this.hub.tasks.log(id, entry);
  }

  events(options: SubscribeOptions & { limit?: number } = {}): Promise<EventPage> {
    return this.hub.events.list(options);
  }

  async follow(filter: SubscribeOptions, handler: (event: HubEvent) => void): Promise<LiveFeed> {
    const subscription = await this.hub.events.subscribe(filter, handler);
    return { failed: new Promise<never>(() => undefined), close: () => subscription.close() };
  }

  close(): Promise<void> {
    return this.hub.close();
  }
}

/**
 * The client for this command: the running service's API when `service.json` names one that answers (and,
 * with `database` given, serves that database), else the database opened directly.
 */
export async function connect(database?: string): Promise<CommsClient> {
  const service = runningService();
  if (service) {
    if (database && locationOf(database) !== service.database) {
      return openDirect(database, { why: 'other-database', serviceUrl: service.url });
    }
    const http = new HttpClient(service.url);
    if (await http.answers()) return http;
    return openDirect(database, { why: 'silent', serviceUrl: service.url });
  }
  return openDirect(database, { why: 'none' });
}

/**
 * The token store, always in the database itself: the API does not hand out tokens, since whoever holds one
 * could then mint more. Without `database`, the running service's SQLite file is used (it may have been
 * started with another), else the default database.
 */
export async function openTokens(database?: string): Promise<{
  tokens: TokenStore;
  connection: Connection;
  /** The modules defined there, to check the one a token is scoped to. */
  moduleNames(): Promise<string[]>;
  close(): Promise<void>;
}> {
  const service = runningService();
  const servedFile = service && !isPostgresUrl(service.database) ? `sqlite:${service.database}` : undefined;
  const client = await openDirect(database ?? servedFile, { why: 'tokens' });
  return {
    tokens: client.hub.tokens,
    connection: client.connection,
    moduleNames: async () => (await client.hub.modules.list()).map((m) => m.name),
    close: () => client.close(),
  };
}

/** One line saying which way the command reaches the hub. */
export function describeConnection(c: Connection): string {
  if (c.kind === 'service') return `using the service at ${c.url}`;
  const where = `the database ${tilde(c.database)}`;
  switch (c.why) {
    case 'none':
      return `no service running; using ${where} directly`;
    case 'silent':
      return `the service at ${c.serviceUrl} does not answer; using ${where} directly`;
    case 'other-database':
      return `using ${where} directly (the service at ${c.serviceUrl} serves another database)`;
    case 'tokens':
      return `tokens are managed in the database; using ${where} directly`;
  }
}

/** The hub opened in this process, with why the service was not used. */
async function openDirect(
  database: string | undefined,
  reason: Omit<Extract<Connection, { kind: 'direct' }>, 'kind' | 'database'>,
): Promise<DirectClient> {
  const { openHub } = await import('../hub.js');
  const hub = await openHub({ ...(database ? { database } : {}), onConfigError: warnOfConfig });
  return new DirectClient(hub, { kind: 'direct', database: hub.database, ...reason });
}

/**
 * Where a database URL points, written as an open hub writes `hub.database` (SQLite: the absolute path;
 * PostgreSQL: the URL with its password masked), to compare with the service's.
 */
function locationOf(url: string): string {
  return isPostgresUrl(url) ? (maskPassword(url) ?? url) : resolve(sqlitePath(url));
}

/** `~/…` for paths in the home directory. */
function tilde(path: string): string {
  const home = homedir();
  return path === home || path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}

/** The query string fields of an event filter. */
function eventQuery(o: SubscribeOptions & { limit?: number; heartbeat?: number }): Record<string, string> {
  const { types, ...rest } = o;
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) fields[k] = String(v);
  if (types?.length) fields.types = types.join(',');
  return fields;
}

/** A problem document (or any error response) turned back into the HubError the service raised. */
function problemError(status: number, body: string): HubError {
  let problem: { code?: string; detail?: string } = {};
  try {
    problem = JSON.parse(body) as typeof problem;
  } catch {
    // Not JSON (a proxy's page, say): the status speaks.
  }
  return new HubError(knownCode(problem.code, status), problem.detail ?? `the service answered HTTP ${status}`);
}

/** A code the service sent, as a HubError code (its HTTP-only codes are validation errors). */
function knownCode(code: string | undefined, status = 500): HubErrorCode {
  if (code === 'unsupported_media_type') return 'validation';
  if (code && (HUB_ERROR_CODES as readonly string[]).includes(code)) return code as HubErrorCode;
  return status < 500 ? 'validation' : 'internal';
}
