/**
 * The service's A2A endpoints: the agent card at `GET /.well-known/agent-card.json` and JSON-RPC at `POST /a2a`
 * (A2A v1.0 method names, and v0.3 ones through the SDK's compatibility layer). The SDK's HTTP transport is written
 * for Express; its framework-free `JsonRpcTransportHandler` is used here instead, behind the API's own checks: the
 * Origin check (origin.ts), the body limit (an oversized body is a 413 problem before anything parses it), the
 * token and, on loopback, the Host check (auth.ts). A module-scoped token acts as its module: it asks as that
 * module and sees only its own tasks.
 *
 * What the SDK leaves to its Express layer is done here: malformed JSON is -32700 and a request that is not
 * JSON-RPC -32600 (the SDK's handler would call both invalid params); streams are Server-Sent Events, one
 * JSON-RPC response per `data:` line; a caller hanging up on `SendStreamingMessage` does not stop the task, whose
 * events go on being stored, so `SubscribeToTask` (or `GetTask`) picks it up again.
 */
import { AgentCard, formatSSEErrorEvent, formatSSEEvent, SSE_HEADERS } from '@a2a-js/sdk';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import { JsonRpcTransportHandler, ServerCallContext, STATE_HEADERS_KEY } from '@a2a-js/sdk/server';
import type { Context, Hono } from 'hono';
import type { Logger } from 'pino';
import { HubCaller } from '../a2a/caller.js';
import { type A2AServer, createA2AServer, LEGACY_METHODS, SENDING_STREAMS } from '../a2a/server.js';
import type { Hub } from '../hub.js';
import type { Principal } from './auth.js';
import { type GuardOptions, guardedApp } from './guarded.js';

/** What the endpoints need besides the hub: the API's own settings, and the hub's version for the card. */
export interface A2ARouteOptions extends GuardOptions {
  version: string;
}

type A2AEnv = { Variables: { principal: Principal } };

/** The protocol versions each set of method names is answered in. */
const V1 = '1.0';
const V03 = '0.3';

type RpcId = string | number | null;

/** A JSON-RPC error response. */
function rpcError(id: RpcId, code: number, message: string) {
  return { jsonrpc: '2.0', id, error: { code, message } };
}

/** How deep a request's JSON may nest: far more than any A2A message needs. */
const MAX_DEPTH = 64;

/** Whether `value` nests arrays or objects deeper than `max` (walked without recursion). */
function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** The most a stream's caller may leave unread (bytes) before the stream is closed: a few whole answers. */
const UNREAD_LIMIT = 8 * 1024 * 1024;

/** How often an open stream's token is checked, so that a revoked one ends it within a second (as the API's). */
const REVOKE_CHECK_MS = 1000;

/** Mounts the card and the JSON-RPC endpoint on the service's root app. */
export function mountA2A(root: Hono, hub: Hub, options: A2ARouteOptions): void {
  const server = createA2AServer(hub, options.logger, options.version);
  const card = guardedApp(hub, options);
  card.get('/', async (c) => {
    // Behind a TLS proxy the request reaches us as http: the card names the scheme the caller used, or its token
    // would be sent in clear.
    const url = new URL(c.req.url);
    const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
    if (proto === 'https' || proto === 'http') url.protocol = `${proto}:`;
    const endpoint = `${url.origin}/a2a`;
    const body = AgentCard.toJSON(
      await server.card({ endpoint, version: options.version, requireToken: options.requireToken }),
    );
    return c.json(body as Record<string, unknown>, 200, { 'cache-control': 'no-cache' });
  });
  const rpc = guardedApp(hub, options);
  rpc.post('/', (c) => answer(c, hub, server, options.logger));
  root.route('/.well-known/agent-card.json', card as unknown as Hono);
  root.route('/a2a', rpc as unknown as Hono);
}

/** Answers one JSON-RPC request: a response, or a stream of them as SSE. */
async function answer(c: Context<A2AEnv>, hub: Hub, server: A2AServer, logger: Logger): Promise<Response> {
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch (err) {
    return c.json(rpcError(null, -32700, `Parse error: ${(err as Error).message}`));
  }
  if (Array.isArray(body)) return c.json(rpcError(null, -32600, 'Invalid Request: batches are not supported'));
  // Checked before anything is asked: a value nested past any real message could not be stored or answered whole.
  if (nestedDeeperThan(body, MAX_DEPTH))
    return c.json(rpcError(null, -32600, `Invalid Request: nested deeper than ${MAX_DEPTH} levels`));
  const request = body as { jsonrpc?: unknown; id?: unknown; method?: unknown } | null;
  const id: RpcId =
    typeof request?.id === 'string' || (typeof request?.id === 'number' && Number.isInteger(request.id))
      ? request.id
      : null;
  if (
    typeof request !== 'object' ||
    request === null ||
    request.jsonrpc !== '2.0' ||
    typeof request.method !== 'string'
  )
    return c.json(rpcError(id, -32600, 'Invalid Request: expected {"jsonrpc": "2.0", "method": …, "id": …}'));
  const method = request.method;
  const legacy = LEGACY_METHODS.has(method);
  const requested = c.req.header('a2a-version')?.trim() || (legacy ? V03 : V1);
  if (requested !== (legacy ? V03 : V1) && !(legacy && requested.startsWith('0.3')))
    return c.json(
      rpcError(id, -32009, `A2A version ${requested} is not supported for ${method}: ${V1} (and ${V03} method names)`),
    );
  const context = new ServerCallContext({
    user: new HubCaller(c.get('principal').module),
    requestedVersion: legacy ? V03 : V1,
    state: new Map([[STATE_HEADERS_KEY, Object.fromEntries(c.req.raw.headers)]]),
  });
  const mapError = legacy
    ? LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError
    : JsonRpcTransportHandler.mapToJSONRPCError;
  let result: Awaited<ReturnType<A2AServer['jsonRpc']['handle']>>;
  try {
    result = await (legacy ? server.legacy : server.jsonRpc).handle(request as Record<string, unknown>, context);
  } catch (err) {
    logger.error({ err, method }, 'an A2A request failed');
    return c.json({ jsonrpc: '2.0', id, error: mapError(err) });
  }
  if (!(Symbol.asyncIterator in result)) return c.json(result);
  const { tokenId } = c.get('principal');
  const revoked = tokenId ? async () => !(await hub.tokens.active([tokenId])).has(tokenId) : undefined;
  return stream(c, result, {
    id,
    mapError,
    drain: SENDING_STREAMS.has(method),
    logger,
    ...(revoked ? { revoked } : {}),
  });
}

interface StreamOptions {
  id: RpcId;
  mapError: (err: unknown) => unknown;
  /** Go on reading after the caller hangs up (the task's events are stored as they are read). */
  drain: boolean;
  logger: Logger;
  /** Whether the stream's token has been revoked since (checked every second; none without a token). */
  revoked?: () => Promise<boolean>;
}

/**
 * The responses as SSE. The first is awaited before answering, so a request refused at once (an unknown task, a
 * skill that does not exist) is a plain JSON-RPC error rather than a stream holding one.
 */
async function stream(c: Context, responses: AsyncGenerator<unknown>, o: StreamOptions): Promise<Response> {
  let first: IteratorResult<unknown>;
  try {
    first = await responses.next();
  } catch (err) {
    return c.json({ jsonrpc: '2.0', id: o.id, error: o.mapError(err) });
  }
  const encoder = new TextEncoder();
  let check: NodeJS.Timeout | undefined;
  let ended = false;
  /** Stops following the task for this caller (a task this request sends is still followed, to store it). */
  const leave = () => {
    clearInterval(check);
    if (o.drain) void drain(responses, o.logger);
    else void responses.return(undefined).catch(() => undefined);
  };
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const send = (value: unknown) => controller.enqueue(encoder.encode(formatSSEEvent(value)));
        /** Ends the stream with a last error event (when the caller still reads), and stops following. */
        const fail = (error: unknown) => {
          if (ended) return;
          ended = true;
          controller.enqueue(encoder.encode(formatSSEErrorEvent({ jsonrpc: '2.0', id: o.id, error })));
          controller.close();
          leave();
        };
        if (first.done) {
          ended = true;
          controller.close();
          return;
        }
        send(first.value);
        const revoked = o.revoked;
        if (revoked) {
          check = setInterval(() => {
            void revoked()
              .then((gone) => gone && fail({ code: -32600, message: 'the token of this stream was revoked' }))
              .catch((err: unknown) => o.logger.warn({ err }, 'could not check the token of an A2A stream'));
          }, REVOKE_CHECK_MS);
          check.unref();
        }
        // Read as the task goes, whatever the caller reads: a caller that stops reading is cut off once it leaves
        // more than UNREAD_LIMIT bytes unread, rather than the service holding its answer as it grows.
        void (async () => {
          try {
            for (;;) {
              const next = await responses.next();
              if (ended) return;
              if (next.done) {
                ended = true;
                clearInterval(check);
                controller.close();
                return;
              }
              send(next.value);
              if ((controller.desiredSize ?? 0) < -UNREAD_LIMIT) {
                ended = true;
                o.logger.warn({ id: o.id }, 'an A2A stream was closed: its caller left too much unread');
                controller.error(new Error(`the caller left more than ${UNREAD_LIMIT} bytes unread`));
                leave();
                return;
              }
            }
          } catch (err) {
            o.logger.warn({ err }, 'an A2A stream ended with an error');
            fail(o.mapError(err));
          }
        })();
      },
      cancel() {
        if (ended) return;
        ended = true;
        leave();
      },
    },
    // Counted in bytes, so that desiredSize says how much the caller has left unread.
    { highWaterMark: 0, size: (chunk) => chunk.byteLength },
  );
  return new Response(body, { headers: SSE_HEADERS });
}

/** Reads the rest of a stream nobody listens to any more, so the task's events are still stored. */
async function drain(responses: AsyncGenerator<unknown>, logger: Logger): Promise<void> {
  try {
    while (!(await responses.next()).done);
  } catch (err) {
    logger.warn({ err }, 'an A2A task’s stream failed after its caller left');
  }
}
