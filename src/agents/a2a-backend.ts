/**
 * The A2A backend: a module whose agent is a remote agent spoken to over the Agent2Agent protocol (the official
 * SDK's client, JSON-RPC or HTTP+JSON as its card offers, v1.0 or v0.3). Each question is one message streamed
 * to the agent; what it streams back becomes the reply (agents/a2a-reply.ts). The remote's context is the
 * thread's agent session, so a follow-up in the thread continues it. Cancelling, a timeout or a silent agent
 * cancel the remote task; an unreachable agent, a URL that is no A2A agent, or a card or stream the hub cannot
 * read end the run failed with a reason naming the URL, which module health counts like any backend's failure.
 * What the remote says is not trusted: the token goes only to the configured URL's origin, redirects are never
 * followed, and a card or answer (other than an event stream, which the SDK caps per event) is read up to 1 MiB.
 */
import { randomUUID } from 'node:crypto';
import { type AgentCard, Role } from '@a2a-js/sdk';
import {
  type Client,
  ClientFactory,
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
/** The most of a card or a non-streamed answer read (an event stream is the SDK's: it caps each event at 4 MiB). */
const MAX_BODY_BYTES = 1024 * 1024;
/** Statuses after which a response has no body (`new Response` refuses one). */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);
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
        const events = reader.read(response);
        // Only answer text is a sign of life: a remote sending nothing but status updates is stopped at idleTimeoutMs.
        if (events.some((e) => e.type === 'text')) watch.heard();
        yield* events;
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
    const token = this.token();
    const url = cardUrl(this.settings.url);
    const origin = new URL(url).origin;
    const fetchImpl = remoteFetch(origin, token, 'answer');
    const fetchCard = remoteFetch(origin, token, 'card');
    const response = await fetchCard(url, { signal, headers: { Accept: 'application/json' } });
    if (!response.ok) {
      await response.body?.cancel();
      throw new A2aFailure(`no agent card at ${url} (HTTP ${response.status}): is it an A2A agent?`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(await response.text());
    } catch {
      throw new A2aFailure(`the agent card at ${url} is not JSON: is it an A2A agent?`);
    }
    const resolver = new DefaultAgentCardResolver({ ...LEGACY, fetchImpl });
    const normalized = resolver.normalizeAgentCard(raw);
    if (!isCard(normalized)) throw new A2aFailure(`${url} is not an A2A agent card (no name or supportedInterfaces)`);
    const skill = this.settings.skill;
    if (skill && !normalized.skills?.some((s) => s.id === skill)) {
      const known = (normalized.skills ?? []).map((s) => s.id).join(', ') || 'none';
      throw new A2aFailure(`the agent at ${url} has no skill "${skill}" (its skills: ${known})`, 'not_installed');
    }
    // With a token, only the interfaces on the card's own origin are used: the card does not choose where it goes.
    const card = token === undefined ? normalized : sameOriginCard(normalized, url, origin);
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

/**
 * `fetch` as every request to the remote goes (card, JSON-RPC, REST): the bearer token only to `origin` (the
 * configured URL's), redirects refused rather than followed, a refusal (401, 403) named as such (the SDK reads a
 * refusal's JSON body as a JSON-RPC error and loses its status), and any body but a successful event stream read
 * here up to MAX_BODY_BYTES. `what` names the body in a failure.
 */
function remoteFetch(origin: string, token: string | undefined, what: 'card' | 'answer'): typeof fetch {
  return async (input, init) => {
    const target = input instanceof Request ? input.url : String(input);
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    if (token !== undefined && originOf(target) === origin) headers.set('Authorization', `Bearer ${token}`);
    else headers.delete('Authorization');
    const response = await fetch(input, { ...init, headers, redirect: 'manual' });
    if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) {
      await response.body?.cancel();
      const location = response.headers.get('location');
      const to = location === null ? '(no Location)' : resolveUrl(location, target);
      throw new A2aFailure(`answered with a redirect to ${to}; redirects are not followed`);
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      const why = token === undefined ? 'it needs a token (token or tokenEnv)' : 'the token was not accepted';
      throw new A2aFailure(`${target} refused the request (HTTP ${response.status}): ${why}`);
    }
    const type = response.headers.get('content-type') ?? '';
    if (response.ok && /^text\/event-stream/i.test(type)) return response;
    return capped(response, what);
  };
}

/** The response with its body read, up to MAX_BODY_BYTES: one announced or found larger fails the run. */
async function capped(response: Response, what: 'card' | 'answer'): Promise<Response> {
  const tooLarge = () => new A2aFailure(`its ${what} is larger than 1 MiB`);
  if (Number(response.headers.get('content-length')) > MAX_BODY_BYTES) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  if (response.body) {
    const reader = response.body.getReader();
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_BODY_BYTES) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(value);
    }
  }
  const { status, statusText, headers } = response;
  return new Response(NULL_BODY_STATUSES.has(status) ? null : Buffer.concat(chunks), { status, statusText, headers });
}

/**
 * The card with only the interfaces on `origin` (the card's own), for a module with a token; a card naming its
 * endpoints only elsewhere is refused, naming both origins.
 */
function sameOriginCard(card: AgentCard, url: string, origin: string): AgentCard {
  const own = card.supportedInterfaces.filter((i) => originOf(i.url) === origin);
  if (own.length > 0) return { ...card, supportedInterfaces: own };
  const elsewhere = originOf(card.supportedInterfaces[0]?.url ?? '') ?? card.supportedInterfaces[0]?.url;
  throw new A2aFailure(
    `the card at ${url} names its endpoint on another origin ${elsewhere}; the module's token is sent only to ${origin}, the card's origin`,
  );
}

/** A URL's origin (scheme, host, port), or undefined for no URL. */
function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/** `location` against the URL it answered, as a redirect names it. */
function resolveUrl(location: string, base: string): string {
  try {
    return new URL(location, base).href;
  } catch {
    return location;
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
