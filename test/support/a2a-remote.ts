// A real remote A2A agent for tests, made of the official SDK's server pieces (DefaultRequestHandler, an
// AgentExecutor, InMemoryTaskStore, JsonRpcTransportHandler) served by node:http, with SSE for streaming. It
// records what it is sent (text, context, metadata, Authorization) and which tasks it was told to cancel. It can
// also misbehave as a hostile remote would: name an endpoint elsewhere on its card, redirect, serve a huge card or
// error, or say it is working forever.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AgentCard,
  formatSSEEvent,
  type Message,
  type Part,
  Role,
  SSE_HEADERS,
  TaskState,
  type TaskStatus,
} from '@a2a-js/sdk';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import {
  AgentEvent,
  type AgentExecutor,
  DefaultRequestHandler,
  type ExecutionEventBus,
  InMemoryTaskStore,
  JsonRpcTransportHandler,
  type RequestContext,
  ServerCallContext,
} from '@a2a-js/sdk/server';

/** What the remote agent does with a question. */
export type RemoteBehaviour =
  /** Streams its answer in several artifact chunks after a working status, then completes. */
  | 'answer'
  /** Works until it is cancelled. */
  | 'hang'
  /** Fails the task, saying why. */
  | 'fail'
  /** Asks the asker a question back (input-required). */
  | 'ask-back'
  /** Says it is working (a status update with a message) every 200 ms, with no answer, until it is cancelled. */
  | 'status-forever';

/** What a test can set up and read of the remote. */
export interface RemoteAgentOptions {
  behaviour?: RemoteBehaviour;
  /** A bearer token every JSON-RPC request must carry (401 otherwise). */
  token?: string;
  /** Whether the card says it streams (default true). */
  streaming?: boolean;
  /** Serves nonsense instead: as its card, or as its JSON-RPC answers. */
  garbage?: 'card' | 'rpc';
  /** Speaks A2A v0.3 only (its card and its JSON-RPC methods), through the SDK's compatibility layer. */
  legacy?: boolean;
  /** The JSON-RPC endpoint its card names, instead of its own (another remote's `/a2a`, say). */
  cardEndpoint?: string;
  /** Answers its card (GET) or its JSON-RPC endpoint (POST) with a redirect to `to` (302 and 307). */
  redirect?: { what: 'card' | 'rpc'; to: string };
  /**
   * Serves HUGE_BYTES instead: a card whose `padding` field is that long, streamed in chunks (with its Content-Length
   * announced, or not), or a 500 answer of that much text to every JSON-RPC request.
   */
  huge?: 'card' | 'card-with-length' | 'error';
}

/** A message the remote received. */
export interface SeenMessage {
  text: string;
  contextId: string;
  taskId: string;
  metadata: Record<string, unknown> | undefined;
}

/** A running remote agent. */
export interface RemoteAgent {
  /** Its base URL (its card is at `.well-known/agent-card.json` under it). */
  url: string;
  seen: SeenMessage[];
  /** Tasks its executor was told to cancel. */
  cancelled: string[];
  /** The Authorization header of each request, in order (card fetches included). */
  authorizations: (string | undefined)[];
  /** How many bytes of a huge card or error (`RemoteAgentOptions.huge`) it has written. */
  hugeBytesWritten(): number;
  /** Serves nonsense from now on (see `RemoteAgentOptions.garbage`). */
  misbehave(garbage: 'card' | 'rpc'): void;
  close(): Promise<void>;
}

const textPart = (text: string): Part => ({
  content: { $case: 'text', value: text },
  metadata: undefined,
  filename: '',
  mediaType: 'text/plain',
});

const agentMessage = (text: string, contextId: string, taskId: string): Message => ({
  messageId: `m-${Math.random().toString(36).slice(2)}`,
  contextId,
  taskId,
  role: Role.ROLE_AGENT,
  parts: [textPart(text)],
  metadata: undefined,
  extensions: [],
  referenceTaskIds: [],
});

/** The executor: one behaviour for every question, answering which question of its context this is. */
class TestExecutor implements AgentExecutor {
  private readonly contexts = new Map<string, number>();
  private readonly waiting = new Map<string, () => void>();

  constructor(
    private readonly behaviour: RemoteBehaviour,
    private readonly seen: SeenMessage[],
    private readonly cancelled: string[],
  ) {}

  execute = async (ctx: RequestContext, bus: ExecutionEventBus): Promise<void> => {
    const { taskId, contextId } = ctx;
    const text = ctx.userMessage.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
    this.seen.push({ text, contextId, taskId, metadata: ctx.userMessage.metadata });
    const count = (this.contexts.get(contextId) ?? 0) + 1;
    this.contexts.set(contextId, count);
    const status = (state: TaskState, said?: string): TaskStatus => ({
      state,
      message: said === undefined ? undefined : agentMessage(said, contextId, taskId),
      timestamp: new Date().toISOString(),
    });
    const update = (state: TaskState, said?: string) =>
      bus.publish(AgentEvent.statusUpdate({ taskId, contextId, status: status(state, said), metadata: undefined }));
    bus.publish(
      AgentEvent.task({
        id: taskId,
        contextId,
        status: status(TaskState.TASK_STATE_SUBMITTED),
        artifacts: [],
        history: [ctx.userMessage],
        metadata: undefined,
      }),
    );
    update(TaskState.TASK_STATE_WORKING, 'Thinking about it');
    if (this.behaviour === 'hang') {
      await new Promise<void>((resolve) => this.waiting.set(taskId, resolve));
      return;
    }
    if (this.behaviour === 'status-forever') {
      let stopped = false;
      this.waiting.set(taskId, () => {
        stopped = true;
      });
      for (let i = 1; !stopped; i++) {
        await sleep(200);
        if (!stopped) update(TaskState.TASK_STATE_WORKING, `Still working (${i})`);
      }
      return;
    }
    if (this.behaviour === 'fail') update(TaskState.TASK_STATE_FAILED, 'the index is corrupt');
    else if (this.behaviour === 'ask-back') update(TaskState.TASK_STATE_INPUT_REQUIRED, 'Which version?');
    else {
      const chunks = [`Question ${count} in this context. `, 'You asked: ', text, '.'];
      for (const [i, chunk] of chunks.entries()) {
        // Longer than the hub's content coalescing (50 ms), so each piece is stored as a delta of its own.
        await sleep(100);
        bus.publish(
          AgentEvent.artifactUpdate({
            taskId,
            contextId,
            artifact: {
              artifactId: 'answer',
              name: 'answer',
              description: '',
              parts: [textPart(chunk)],
              metadata: undefined,
              extensions: [],
            },
            append: i > 0,
            lastChunk: i === chunks.length - 1,
            metadata: undefined,
          }),
        );
      }
      update(TaskState.TASK_STATE_COMPLETED);
    }
    bus.finished();
  };

  cancelTask = async (taskId: string, bus: ExecutionEventBus): Promise<void> => {
    this.cancelled.push(taskId);
    const seen = this.seen.find((s) => s.taskId === taskId);
    bus.publish(
      AgentEvent.statusUpdate({
        taskId,
        contextId: seen?.contextId ?? '',
        status: { state: TaskState.TASK_STATE_CANCELED, message: undefined, timestamp: new Date().toISOString() },
        metadata: undefined,
      }),
    );
    bus.finished();
    this.waiting.get(taskId)?.();
  };

  /** Ends every task still waiting or working (the server is closing). */
  stopAll(): void {
    for (const stop of this.waiting.values()) stop();
  }
}

/** The size of a huge card or error (well past what the sockets between test and hub buffer), and its chunks. */
export const HUGE_BYTES = 16_000_000;
const HUGE_CHUNK = 'x'.repeat(64 * 1024);

/**
 * Writes `head`, HUGE_BYTES of padding and `tail`, a chunk at a time as the socket drains (nothing is held but one
 * chunk), counting what was written; stops when the client goes.
 */
async function writeHuge(res: ServerResponse, head: string, tail: string, written: { bytes: number }): Promise<void> {
  const write = async (text: string) => {
    written.bytes += text.length;
    if (!res.write(text)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
  };
  await write(head);
  for (let left = HUGE_BYTES; left > 0 && !res.destroyed; left -= HUGE_CHUNK.length)
    await write(left >= HUGE_CHUNK.length ? HUGE_CHUNK : HUGE_CHUNK.slice(0, left));
  if (!res.destroyed) res.end(tail);
}

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

/** Starts a remote agent on a free port of 127.0.0.1. */
export async function startRemoteAgent(given: RemoteAgentOptions = {}): Promise<RemoteAgent> {
  const options = { ...given };
  const seen: SeenMessage[] = [];
  const cancelled: string[] = [];
  const authorizations: (string | undefined)[] = [];
  const huge = { bytes: 0 };
  let base = '';
  const cardJson = () => ({
    name: 'Remote test agent',
    description: 'Answers questions over A2A',
    version: '1.0.0',
    supportedInterfaces: [
      { url: options.cardEndpoint ?? `${base}/a2a`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
    ],
    capabilities: { streaming: options.streaming ?? true },
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [{ id: 'answer', name: 'Answer', description: 'Answers a question', tags: ['qa'] }],
  });
  const legacyCard = () => ({
    name: 'Remote v0.3 agent',
    description: 'Answers questions over A2A v0.3',
    version: '1.0.0',
    protocolVersion: '0.3.0',
    url: options.cardEndpoint ?? `${base}/a2a`,
    preferredTransport: 'JSONRPC',
    capabilities: { streaming: options.streaming ?? true },
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [{ id: 'answer', name: 'Answer', description: 'Answers a question', tags: ['qa'] }],
  });
  const executor = new TestExecutor(options.behaviour ?? 'answer', seen, cancelled);
  const handler = new DefaultRequestHandler(AgentCard.fromJSON(cardJson()), new InMemoryTaskStore(), executor);
  const transport = options.legacy ? new LegacyJsonRpcTransportHandler(handler) : new JsonRpcTransportHandler(handler);
  const server: Server = createServer(async (req, res) => {
    authorizations.push(req.headers.authorization);
    const isCard = req.method === 'GET' && req.url === '/.well-known/agent-card.json';
    const isRpc = req.method === 'POST' && req.url === '/a2a';
    if (options.redirect && (options.redirect.what === 'card' ? isCard : isRpc)) {
      res.writeHead(options.redirect.what === 'card' ? 302 : 307, { Location: options.redirect.to }).end();
      return;
    }
    if (isCard && (options.huge === 'card' || options.huge === 'card-with-length')) {
      const card = JSON.stringify({ ...cardJson(), padding: '' });
      const [head, tail] = [card.slice(0, -2), card.slice(-2)];
      res.writeHead(200, {
        'Content-Type': 'application/json',
        ...(options.huge === 'card-with-length' ? { 'Content-Length': head.length + HUGE_BYTES + tail.length } : {}),
      });
      await writeHuge(res, head, tail, huge);
      return;
    }
    if (isRpc && options.huge === 'error') {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      await writeHuge(res, 'Internal error: ', '', huge);
      return;
    }
    if (isCard) {
      res.setHeader('Content-Type', options.garbage === 'card' ? 'text/html' : 'application/json');
      const card = options.legacy ? legacyCard() : cardJson();
      res.end(options.garbage === 'card' ? '<html><body>It works!</body></html>' : JSON.stringify(card));
      return;
    }
    if (req.method !== 'POST' || req.url !== '/a2a') {
      res.writeHead(404).end('not found');
      return;
    }
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    }
    const text = await body(req);
    if (options.garbage === 'rpc') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' }).end('data: this is not JSON\n\n');
      return;
    }
    const version = req.headers['a2a-version'];
    const requestedVersion = typeof version === 'string' ? version : undefined;
    const context = new ServerCallContext({ requestedVersion });
    const result = await transport.handle(text, context);
    if (Symbol.asyncIterator in result) {
      res.writeHead(200, SSE_HEADERS);
      for await (const event of result) res.write(formatSSEEvent(event));
      res.end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(result));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    seen,
    cancelled,
    authorizations,
    hugeBytesWritten: () => huge.bytes,
    misbehave: (garbage) => {
      options.garbage = garbage;
    },
    close: () =>
      new Promise<void>((resolve) => {
        executor.stopAll();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
