// Stream clients for tests, as browsers and scripts are: an SSE client parsed by hand from node:http (it sends
// its last id back as Last-Event-ID when it reconnects, as EventSource does) and a WebSocket client resuming with
// `?after=`; both record every event, ready, overflow and error, and can stop reading. With the helpers that
// fill the log and check that a client ended up with exactly it.
import { type IncomingHttpHeaders, request } from 'node:http';
import type { Socket } from 'node:net';
import { expect } from 'vitest';
import { WebSocket } from 'ws';
import type { EventFilter, Hub, HubEvent } from '../../src/index.js';
import type { Service } from '../../src/service/service.js';
import { readLog, until } from './wait.js';

/**
 * The modules the tests ask: registered without an agent, so questions only queue. Several, because asking
 * one module locks its row: on PostgreSQL, 32 askers of one module would wait on each other.
 */
export const SINKS = Array.from({ length: 8 }, (_, i) => `sink-${i}`);

/** Asks `count` questions of `prompt` (four events each, two carrying the prompt), 32 at a time. */
export async function asks(hub: Hub, count: number, prompt: string): Promise<void> {
  for (const name of SINKS) await hub.modules.register({ name, config: {} });
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < count) {
        const to = SINKS[next++ % SINKS.length] as string;
        await hub.ask({ from: 'streams-test', to, prompt });
      }
    }),
  );
}

/** The seqs of the log after `after` that pass `filter`, read page by page. */
export async function logSeqs(hub: Hub, after: string, filter: EventFilter = {}): Promise<number[]> {
  return (await readLog(hub, after, filter)).map((e) => e.seq);
}

// ---- SSE, parsed by hand from node:http -----------------------------------------------------------------------

export interface SseFrame {
  event?: string;
  id?: string;
  data?: string;
  /** A comment line (`: heartbeat`). */
  comment?: string;
}

export interface SseResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body of a response that is not a stream. */
  body: string;
  /** Drops the connection (the socket destroyed, no clean close); frames not yet handled are ignored. */
  drop(): void;
  /** Stops reading from the socket, and reads again. */
  pause(): void;
  resume(): void;
  /** Resolves when the stream ends or breaks, however. */
  ended: Promise<void>;
}

/** Opens `GET url` as an EventSource would and hands each complete frame to `onFrame`. */
export function openSse(url: string, onFrame: (frame: SseFrame) => void, headers: Record<string, string> = {}) {
  return new Promise<SseResponse>((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      let dropped = false;
      const response: SseResponse = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: '',
        drop() {
          dropped = true;
          res.socket.destroy();
        },
        pause: () => res.socket.pause(),
        resume: () => res.socket.resume(),
        ended: new Promise((done) => res.once('close', done)),
      };
      res.on('error', () => undefined);
      res.setEncoding('utf8');
      if (response.status !== 200) {
        res.on('data', (chunk: string) => (response.body += chunk));
        res.on('end', () => resolve(response));
        return;
      }
      let buffer = '';
      let frame: SseFrame = {};
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let from = 0;
        for (let nl = buffer.indexOf('\n'); nl >= 0 && !dropped; nl = buffer.indexOf('\n', from)) {
          const line = buffer.slice(from, nl).replace(/\r$/, '');
          from = nl + 1;
          if (line === '') {
            if (Object.keys(frame).length) onFrame(frame);
            frame = {};
          } else if (line.startsWith(':')) {
            onFrame({ comment: line.slice(1).trim() });
          } else {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'data') frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`;
            else if (field === 'event' || field === 'id') frame[field] = value;
          }
        }
        buffer = dropped ? '' : buffer.slice(from);
      });
      resolve(response);
    });
    req.on('error', reject);
    req.end();
  });
}

/** What a test sees of one stream client, SSE or WebSocket, across its connections. */
export interface StreamClient {
  /** The seq of every event received, over all connections. */
  readonly seqs: number[];
  /** The cursor of each `ready`, and of each overflow notice. */
  readonly readies: string[];
  readonly overflows: string[];
  /** Errors the server reported in the stream. */
  readonly errors: string[];
  /** The cursor of the last event received (at first, of `ready`): what a reconnect resumes from. */
  cursor: string;
  /** Called after each event with the number received on this connection. */
  onEvent: (receivedHere: number) => void;
  /** Connects (resuming from `cursor` once it has one) and waits for `ready`. */
  connect(): Promise<void>;
  /** Drops the connection without a clean close; what arrived but was not yet handled is ignored. */
  drop(): void;
  /** Stops reading from the socket, and reads again. */
  pause(): void;
  resume(): void;
  /** Resolves once the current connection has ended, however. */
  ended(): Promise<void>;
}

/** Records one message of a stream; true for an event. */
function record(client: StreamClient, type: string, cursor: string, event: HubEvent | undefined): boolean {
  if (type === 'ready') client.readies.push(cursor);
  if (type === 'overflow') client.overflows.push(cursor);
  if (event) client.seqs.push(event.seq);
  if (type === 'ready' || event) client.cursor = cursor;
  return event !== undefined;
}

/** An SSE client as EventSource is: it sends its last `id:` back as Last-Event-ID when it reconnects. */
export class SseClient implements StreamClient {
  readonly seqs: number[] = [];
  readonly readies: string[] = [];
  readonly overflows: string[] = [];
  readonly errors: string[] = [];
  cursor = '';
  onEvent: (receivedHere: number) => void = () => undefined;
  private response: SseResponse | undefined;

  constructor(
    private readonly service: () => Service,
    private readonly query = '',
  ) {}

  async connect(): Promise<void> {
    let receivedHere = 0;
    const readies = this.readies.length;
    this.response = await openSse(
      `${this.service().url}/api/v1/events/stream${this.query}`,
      (frame) => {
        if (frame.comment !== undefined) return;
        const data = JSON.parse(frame.data ?? '{}');
        if (frame.event === 'error') this.errors.push(frame.data ?? '');
        const isEvent = !['ready', 'overflow', 'error'].includes(frame.event ?? '');
        if (record(this, frame.event ?? '', frame.id ?? data.cursor, isEvent ? data : undefined)) {
          this.onEvent(++receivedHere);
        }
      },
      this.cursor ? { 'last-event-id': this.cursor } : {},
    );
    expect(this.response.status).toBe(200);
    await until(() => this.readies.length > readies, 10_000, 'the ready event');
  }

  drop = () => this.response?.drop();
  pause = () => this.response?.pause();
  resume = () => this.response?.resume();
  ended = async () => this.response?.ended;
}

/** A WebSocket client that resumes with `?after=` its last cursor. */
export class WsClient implements StreamClient {
  readonly seqs: number[] = [];
  readonly readies: string[] = [];
  readonly overflows: string[] = [];
  readonly errors: string[] = [];
  cursor = '';
  closeCode: number | undefined;
  onEvent: (receivedHere: number) => void = () => undefined;
  private socket: WebSocket | undefined;
  private readonly dropped = new WeakSet<WebSocket>();
  private closed: Promise<void> = Promise.resolve();

  constructor(
    private readonly service: () => Service,
    private readonly query: Record<string, string> = {},
  ) {}

  /** Opens a connection; answers 101, or the HTTP status of a refused upgrade. */
  async open(): Promise<number> {
    const params = new URLSearchParams({ ...this.query, ...(this.cursor ? { after: this.cursor } : {}) });
    const ws = new WebSocket(`${this.service().url.replace('http', 'ws')}/api/v1/ws?${params}`);
    this.socket = ws;
    this.closeCode = undefined;
    this.closed = new Promise((resolve) => ws.once('close', () => resolve()));
    let receivedHere = 0;
    ws.on('message', (raw) => {
      // After terminate(), the rest of the last chunk may still be parsed: it was never "received".
      if (this.dropped.has(ws)) return;
      const message = JSON.parse(String(raw)) as { type: string; cursor?: string; event?: HubEvent; detail?: string };
      if (message.type === 'error') this.errors.push(message.detail ?? '');
      const cursor = message.event?.cursor ?? message.cursor ?? '';
      if (record(this, message.type, cursor, message.type === 'event' ? message.event : undefined)) {
        this.onEvent(++receivedHere);
      }
    });
    ws.on('close', (code) => (this.closeCode = code));
    ws.on('error', () => undefined);
    return new Promise<number>((resolve) => {
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
        ws.terminate();
      });
      ws.once('open', () => resolve(101));
    });
  }

  async connect(): Promise<void> {
    const readies = this.readies.length;
    expect(await this.open()).toBe(101);
    await until(() => this.readies.length > readies, 10_000, 'the ready message');
  }

  drop = () => {
    if (!this.socket) return;
    this.dropped.add(this.socket);
    this.socket.terminate();
  };
  pause = () => this.rawSocket().pause();
  resume = () => this.rawSocket().resume();
  ended = () => this.closed;

  private rawSocket(): Socket {
    return (this.socket as unknown as { _socket: Socket })._socket;
  }
}

export const PROTOCOLS = [
  { name: 'SSE', client: (service: () => Service): StreamClient => new SseClient(service) },
  { name: 'WebSocket', client: (service: () => Service): StreamClient => new WsClient(service) },
];

/** Asserts that `client` ends up with exactly the log after `from`: nothing missing, nothing doubled, in order. */
export async function expectExactly(
  hub: Hub,
  client: StreamClient,
  from: string,
  filter: EventFilter = {},
): Promise<void> {
  const head = await hub.events.head();
  const seqs = await logSeqs(hub, from, filter);
  await until(
    () => client.cursor === head || client.seqs.length >= seqs.length,
    30_000,
    () => `the head ${head} (at ${client.cursor})`,
  );
  expect(client.errors).toEqual([]);
  expect(client.seqs).toEqual(seqs);
}
