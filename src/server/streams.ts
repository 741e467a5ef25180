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
import type { HubEvent } from '../domain/types.js';
import type { Hub } from '../hub.js';
import { DEFAULT_STREAM_LIMITS, Feed, type FeedEnd, StreamBudget, type StreamLimits } from './feed.js';
import { describeZodError, problem } from './problem.js';
import { Problem } from './responses.js';
import type { Env } from './routes/parts.js';
import { EventsQuery, eventFilter } from './schemas.js';

/**
 * Bytes a WebSocket may hold unsent before its feed waits for them to go out, as an SSE write waits for the
 * socket: `ws.send` itself never waits, and 1 MiB here let 300 clients that stopped reading hold 1 GB.
 */
const WS_HIGH_WATER = 64 * 1024;
/**
 * The largest message a WebSocket client may send. The stream reads none, and the library's default of 100 MiB
 * let six clients hold 750 MB; a larger one closes the connection (1009).
 */
const WS_MAX_PAYLOAD = 4 * 1024;
/** How often the tokens of open streams are checked, so that a revoked one ends its streams within a second. */
const REVOKE_CHECK_MS = 500;

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
  /** Open stream clients and the bytes they hold (shown by `/health`). */
  stats(): { clients: number; heldBytes: number };
  close(): void;
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

/**
 * Checks that one more stream may open, and its query and cursor, before anything is sent: a bad one gets a
 * proper 4xx, one too many a 503.
 */
async function precheck(hub: Hub, budget: StreamBudget, c: Context): Promise<StreamQuery | Response> {
  if (budget.full) {
    return problem(
      c,
      'unavailable',
      `too many live streams are open (${budget.limits.clients}); close one, or try again later`,
    );
  }
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

/** What the client is told when the service ends its feed, and the WebSocket close code that goes with it. */
function endNotice(end: FeedEnd, cursor: string): { code: string; detail: string; wsClose: number } {
  switch (end.reason) {
    case 'overflow':
      return { code: 'overflow', detail: `too slow to keep up; resume after ${cursor}`, wsClose: 4000 };
    case 'revoked':
      return { code: 'unauthorized', detail: 'the token of this stream was revoked', wsClose: 4001 };
    case 'stopping':
      return { code: 'closed', detail: 'the service is stopping', wsClose: 1001 };
  }
}

/**
 * Sends a feed as Server-Sent Events, written straight to the Node.js response rather than through Hono's
 * `streamSSE`, whose web streams (a TransformStream and a ReadableStream per connection, some ten promise hops
 * per write) took 2.5 times the CPU at 1,000 clients (about 5 s instead of 2 for 120 events) and held back even
 * the first client's copy until every client's chain had run (first receipt after ~20 ms instead of ~3;
 * bench/fanout.ts, row 9a).
 * A write the socket does not take at once waits for 'drain', so a client that stops reading holds its stream in
 * a write, where no notice can reach it: a feed ended then is disconnected instead, and resumes with
 * Last-Event-ID like any dropped EventSource. Written bytes count in the budget until the socket takes them.
 */
async function streamSse(out: ServerResponse, feed: Feed, budget: StreamBudget, logger: Logger): Promise<void> {
  const closed = new Promise<void>((resolve) => out.once('close', resolve));
  void closed.then(() => feed.stop());
  let writing = false;
  const send = async (chunk: string | Buffer) => {
    const bytes = Buffer.byteLength(chunk);
    budget.hold(feed, bytes);
    if (out.write(chunk, () => budget.release(feed, bytes))) return;
    writing = true;
    await Promise.race([new Promise((resolve) => out.once('drain', resolve)), closed]);
    writing = false;
  };
  feed.onEnd = () => {
    if (writing) out.destroy();
  };
  try {
    await feed.start();
    await send(`event: ready\nid: ${feed.cursor}\ndata: ${JSON.stringify({ cursor: feed.cursor })}\n\n`);
    while (!feed.closed) {
      const batch = await feed.next();
      if (feed.closed) break;
      if (!batch.length) {
        await send(': heartbeat\n\n');
        continue;
      }
      // One write per batch: a page of history is one chunk for the socket instead of fifty. The events are let
      // go before the write waits for the socket, so a client that stopped reading holds only the bytes.
      const chunk = Buffer.concat(batch.map(sseFrame));
      const cursor = (batch.at(-1) as HubEvent).cursor;
      batch.length = 0;
      await send(chunk);
      feed.cursor = cursor;
    }
    if (feed.ended && feed.ended.reason !== 'stopping' && !writing && !out.destroyed) {
      const { code, detail } = endNotice(feed.ended, feed.cursor);
      out.write(
        `event: ${code === 'overflow' ? 'overflow' : 'error'}\ndata: ${JSON.stringify({ code, cursor: feed.cursor, detail })}\n\n`,
      );
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

/**
 * Sends a feed over a WebSocket. A send waits for the socket once WS_HIGH_WATER bytes are unsent. A feed ended
 * by the service tells the client why and after which cursor to resume (`{type: "overflow" | "error"}`), after
 * what is still unsent (at most WS_HIGH_WATER and a message), and closes; should the client read nothing more,
 * ws drops the connection 30 s later.
 */
async function streamWs(raw: WebSocket, feed: Feed, budget: StreamBudget, logger: Logger): Promise<void> {
  // Counted once handed to ws: a bound passed by this message ends the feed with a notice that comes after it.
  const send = (data: Buffer | string) => {
    const bytes = Buffer.byteLength(data);
    const sent = new Promise<void>((resolve) => {
      raw.send(data, { binary: false }, () => {
        budget.release(feed, bytes);
        resolve();
      });
    });
    budget.hold(feed, bytes);
    return sent;
  };
  feed.onEnd = (end) => {
    if (raw.readyState !== raw.OPEN) return;
    const { code, detail, wsClose } = endNotice(end, feed.cursor);
    // A stopping service is no error: the client reconnects as after any restart.
    if (end.reason !== 'stopping') {
      raw.send(JSON.stringify({ type: code === 'overflow' ? 'overflow' : 'error', code, cursor: feed.cursor, detail }));
    }
    raw.close(wsClose, detail.slice(0, 120));
  };
  try {
    await feed.start();
    raw.send(JSON.stringify({ type: 'ready', cursor: feed.cursor }));
    while (!feed.closed) {
      const batch = await feed.next();
      if (!batch.length && !feed.closed) raw.ping();
      // The events are let go once encoded, and each frame once sent: a client that stopped reading holds only
      // the bytes of what is still to go.
      const frames = batch.map((e) => ({ cursor: e.cursor, frame: wsMessage(e) }));
      batch.length = 0;
      for (let next = frames.shift(); next && !feed.closed; next = frames.shift()) {
        feed.cursor = next.cursor;
        const sent = send(next.frame);
        if (raw.bufferedAmount > WS_HIGH_WATER) await sent;
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
  }
}

/** Adds the SSE and WebSocket routes to the API app. */
export function mountStreams(
  api: OpenAPIHono<Env>,
  hub: Hub,
  logger: Logger,
  limits: StreamLimits = DEFAULT_STREAM_LIMITS,
): Streams {
  const budget = new StreamBudget(limits);
  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD });
  const feedOf = (c: Context<Env>, q: StreamQuery, frame: (e: HubEvent) => Buffer) => {
    const { heartbeat, ...query } = q;
    const { after, limit: _limit, ...filter } = eventFilter(query);
    const { module, tokenId } = c.get('principal');
    // A module token's stream holds only what concerns its module (src/store/visibility.ts).
    const scoped = module === null ? filter : { ...filter, visibleTo: module };
    return new Feed(hub, budget, scoped, after, (heartbeat ?? 15) * 1000, frame, tokenId);
  };
  const revokeCheck = setInterval(() => void endRevoked(hub, budget, logger), REVOKE_CHECK_MS);
  revokeCheck.unref();

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
      const q = await precheck(hub, budget, c);
      if (q instanceof Response) return q;
      const out = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
      if (!out) throw new Error('the event stream needs the Node.js server of @hono/node-server');
      out.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        ...corsHeaders(c),
      });
      out.flushHeaders();
      void streamSse(out, feedOf(c, q, sseFrame), budget, logger);
      return RESPONSE_ALREADY_SENT;
    }) as never,
  );

  api.get(
    '/ws',
    async (c, next) => {
      const checked = await precheck(hub, budget, c);
      if (checked instanceof Response) return checked;
      c.set('streamQuery' as never, checked as never);
      return next();
    },
    upgradeWebSocket((c) => {
      const feed = feedOf(c, c.get('streamQuery' as never) as StreamQuery, wsMessage);
      return {
        onOpen: (_event, ws) => void streamWs(ws.raw as WebSocket, feed, budget, logger),
        onClose: () => feed.stop(),
        onError: () => feed.stop(),
      };
    }),
  );

  return {
    wss,
    stats: () => ({ clients: [...budget.all()].length, heldBytes: budget.total }),
    close() {
      clearInterval(revokeCheck);
      for (const feed of [...budget.all()]) feed.end({ reason: 'stopping' });
      for (const client of wss.clients) client.close(1001, 'the service is stopping');
      wss.close();
    },
  };
}

/**
 * CORS headers for the SSE response, which bypasses Hono's: a request that got here with an Origin passed the
 * origin check (src/server/origin.ts), so that origin may read it.
 */
function corsHeaders(c: Context): Record<string, string> {
  const origin = c.req.header('origin');
  return origin ? { 'access-control-allow-origin': origin, vary: 'Origin' } : {};
}

/** Ends the feeds whose token has been revoked (by this service or by `claude-comms token revoke` elsewhere). */
async function endRevoked(hub: Hub, budget: StreamBudget, logger: Logger): Promise<void> {
  const ids = new Set<string>();
  for (const feed of budget.all()) if (feed.tokenId) ids.add(feed.tokenId);
  if (!ids.size) return;
  try {
    const active = await hub.tokens.active([...ids]);
    for (const feed of [...budget.all()]) {
      if (feed.tokenId && !active.has(feed.tokenId)) feed.end({ reason: 'revoked' });
    }
  } catch (err) {
    logger.warn({ err }, 'could not check the tokens of open streams');
  }
}
