/**
 * The A2A backend: a module whose agent is a remote agent spoken to over the Agent2Agent protocol (the official
 * SDK's client, JSON-RPC or HTTP+JSON as its card offers, v1.0 or v0.3). Each question is one message streamed
 * to the agent; what it streams back becomes the reply (agents/a2a-reply.ts). The remote's context is the
 * thread's agent session, so a follow-up in the thread continues it. Cancelling, a timeout or a silent agent
 * cancel the remote task; an unreachable agent, a URL that is no A2A agent, or a card or stream the hub cannot
 * read end the run failed with a reason naming the URL, which module health counts like any backend's failure.
 */
import { randomUUID } from 'node:crypto';
import { type AgentCard, Role } from '@a2a-js/sdk';
import {
  type Client,
  ClientFactory,
  createAuthenticatingFetchWithRetry,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  RestTransportFactory,
} from '@a2a-js/sdk/client';
import type { A2aSettings } from '../domain/module-settings.js';
import { A2aReplyReader, stateName } from './a2a-reply.js';
import type { AgentBackend, AgentEvent, AgentRequest, FailureReason, RunDone } from './types.js';

/** A remote that sends nothing this long is taken for gone, as Claude Code's idle watchdog does (10 minutes). */
const DEFAULT_IDLE_MS = 600_000;
/** How long a health check waits for the card, and a cancel for the remote's answer: a slow remote holds no slot. */
const REQUEST_MS = 10_000;
/** How much of a remote's error text a failure quotes (an HTML error page is not worth more). */
const ERROR_CHARS = 500;
/** The v0.3 agents the SDK can still speak to, when their card says so. */
const LEGACY = { legacyCompat: { enabled: true } };

/** A run that cannot go on, and why (`not_installed`: the module's settings must change). */
class A2aFailure extends Error {
  constructor(
    message: string,
    readonly reason: FailureReason = 'agent_error',
  ) {
    super(message);
  }
}

/** Where the agent's card is: `url` itself when it names a `.json` file, else `.well-known/agent-card.json` under it. */
export function cardUrl(url: string): string {
  const card = new URL(url);
  if (!card.pathname.endsWith('.json'))
    card.pathname = `${card.pathname.replace(/\/$/, '')}/.well-known/agent-card.json`;
  return card.href;
}

/** Runs questions on a remote A2A agent; see the file comment. */
export class A2aBackend implements AgentBackend {
  /** Takes settings checked by the module settings schema (domain/module-settings.ts). */
  constructor(
    private readonly settings: A2aSettings,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** Whether the agent can be asked at all: its card fetched and read, the token there, the skill on it. */
  async check(): Promise<string | undefined> {
    try {
      await this.connect(AbortSignal.timeout(REQUEST_MS));
      return undefined;
    } catch (err) {
      return this.failure(err).message;
    }
  }

  /** Sends the question and streams the answer; always ends with exactly one `done`. */
  async *run(request: AgentRequest): AsyncGenerator<AgentEvent, void, undefined> {
    const watch = new RunWatch(request.signal, this.settings.timeoutMs, this.settings.idleTimeoutMs ?? DEFAULT_IDLE_MS);
    const reader = new A2aReplyReader(`A2A agent ${this.settings.url}`);
    let client: Client | undefined;
    let done: RunDone | undefined;
    try {
      client = await this.connect(watch.signal);
      const stream = client.sendMessageStream(this.message(request), { signal: watch.signal });
      for await (const response of stream) {
        watch.heard();
        yield* reader.read(response);
        const outcome = reader.outcome();
        if (outcome) {
          yield* outcome.events;
          done = outcome.done;
          break;
        }
      }
      // A stream that ended before the task did (a proxy cut it): the task itself says where it stands.
      if (!done && reader.taskId) {
        const task = await client.getTask({ tenant: '', id: reader.taskId }, { signal: watch.signal });
        yield* reader.read({ payload: { $case: 'task', value: task } });
        const outcome = reader.outcome();
        if (outcome) yield* outcome.events;
        done = outcome?.done;
      }
      done ??= this.fail(new A2aFailure(`the stream ended before the task finished${stateNote(reader)}`, 'no_result'));
    } catch (err) {
      done = watch.stopped ?? this.fail(this.failure(err));
    } finally {
      watch.dispose();
      // Stopped here (cancel, timeout, silence, or the consumer leaving): the remote is told to stop too.
      if (client && reader.taskId && reader.open) {
        const log = await this.cancelRemote(client, reader);
        if (log && done) yield log;
      }
    }
    yield done;
  }

  /** Fetches and reads the agent's card, and makes the SDK's client for the interface it offers. */
  private async connect(signal: AbortSignal): Promise<Client> {
    const fetchImpl = this.fetchImpl();
    const url = cardUrl(this.settings.url);
    const response = await fetchImpl(url, { signal, headers: { Accept: 'application/json' } });
    if (!response.ok) {
      await response.body?.cancel();
      throw new A2aFailure(`no agent card at ${url} (HTTP ${response.status}): is it an A2A agent?`);
    }
    let raw: unknown;
    try {
      raw = await response.json();
    } catch {
      throw new A2aFailure(`the agent card at ${url} is not JSON: is it an A2A agent?`);
    }
    const resolver = new DefaultAgentCardResolver({ ...LEGACY, fetchImpl });
    const card = resolver.normalizeAgentCard(raw);
    if (!isCard(card)) throw new A2aFailure(`${url} is not an A2A agent card (no name or supportedInterfaces)`);
    const skill = this.settings.skill;
    if (skill && !card.skills?.some((s) => s.id === skill)) {
      const known = (card.skills ?? []).map((s) => s.id).join(', ') || 'none';
      throw new A2aFailure(`the agent at ${url} has no skill "${skill}" (its skills: ${known})`, 'not_installed');
    }
    const factory = new ClientFactory({
      transports: [
        new JsonRpcTransportFactory({ ...LEGACY, fetchImpl }),
        new RestTransportFactory({ ...LEGACY, fetchImpl }),
      ],
      cardResolver: resolver,
    });
    try {
      return await factory.createFromAgentCard(card);
    } catch (err) {
      const offered = card.supportedInterfaces.map((i) => `${i.protocolBinding} ${i.protocolVersion}`).join(', ');
      throw new A2aFailure(
        `the agent card at ${url} offers no interface the hub speaks (${offered}): ${errorText(err)}`,
      );
    }
  }

  /** The question as an A2A message: in the thread's remote context when there is one, to the configured skill. */
  private message(request: AgentRequest) {
    return {
      tenant: '',
      message: {
        messageId: randomUUID(),
        contextId: request.resumeSessionId ?? '',
        taskId: '',
        role: Role.ROLE_USER,
        parts: [
          {
            content: { $case: 'text' as const, value: request.prompt },
            metadata: undefined,
            filename: '',
            mediaType: 'text/plain',
          },
        ],
        // The hub's instructions (who asks, the thread so far, a structured question's schema), for an agent that
        // reads them; the skill, by the convention of agents that route by it.
        metadata: {
          ...(this.settings.skill ? { skill: this.settings.skill } : {}),
          claudeComms: { systemPrompt: request.systemPrompt },
        },
        extensions: [],
        referenceTaskIds: [],
      },
      configuration: undefined,
      metadata: undefined,
    };
  }

  /** Tells the remote to cancel its task; answers a log line when it could not be told. */
  private async cancelRemote(client: Client, reader: A2aReplyReader): Promise<AgentEvent | undefined> {
    try {
      await client.cancelTask(
        { tenant: '', id: reader.taskId as string, metadata: undefined },
        { signal: AbortSignal.timeout(REQUEST_MS) },
      );
      return undefined;
    } catch (err) {
      return {
        type: 'log',
        level: 'warn',
        text: `cancelling task ${reader.taskId} on the remote agent failed: ${errorText(err)}`,
      };
    }
  }

  /**
   * `fetch` with the bearer token on every request (card, JSON-RPC, REST), through the SDK's auth wrapper; a
   * refusal (401, 403) is named as such here, since the SDK reads a refusal's JSON body as a JSON-RPC error and
   * loses its status.
   */
  private fetchImpl(): typeof fetch {
    const token = this.token();
    const authorised =
      token === undefined
        ? fetch
        : createAuthenticatingFetchWithRetry(fetch, {
            headers: async () => ({ Authorization: `Bearer ${token}` }),
            shouldRetryWithHeaders: async () => undefined,
          });
    return async (input, init) => {
      const response = await authorised(input, init);
      if (response.status !== 401 && response.status !== 403) return response;
      await response.body?.cancel();
      const why = token === undefined ? 'it needs a token (token or tokenEnv)' : 'the token was not accepted';
      throw new A2aFailure(`${String(input)} refused the request (HTTP ${response.status}): ${why}`);
    };
  }

  /** The token: as configured, or read from the worker's environment at each run (so it can be rotated). */
  private token(): string | undefined {
    const { token, tokenEnv } = this.settings;
    if (tokenEnv === undefined) return token;
    const value = this.env[tokenEnv];
    if (!value) throw new A2aFailure(`the environment variable ${tokenEnv} (tokenEnv) is not set`, 'not_installed');
    return value;
  }

  /** What went wrong, as a failure naming the agent's URL. */
  private failure(err: unknown): A2aFailure {
    const agent = `A2A agent ${this.settings.url}`;
    if (err instanceof A2aFailure) return new A2aFailure(`${agent}: ${err.message}`, err.reason);
    if (err instanceof TypeError && err.message === 'fetch failed') {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      return new A2aFailure(`${agent}: cannot reach it (${cause?.code ?? cause?.message ?? 'network error'})`);
    }
    return new A2aFailure(`${agent}: ${errorText(err)}`);
  }

  private fail(failure: A2aFailure): RunDone {
    return { type: 'done', ok: false, reason: failure.reason, error: failure.message };
  }
}

/**
 * A run's stop signal and its reasons: the request cancelled, the run past `timeoutMs`, or nothing heard from the
 * agent for `idleMs`. `stopped` is the run's end when one of them stopped it.
 */
class RunWatch {
  private readonly controller = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly idle: NodeJS.Timeout;
  private readonly onAbort = () => this.stop('cancelled', 'cancelled');
  stopped: RunDone | undefined;

  constructor(
    private readonly request: AbortSignal,
    timeoutMs: number | undefined,
    idleMs: number,
  ) {
    if (timeoutMs !== undefined)
      this.timers.push(setTimeout(() => this.stop('timeout', `no answer within ${timeoutMs} ms`), timeoutMs));
    this.idle = setTimeout(() => this.stop('idle', `nothing from the agent for ${idleMs} ms`), idleMs);
    this.timers.push(this.idle);
    request.addEventListener('abort', this.onAbort, { once: true });
    if (request.aborted) this.onAbort();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The agent sent something: the idle clock starts again. */
  heard(): void {
    this.idle.refresh();
  }

  dispose(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.request.removeEventListener('abort', this.onAbort);
  }

  private stop(reason: FailureReason, error: string): void {
    this.stopped ??= { type: 'done', ok: false, reason, error };
    this.controller.abort();
  }
}

/** Whether a card, as the SDK normalized it, can be used to make a client. */
function isCard(card: unknown): card is AgentCard {
  const c = card as Partial<AgentCard> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.name === 'string' &&
    Array.isArray(c.supportedInterfaces) &&
    c.supportedInterfaces.length > 0 &&
    c.supportedInterfaces.every((i) => typeof i?.url === 'string' && typeof i.protocolBinding === 'string')
  );
}

/** The last state the remote reported, for a failure message. */
function stateNote(reader: A2aReplyReader): string {
  return reader.state === undefined ? ' (no task was created)' : ` (its last state: ${stateName(reader.state)})`;
}

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > ERROR_CHARS ? `${text.slice(0, ERROR_CHARS)}…` : text;
}
