// A local stand-in for the Anthropic Messages API (the one part the network forbids): it answers
// `POST /v1/messages` with the streaming (SSE) format, playing scripted turns, and records every request so a
// test can check what the real `claude` binary sent.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted model turn. */
export type Turn =
  | { text: string; chunks?: number; delayMs?: number; usage?: Usage }
  | { toolUse: { name: string; input: Record<string, unknown> }; text?: string; usage?: Usage }
  | { error: { status: number; type?: string; message?: string } }
  /** Sends the start of a reply and then nothing: a model that hangs. */
  | { hang: true };

interface Usage {
  input_tokens: number;
  output_tokens: number;
}

/** A request the server received. */
export interface RecordedRequest {
  path: string;
  body: {
    model?: string;
    system?: unknown;
    messages?: { role: string; content: unknown }[];
    stream?: boolean;
    [key: string]: unknown;
  };
}

/** A running stand-in. */
export interface MessagesApi {
  /** `http://127.0.0.1:PORT`: use as ANTHROPIC_BASE_URL. */
  url: string;
  requests: RecordedRequest[];
  /** Queues turns; each `POST /v1/messages` plays the next one (an empty queue answers a plain "ok"). */
  script(...turns: Turn[]): void;
  /** Drops turns not played yet (so one test's leftovers cannot leak into the next). */
  reset(): void;
  close(): Promise<void>;
}

const DEFAULT_USAGE: Usage = { input_tokens: 12, output_tokens: 7 };

function send(res: ServerResponse, event: string, data: Record<string, unknown>): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Splits `text` into about `n` pieces, so a reply streams in several deltas. */
function pieces(text: string, n: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / n));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length ? out : [''];
}

async function play(res: ServerResponse, turn: Turn, model: string, n: number): Promise<void> {
  if ('error' in turn) {
    res.writeHead(turn.error.status, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        type: 'error',
        error: { type: turn.error.type ?? 'api_error', message: turn.error.message ?? 'scripted failure' },
      }),
    );
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const usage = ('usage' in turn && turn.usage) || DEFAULT_USAGE;
  send(res, 'message_start', {
    message: {
      id: `msg_${n}`,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: usage.input_tokens, output_tokens: 1 },
    },
  });
  if ('hang' in turn) return; // the socket stays open with nothing more
  let index = 0;
  const text = 'text' in turn ? turn.text : undefined;
  if (text !== undefined) {
    send(res, 'content_block_start', { index, content_block: { type: 'text', text: '' } });
    for (const piece of pieces(text, 'chunks' in turn && turn.chunks ? turn.chunks : 3)) {
      send(res, 'content_block_delta', { index, delta: { type: 'text_delta', text: piece } });
      if ('delayMs' in turn && turn.delayMs) await new Promise((r) => setTimeout(r, turn.delayMs));
    }
    send(res, 'content_block_stop', { index });
    index++;
  }
  if ('toolUse' in turn) {
    const id = `toolu_${n}`;
    send(res, 'content_block_start', {
      index,
      content_block: { type: 'tool_use', id, name: turn.toolUse.name, input: {} },
    });
    send(res, 'content_block_delta', {
      index,
      delta: { type: 'input_json_delta', partial_json: JSON.stringify(turn.toolUse.input) },
    });
    send(res, 'content_block_stop', { index });
  }
  send(res, 'message_delta', {
    delta: { stop_reason: 'toolUse' in turn ? 'tool_use' : 'end_turn', stop_sequence: null },
    usage: { output_tokens: usage.output_tokens },
  });
  send(res, 'message_stop', {});
  res.end();
}

/** Starts the stand-in on a free loopback port. */
export async function startMessagesApi(): Promise<MessagesApi> {
  const queue: Turn[] = [];
  const requests: RecordedRequest[] = [];
  const open = new Set<ServerResponse>();
  let n = 0;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const path = req.url ?? '/';
      if (req.method !== 'POST' || !path.startsWith('/v1/messages')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: `no route ${path}` } }));
        return;
      }
      let body: RecordedRequest['body'] = {};
      try {
        body = JSON.parse(raw) as RecordedRequest['body'];
      } catch {
        // recorded as empty; a malformed request is the client's bug and the test will show it
      }
      requests.push({ path, body });
      open.add(res);
      res.on('close', () => open.delete(res));
      await play(res, queue.shift() ?? { text: 'ok' }, body.model ?? 'claude-test', ++n);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (...turns) => {
      queue.push(...turns);
    },
    reset: () => {
      queue.length = 0;
    },
    close: async () => {
      for (const res of open) res.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
