/**
 * Live events over HTTP: `GET /events/stream` (Server-Sent Events; each event's `id:` is its cursor, so a
 * reconnecting EventSource resumes through `Last-Event-ID`) and `GET /ws` (WebSocket; resume with `?after=`).
 * Both take the filters of `GET /events`. A client reconnecting with its last cursor gets exactly what it
 * missed: the event log replays it. A client too slow to keep up is disconnected with its cursor, never
 * silently skipped.
 */
import { upgradeWebSocket } from '@hono/node-server';
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { isHubError } from '../domain/errors.js';
import type { HubEvent } from '../domain/types.js';
import type { Hub } from '../hub.js';
import type { Env } from './app.js';
import { describeZodError, problem } from './problem.js';
import { EventsQuery, eventFilter, Problem } from './schemas.js';

/** Events queued for one client before it counts as too slow and is disconnected (it may resume). */
const MAX_QUEUED = 10_000;
/** Bytes a WebSocket may have unsent before it counts as too slow. */
const MAX_BUFFERED = 16 * 1024 * 1024;

const StreamQuery = EventsQuery.extend({
  heartbeat: z.coerce.number().int().min(1).max(300).optional().openapi({ description: 'seconds between heartbeats (default 15)' }),
});
type StreamQuery = z.infer<typeof StreamQuery>;

/** The live side of the API, closed with the service. */
export interface Streams {
  readonly wss: WebSocketServer;
  /** Clients connected now. */
  readonly clients: number;
  close(): void;
}

/** A subscription feeding one client, with a queue between the log and the client's pace. */
class Feed {
  private queue: HubEvent[] = [];
  private wake: (() => void) | undefined;
  overflow = false;
  closed = false;
  cursor = '';
  private close: () => void = () => undefined;

  /** Subscribes after `q.after` (default: the head now); `cursor` is where the client then stands. */
  async open(hub: Hub, q: StreamQuery): Promise<void> {
    const after = q.after ?? (await hub.events.head());
    this.cursor = after;
    const subscription = await hub.events.subscribe({ ...eventFilter(q), after }, (e) => {
      if (this.closed) return;
      this.queue.push(e);
      if (this.queue.length > MAX_QUEUED) this.overflow = true;
      this.wake?.();
    });
    this.close = () => subscription.close();
    if (this.closed) subscription.close();
  }

  /** The next batch of events, or an empty batch after `waitMs` without any. */
  async next(waitMs: number): Promise<HubEvent[]> {
    if (!this.queue.length && !this.closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
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
    this.close();
    this.wake?.();
  }
}

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
    // The query is validated by `precheck` (which also honours Last-Event-ID), not by the route's hook.
    (async (c: Context<Env>) => {
      const checked = await precheck(hub, c);
      if (checked instanceof Response) return checked;
      const q = checked;
      const waitMs = (q.heartbeat ?? 15) * 1000;
      c.header('x-accel-buffering', 'no');
      return streamSSE(c, async (stream) => {
        const feed = new Feed();
        feeds.add(feed);
        stream.onAbort(() => feed.stop());
        try {
          await feed.open(hub, q);
          await stream.writeSSE({ event: 'ready', id: feed.cursor, data: JSON.stringify({ cursor: feed.cursor }) });
          while (!feed.closed && !stream.aborted) {
            const batch = await feed.next(waitMs);
            if (feed.overflow) {
              await stream.writeSSE({
                event: 'overflow',
                data: JSON.stringify({ cursor: feed.cursor, detail: 'too slow to keep up; reconnect with Last-Event-ID' }),
              });
              break;
            }
            if (!batch.length) {
              await stream.write(': heartbeat\n\n');
              continue;
            }
            for (const e of batch) {
              await stream.writeSSE({ id: e.cursor, event: e.type, data: JSON.stringify(e) });
              feed.cursor = e.cursor;
            }
          }
        } catch (err) {
          if (!stream.aborted) {
            const code = isHubError(err) ? err.code : 'internal';
            if (code === 'internal') logger.error({ err }, 'event stream failed');
            await stream
              .writeSSE({ event: 'error', data: JSON.stringify({ code, detail: (err as Error).message }) })
              .catch(() => undefined);
          }
        } finally {
          feed.stop();
          feeds.delete(feed);
        }
      });
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
      const feed = new Feed();
      return {
        async onOpen(_event, ws) {
          feeds.add(feed);
          const raw = ws.raw as { bufferedAmount?: number; ping?: () => void } | undefined;
          try {
            await feed.open(hub, q);
            ws.send(JSON.stringify({ type: 'ready', cursor: feed.cursor }));
            const waitMs = (q.heartbeat ?? 15) * 1000;
            while (!feed.closed) {
              const batch = await feed.next(waitMs);
              if (feed.overflow || (raw?.bufferedAmount ?? 0) > MAX_BUFFERED) {
                ws.send(JSON.stringify({ type: 'overflow', cursor: feed.cursor }));
                ws.close(4000, 'too slow to keep up; reconnect with ?after=<cursor>');
                break;
              }
              if (!batch.length) {
                raw?.ping?.();
                continue;
              }
              for (const e of batch) {
                ws.send(JSON.stringify({ type: 'event', event: e }));
                feed.cursor = e.cursor;
              }
            }
          } catch (err) {
            const code = isHubError(err) ? err.code : 'internal';
            if (code === 'internal') logger.error({ err }, 'websocket stream failed');
            if (!feed.closed) {
              ws.send(JSON.stringify({ type: 'error', code, detail: (err as Error).message }));
              ws.close(1011, code);
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
    get clients() {
      return feeds.size;
    },
    close() {
      for (const feed of feeds) feed.stop();
      for (const client of wss.clients) client.close(1001, 'the service is stopping');
      wss.close();
    },
  };
}
