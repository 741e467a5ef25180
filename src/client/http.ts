/**
 * The client over the running service's HTTP API (`/api/v1`), with the service's live events read from its
 * Server-Sent Events stream. Errors come back as the HubError the service raised.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { HUB_ERROR_CODES, HubError, type HubErrorCode, isHubError } from '../domain/errors.js';
import type {
  AnswerInput,
  AskInput,
  AskResult,
  CreateWatchInput,
  InboxItem,
  ListInstancesOptions,
  ListTasksOptions,
  SearchOptions,
  TaskLogEntry,
} from '../domain/inputs.js';
import type { Status } from '../domain/status.js';
import type {
  HubEvent,
  Instance,
  Message,
  ModuleView,
  SearchHit,
  StatusChange,
  Task,
  Thread,
} from '../domain/types.js';
import type { EventPage, SubscribeOptions } from '../events/event-log.js';
import type { Watch } from '../store/watches.js';
import { httpExchange } from './exchange.js';
import { SseParser } from './sse.js';
import type {
  CommsClient,
  Connection,
  ExchangeClient,
  InstanceAction,
  LiveFeed,
  MessageWithTask,
  NewTask,
  ServiceHealth,
  TaskEdit,
  TaskWithLog,
  ThreadWithMessages,
} from './types.js';
import { httpWorkflows, type WorkflowClient } from './workflows.js';

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
  readonly exchange: ExchangeClient = httpExchange((method, path, body) => this.call(method, path, body));
  readonly workflows: WorkflowClient = httpWorkflows((method, path, body, query) =>
    this.call(method, path, body, query),
  );
  private readonly base: string;
  private readonly headers: Record<string, string>;

  private readonly fetch: typeof fetch;

  /**
   * `options.fetch` sends the requests another way than over the network: the service's `/mcp` endpoint hands
   * them to the API in its own process, so its tools pass every check a request to the API passes.
   */
  constructor(
    readonly url: string,
    token = process.env.CLAUDE_COMMS_TOKEN,
    options: { fetch?: typeof fetch } = {},
  ) {
    this.fetch = options.fetch ?? fetch;
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

  async inbox(module: string, options: { limit?: number } = {}): Promise<InboxItem[]> {
    const path = `/modules/${encodeURIComponent(module)}/inbox`;
    return (await this.call<{ inbox: InboxItem[] }>('GET', path, undefined, { limit: options.limit })).inbox;
  }

  answer(replyId: string, input: AnswerInput): Promise<Message> {
    return this.call('POST', `/messages/${encodeURIComponent(replyId)}/answer`, input);
  }

  message(id: string): Promise<MessageWithTask> {
    return this.call('GET', `/messages/${encodeURIComponent(id)}`);
  }

  cancel(messageId: string, reason?: string): Promise<Message> {
    return this.call('POST', `/messages/${encodeURIComponent(messageId)}/cancel`, reason ? { reason } : {});
  }

  retry(id: string, kind: 'message' | 'task'): Promise<Omit<AskResult, 'replayed'>> {
    return this.call('POST', `/${kind === 'message' ? 'messages' : 'tasks'}/${encodeURIComponent(id)}/retry`);
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

  async search(options: SearchOptions): Promise<SearchHit[]> {
    const { status, visibleTo: _scope, ...rest } = options;
    const query = { ...rest, status: Array.isArray(status) ? status.join(',') : status };
    return (await this.call<{ hits: SearchHit[] }>('GET', '/search', undefined, query)).hits;
  }

  async modules(options: { capability?: string } = {}): Promise<ModuleView[]> {
    const query = { capability: options.capability };
    return (await this.call<{ modules: ModuleView[] }>('GET', '/modules', undefined, query)).modules;
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

  updateTask(id: string, change: TaskEdit): Promise<Task> {
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
        const res = await this.fetch(address, {
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
      const res = await this.fetch(`${this.base}/health`, {
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
      res = await this.fetch(this.base + path + search, {
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
