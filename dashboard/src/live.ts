/**
 * The page's event stream: a WebSocket to `api/v1/ws` that, after any disconnect (the service restarting, the
 * network dropping, the server shedding a client too slow to keep up), reconnects with `?after=` the last
 * cursor it saw, so the log replays exactly what the page missed. Each attempt first asks `GET /events` for one
 * event after that cursor, because a refused WebSocket upgrade tells a page nothing: this answers whether a
 * token is needed (401) and whether the cursor is still good (410 once retention has pruned past it, 400 for a
 * cursor the database never issued); a bad cursor is dropped and the page reloads everything instead.
 *
 * Before its first connection the page reads the newest events once (`GET /events?last=`), and connects after
 * the cursor that read ends at: the history and the stream meet with nothing missed or repeated.
 */
import { ApiError, api, type EventPage, type HubEvent } from './api';
import { getToken } from './token';

/** `connecting` until the first connection, `reconnecting` after losing one, `unauthorized` waiting for a token. */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'unauthorized';

/** Events read once, before the first connection, so a fresh page shows what happened just before it opened. */
const HISTORY = 50;

export interface LiveHandlers {
  /** The newest events before the stream begins, oldest first (once per page). */
  history(events: HubEvent[]): void;
  /** The stream is live; `resumed` when it continues from the previous cursor (nothing missed). */
  ready(resumed: boolean): void;
  event(event: HubEvent): void;
  state(state: ConnectionState, detail: { attempt: number; error: string | null }): void;
}

/** Waits between attempts: 250 ms doubling to 4 s, ±20 % so that many pages do not return in step. */
function backoff(attempt: number): number {
  return Math.min(4000, 250 * 2 ** Math.max(0, attempt - 1)) * (0.8 + Math.random() * 0.4);
}

type Probe = 'ok' | 'unauthorized' | 'expired' | 'down';

export class LiveConnection {
  /** Where the stream stands: the cursor of the last event received. */
  cursor: string | undefined;
  private socket: WebSocket | undefined;
  private wake: (() => void) | undefined;
  private started = false;
  private historyRead = false;

  constructor(private readonly handlers: LiveHandlers) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    window.addEventListener('online', () => this.retryNow());
    void this.run();
  }

  /** Tries again at once (a token was entered, the network came back). */
  retryNow(): void {
    this.wake?.();
  }

  /** Drops the connection and connects again (the token changed). */
  reconnect(): void {
    this.socket?.close();
    this.retryNow();
  }

  private async run(): Promise<void> {
    let attempt = 0;
    let wasLive = false;
    let error: string | null = null;
    for (;;) {
      this.handlers.state(wasLive ? 'reconnecting' : 'connecting', { attempt, error });
      const probe = await this.probe();
      if (probe.result === 'unauthorized') {
        this.handlers.state('unauthorized', { attempt, error: probe.error });
        await this.pause(Number.POSITIVE_INFINITY);
        continue;
      }
      error = probe.error;
      if (probe.result === 'expired') this.cursor = undefined;
      if (probe.result === 'ok' && !this.historyRead) await this.readHistory();
      if (probe.result !== 'down' && (await this.session())) {
        wasLive = true;
        attempt = 0;
        error = 'the connection closed';
      }
      attempt++;
      await this.pause(backoff(attempt));
    }
  }

  private async probe(): Promise<{ result: Probe; error: string | null }> {
    const after = this.cursor ? `&after=${encodeURIComponent(this.cursor)}` : '';
    try {
      await api(`/events?limit=1${after}`);
      return { result: 'ok', error: null };
    } catch (err) {
      if (!(err instanceof ApiError)) return { result: 'down', error: String(err) };
      if (err.status === 401) return { result: 'unauthorized', error: err.message };
      if (err.code === 'cursor_expired' || err.code === 'invalid_cursor') return { result: 'expired', error: null };
      return { result: 'down', error: err.message };
    }
  }

  /**
   * Reads the newest events and takes their cursor, so the first session continues right after them. A failed
   * read is not retried: the page then shows events from its first connection on, as it always could.
   */
  private async readHistory(): Promise<void> {
    try {
      const page = await api<EventPage>(`/events?last=${HISTORY}`);
      this.historyRead = true;
      this.cursor = page.cursor;
      this.handlers.history(page.events);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return; // read once a token is given
      this.historyRead = true;
    }
  }

  /** One WebSocket session; resolves when it closes, with whether it went live. */
  private session(): Promise<boolean> {
    return new Promise((resolve) => {
      const url = new URL('api/v1/ws', window.location.href);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      url.hash = '';
      url.search = '';
      if (this.cursor) url.searchParams.set('after', this.cursor);
      const token = getToken();
      if (token) url.searchParams.set('token', token);
      const socket = new WebSocket(url);
      this.socket = socket;
      let live = false;
      socket.onmessage = (message) => {
        let frame: { type?: string; cursor?: string; event?: HubEvent; code?: string };
        try {
          frame = JSON.parse(String(message.data)) as typeof frame;
        } catch {
          return;
        }
        if (frame.type === 'event' && frame.event) {
          this.cursor = frame.event.cursor;
          try {
            this.handlers.event(frame.event);
          } catch (err) {
            // One event the page cannot show must not stop the stream.
            console.error('claude-comms: applying an event failed', err, frame.event);
          }
        } else if (frame.type === 'ready' && frame.cursor) {
          const resumed = this.cursor !== undefined;
          this.cursor = frame.cursor;
          live = true;
          this.handlers.state('live', { attempt: 0, error: null });
          this.handlers.ready(resumed);
        } else if (frame.type === 'overflow' && frame.cursor) {
          this.cursor = frame.cursor; // the server closes now; the next session resumes from here
        } else if (frame.type === 'error' && (frame.code === 'cursor_expired' || frame.code === 'invalid_cursor')) {
          this.cursor = undefined;
        }
      };
      socket.onclose = () => {
        if (this.socket === socket) this.socket = undefined;
        resolve(live);
      };
    });
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      if (Number.isFinite(ms)) timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
