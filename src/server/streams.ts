/**
 * Live events over HTTP: `GET /events/stream` (Server-Sent Events; each event's `id:` is its cursor, so a
 * reconnecting EventSource resumes through `Last-Event-ID`) and `GET /ws` (WebSocket; resume with `?after=`).
 * Both take the filters of `GET /events`. A client reconnecting with its last cursor gets exactly what it
 * missed: the event log replays it. A client too slow to keep up is disconnected with its cursor, never
 * silently skipped.
 */
import type { ServerResponse } from 'node:http';
import { upgradeWebSocket } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import { isHubError } from '../domain/errors.js';
import type { EventFilter, HubEvent } from '../domain/types.js';
import type { Subscription } from '../events/event-log.js';
import type { Hub } from '../hub.js';
import type { Env } from './app.js';
import { describeZodError, problem } from './problem.js';
import { EventsQuery, eventFilter, Problem } from './schemas.js';

/**
 * Events queued for one client before it counts as too slow and is disconnected (it may resume). Catching up
 * from a cursor does not count: history is read page by page at the client's pace.
 */
const MAX_QUEUED = 10_000;
/**
 * Bytes a WebSocket may hold unsent before its feed waits for them to go out, as an SSE write waits for the
 * socket: `ws.send` itself never waits, so without this a client that stopped reading would be buffered for
 * without bound, and a big catch-up would pile up in memory before any of it left.
 */
const WS_HIGH_WATER = 1024 * 1024;
/** Events read from the log per page while a client catches up. */
const CATCH_UP_PAGE = 1000;

const StreamQuery = EventsQuery.extend({
  heartbeat: z.coerce
    .number()
    .int()
    .min(1)
    .max(300)
    .optional()
    .openapi({ description: 'seconds between heartbeats (default 15)' }),
});
type StreamQuery = z.infer<typeof StreamQuery>;

/** The live side of the API, closed with the service. */
export interface Streams {
  readonly wss: WebSocketServer;
  close(): void;
}

/**
 * What one client is sent: the log after its cursor, first read page by page (so a client that was away for
 * long catches up at its own pace), then live through a subscription, with a bounded queue between the log and
 * the client's pace.
 */
class Feed {
  /** Where the client stands: its starting cursor, then the cursor of the last event sent to it. */
  cursor = '';
  /** Set once the client fell MAX_QUEUED events behind: nothing more is queued and it must resume. */
  overflow = false;
  closed = false;
  /** Called when the overflow happens, possibly while the client is still being written to. */
  onOverflow: () => void = () => undefined;
  /** How long a live wait lasts before the client is sent a heartbeat. */
  readonly heartbeatMs: number;
  private readonly filter: EventFilter;
  /** Where reading history goes on; undefined once live. */
  private readFrom: string | undefined;
  private subscription: Subscription | undefined;
  private queue: HubEvent[] = [];
  private wake: (() => void) | undefined;

  constructor(
    private readonly hub: Hub,
    q: StreamQuery,
    visibleTo: string | null,
  ) {
    const { heartbeat, ...query } = q;
    const { after: _after, limit: _limit, ...filter } = eventFilter(query);
    this.filter = visibleTo === null ? filter : { ...filter, visibleTo };
    this.cursor = q.after ?? '';
    this.heartbeatMs = (heartbeat ?? 15) * 1000;
  }

  /** Fixes the starting cursor: the query's, or the head now. */
  async start(): Promise<void> {
    this.cursor ||= await this.hub.events.head();
    this.readFrom = this.cursor;
  }

  /** The next events in log order: pages of history while catching up, then live batches (empty after a heartbeat's wait). */
  async next(): Promise<HubEvent[]> {
    if (this.readFrom !== undefined) {
      const page = await this.hub.events.list({ ...this.filter, after: this.readFrom, limit: CATCH_UP_PAGE });
      if (page.hasMore) {
        this.readFrom = page.cursor;
        return page.events;
      }
      // Caught up to the head the page was read at: what commits from there on comes through the subscription.
      this.readFrom = undefined;
      await this.follow(page.cursor);
      if (page.events.length) return page.events;
    }
    if (!this.queue.length && !this.closed && !this.overflow) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.heartbeatMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    const batch = this.queue;
    this.queue = [];
    return batch;
  }

  stop(): void {
    if (this.closed) return;
    this.closed = true;
    this.subscription?.close();
    this.wake?.();
  }

  private async follow(after: string): Promise<void> {
    const subscription = await this.hub.events.subscribe({ ...this.filter, after }, (e) => this.push(e));
    if (this.closed || this.overflow) subscription.close();
    else this.subscription = subscription;
  }

  private push(event: HubEvent): void {
    if (this.closed || this.overflow) return;
    if (this.queue.length < MAX_QUEUED) {
      this.queue.push(event);
    } else {
      // The client resumes from its cursor, so what is queued is dropped rather than kept for a client that may
      // never read it.
      this.overflow = true;
      this.queue = [];
      this.subscription?.close();
      this.onOverflow();
    }
    this.wake?.();
  }
}

/**
 * `encode` run once per event, however many clients the event goes to: live events reach every feed as the same
 * object. With 1,000 SSE clients, formatting each event once instead of once per client saves about a tenth of
 * the service's CPU (2.25 → 2.0 s for 120 events; bench/fanout.ts, row 9a).
 */
function perEvent<T>(encode: (event: HubEvent) => T): (event: HubEvent) => T {
  const cache = new WeakMap<HubEvent, T>();
  return (event) => {
    let encoded = cache.get(event);
    if (encoded === undefined) {
      encoded = encode(event);
      cache.set(event, encoded);
    }
    return encoded;
  };
}

/** An event as SSE: JSON has no raw line breaks, so it is one `data:` line. */
const sseFrame = perEvent((e) => Buffer.from(`id: ${e.cursor}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`));
/** An event as a WebSocket message (sent as text). */
const wsMessage = perEvent((e) => Buffer.from(`{"type":"event","event":${JSON.stringify(e)}}`));

/** Checks a stream's query and cursor before anything is sent, so a bad one gets a proper 4xx. */
async function precheck(hub: Hub, c: Context): Promise<StreamQuery | Response> {
  const parsed = StreamQuery.safeParse(c.req.query());
  if (!parsed.success) return problem(c, 'validation', describeZodError(parsed.error, 'query'));
  const q = parsed.data;
  const lastEventId = c.req.header('last-event-id');
  if (lastEventId) q.after = lastEventId;
  try {
    await hub.events.list({ ...eventFilter(q), limit: 1 });
  } catch (err) {
    if (isHubError(err)) return problem(c, err.code, err.message);
    throw err;
  }
  return q;
}

/**
 * Sends a feed as Server-Sent Events, written straight to the Node.js response rather than through Hono's
 * `streamSSE`, whose web streams (a TransformStream and a ReadableStream per connection, some ten promise hops
 * per write) took 2.5 times the CPU at 1,000 clients (about 5 s instead of 2 for 120 events) and held back even
 * the first client's copy until every client's chain had run (first receipt after ~20 ms instead of ~3;
 * bench/fanout.ts, row 9a).
 * A write the socket does not take at once waits for 'drain', so a client that stops reading holds its stream in
 * a write, where no overflow notice can reach it: on overflow it is disconnected instead, and resumes with
 * Last-Event-ID like any dropped EventSource.
 */
async function streamSse(out: ServerResponse, feed: Feed, logger: Logger): Promise<void> {
  const closed = new Promise<void>((resolve) => out.once('close', resolve));
  void closed.then(() => feed.stop());
  let writing = false;
  const send = async (chunk: string | Buffer) => {
    if (out.write(chunk)) return;
    writing = true;
    await Promise.race([new Promise((resolve) => out.once('drain', resolve)), closed]);
    writing = false;
  };
  feed.onOverflow = () => {
    if (writing) out.destroy();
  };
  try {
    await feed.start();
    await send(`event: ready\nid: ${feed.cursor}\ndata: ${JSON.stringify({ cursor: feed.cursor })}\n\n`);
    while (!feed.closed) {
      const batch = await feed.next();
      if (feed.overflow) {
        const detail = 'too slow to keep up; reconnect with Last-Event-ID';
        await send(`event: overflow\ndata: ${JSON.stringify({ cursor: feed.cursor, detail })}\n\n`);
        return;
      }
      if (!batch.length) await send(': heartbeat\n\n');
      for (const e of batch) {
        if (feed.closed || feed.overflow) break;
        await send(sseFrame(e));
        feed.cursor = e.cursor;
      }
    }
  } catch (err) {
    if (!feed.closed) {
      const code = isHubError(err) ? err.code : 'internal';
      if (code === 'internal') logger.error({ err }, 'event stream failed');
      out.write(`event: error\ndata: ${JSON.stringify({ code, detail: (err as Error).message })}\n\n`);
    }
  } finally {
    feed.stop();
    out.end();
  }
}

/** Adds the SSE and WebSocket routes to the API app. */
export function mountStreams(api: OpenAPIHono<Env>, hub: Hub, logger: Logger): Streams {
  const feeds = new Set<Feed>();
  const wss = new WebSocketServer({ noServer: true });

  api.openapi(
    createRoute({
      method: 'get',
      path: '/events/stream',
      tags: ['events'],
      summary: 'Live events as Server-Sent Events; resume with Last-Event-ID (or ?after=)',
      security: [{ Bearer: [] }, {}],
      request: { query: StreamQuery },
      responses: {
        200: { content: { 'text/event-stream': { schema: z.string() } }, description: 'the event stream' },
        400: { content: { 'application/json': { schema: Problem } }, description: 'bad filter or cursor' },
        410: { content: { 'application/json': { schema: Problem } }, description: 'the cursor has expired' },
      },
    }),
    // The query is validated by `precheck` (which also honours Last-Event-ID), not by the route's hook. The
    // stream itself bypasses Hono (see streamSse): headers set with `c.header` do not reach it.
    (async (c: Context<Env>) => {
      const q = await precheck(hub, c);
      if (q instanceof Response) return q;
      const out = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
      if (!out) throw new Error('the event stream needs the Node.js server of @hono/node-server');
      out.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      out.flushHeaders();
      const feed = new Feed(hub, q, c.get('principal').module);
      feeds.add(feed);
      void streamSse(out, feed, logger).finally(() => feeds.delete(feed));
      return RESPONSE_ALREADY_SENT;
    }) as never,
  );

  api.get(
    '/ws',
    async (c, next) => {
      const checked = await precheck(hub, c);
      if (checked instanceof Response) return checked;
      c.set('streamQuery' as never, checked as never);
      return next();
    },
    upgradeWebSocket((c) => {
      const q = c.get('streamQuery' as never) as StreamQuery;
      const feed = new Feed(hub, q, c.get('principal').module);
      return {
        async onOpen(_event, ws) {
          feeds.add(feed);
          const raw = ws.raw as WebSocket;
          // Sent at once, after whatever is still unsent; the close frame follows and, should the client read
          // nothing more, ws drops the connection 30 s later.
          feed.onOverflow = () => {
            raw.send(JSON.stringify({ type: 'overflow', cursor: feed.cursor }));
            raw.close(4000, 'too slow to keep up; reconnect with ?after=<cursor>');
          };
          try {
            await feed.start();
            raw.send(JSON.stringify({ type: 'ready', cursor: feed.cursor }));
            while (!feed.closed && !feed.overflow) {
              const batch = await feed.next();
              if (!batch.length && !feed.overflow) raw.ping();
              for (const e of batch) {
                if (feed.closed || feed.overflow) break;
                feed.cursor = e.cursor;
                if (raw.bufferedAmount <= WS_HIGH_WATER) raw.send(wsMessage(e), { binary: false });
                else await new Promise((resolve) => raw.send(wsMessage(e), { binary: false }, resolve));
              }
            }
          } catch (err) {
            const code = isHubError(err) ? err.code : 'internal';
            if (code === 'internal') logger.error({ err }, 'websocket stream failed');
            if (!feed.closed) {
              raw.send(JSON.stringify({ type: 'error', code, detail: (err as Error).message }));
              raw.close(1011, code);
            }
          } finally {
            feed.stop();
            feeds.delete(feed);
          }
        },
        onClose() {
          feed.stop();
        },
        onError() {
          feed.stop();
        },
      };
    }),
  );

  return {
    wss,
    close() {
      for (const feed of feeds) feed.stop();
      for (const client of wss.clients) client.close(1001, 'the service is stopping');
      wss.close();
    },
  };
}
