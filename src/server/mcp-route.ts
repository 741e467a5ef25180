/**
 * The service's MCP endpoint, `POST /mcp` (Streamable HTTP, stateless): each request gets its own MCP server,
 * whose tools reach the hub through the API itself — every call is handed to the API app in this process with
 * the request's own token — so a tool can do and see exactly what the API lets that token do and see. The
 * endpoint passes the API's checks first: the Origin check (origin.ts), the body limit, the token and, on
 * loopback, the Host check against DNS rebinding (auth.ts).
 *
 * Who the tools act as: a token scoped to a module acts as that module; otherwise the module is named by
 * `?as=MODULE` or the header `X-Claude-Comms-Module`, the task by `X-Claude-Comms-Task` and the reply an agent is
 * answering by `X-Claude-Comms-Reply` (see mcp/identity.ts).
 */
import type { HttpBindings } from '@hono/node-server';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Context, Hono } from 'hono';
import { HttpClient } from '../client/http.js';
import type { CommsClient } from '../client/types.js';
import { HubError } from '../domain/errors.js';
import type { Hub } from '../hub.js';
import type { IdentityHints, McpIdentity } from '../mcp/identity.js';
import { createMcpServer } from '../mcp/server.js';
import { actAs, type Principal } from './auth.js';
import { type GuardOptions, guardedApp, MAX_BODY_BYTES } from './guarded.js';

/** What the endpoint needs besides the hub: the API's own settings. */
export type McpRouteOptions = GuardOptions;

type McpEnv = { Variables: { principal: Principal } };

/** Where the tools' client sends its requests: the API app, in this process, as if on loopback. */
const IN_PROCESS_URL = 'http://127.0.0.1';

/** The API's live event stream, which needs a socket of its own (see `apiFetch`). */
const STREAM_PATH = '/api/v1/events/stream';

const HINTS: IdentityHints = {
  module: 'connect with ?as=MODULE on the URL or the header X-Claude-Comms-Module (or a token scoped to the module)',
  task: 'the header X-Claude-Comms-Task',
};

/** Mounts `/mcp` on the service's root app; `root` also serves the API the tools call (under /api/v1). */
export function mountMcp(root: Hono, hub: Hub, options: McpRouteOptions): void {
  const app = guardedApp(hub, options);
  app.post('/', async (c) => {
    const identity = identityOf(c);
    const http = new HttpClient(IN_PROCESS_URL, bearerToken(c), { fetch: apiFetch(root, ownAddress(c)) });
    const client = withHubFeeds(http, hub, c.get('principal').module);
    const server = createMcpServer({ client, identity, hints: HINTS });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      maxRequestBodySize: MAX_BODY_BYTES,
    });
    await server.connect(transport);
    // Closing the server when the response is over, or the caller hangs up, ends any tool call still waiting.
    node(c)?.outgoing.once('close', () => void server.close().catch(() => undefined));
    // The body was read by the checks (well-formed text): the transport gets it parsed, or as text to refuse.
    const text = await c.req.text();
    let parsedBody: unknown;
    try {
      parsedBody = JSON.parse(text);
    } catch {
      const { url, method, headers } = c.req.raw;
      return transport.handleRequest(new Request(url, { method, headers, body: text }));
    }
    return transport.handleRequest(c.req.raw, { parsedBody });
  });
  app.on(['GET', 'DELETE'], '/', (c) => methodNotAllowed(c));
  root.route('/mcp', app as unknown as Hono);
}

/**
 * The client with a reply's events followed from the hub in this process rather than over a live stream of the
 * API: a tool waiting for an answer then holds no socket and none of the streams all clients share (a few callers
 * waiting could otherwise take them all), and nothing is left open when the wait ends. Only the events of one
 * message are followed this way — the tools have read it through the API just before, which applied the token's
 * scope; a scoped token is checked again here.
 */
function withHubFeeds(client: HttpClient, hub: Hub, scope: string | null): CommsClient {
  const follow: CommsClient['follow'] = async (filter, handler, notice) => {
    const id = filter.messageId;
    if (id === undefined) return client.follow(filter, handler, notice);
    if (scope !== null && !(await hub.visibility.message(scope, id)))
      throw new HubError('not_found', `no message with id ${id}`);
    const subscription = await hub.events.subscribe(filter, handler);
    return { failed: new Promise<never>(() => undefined), close: () => subscription.close() };
  };
  return Object.assign(Object.create(client) as HttpClient, { follow });
}

/** Who the tools act as for this request; `forbidden` when a module token names another module. */
function identityOf(c: Context<McpEnv>): McpIdentity {
  const scope = c.get('principal').module;
  const named = c.req.query('as') ?? c.req.header('x-claude-comms-module');
  if (named !== undefined) actAs(c, named);
  const module = scope ?? named?.trim();
  const taskId = c.req.header('x-claude-comms-task')?.trim();
  const replyId = c.req.header('x-claude-comms-reply')?.trim();
  return { ...(module ? { module } : {}), ...(taskId ? { taskId } : {}), ...(replyId ? { replyId } : {}) };
}

/** The Node.js request and response behind `c`, when the service's server made it (not in `app.request`). */
function node(c: Context): HttpBindings | undefined {
  return (c.env as Partial<HttpBindings> | undefined)?.outgoing ? (c.env as HttpBindings) : undefined;
}

/** The token the request presented (authenticate has checked it), for the tools' calls to the API. */
function bearerToken(c: Context): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')?.[1];
}

/** The address this request reached the service on (the local end of its socket), when served by Node. */
function ownAddress(c: Context): string | undefined {
  const socket = node(c)?.incoming.socket;
  if (!socket?.localAddress || !socket.localPort) return undefined;
  const host = socket.localAddress.includes(':') ? `[${socket.localAddress}]` : socket.localAddress;
  return `http://${host}:${socket.localPort}`;
}

/**
 * A fetch that hands each request to the API app in this process, with a loopback Host. The live event stream
 * (a tool waiting for an answer follows it) writes to its own socket rather than answering a Response, so it goes
 * to the service over the network, at the address the MCP request came in on, with the same token.
 */
function apiFetch(root: Hono, own: string | undefined): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (own && url.pathname === STREAM_PATH) {
      // The caller's own signal: the Request made above links its signal to it only weakly, and once collected,
      // closing the feed would no longer end the connection.
      return fetch(`${own}${url.pathname}${url.search}`, {
        headers: request.headers,
        ...(init?.signal ? { signal: init.signal } : {}),
      });
    }
    const headers = new Headers(request.headers);
    headers.set('host', new URL(IN_PROCESS_URL).host);
    return root.fetch(new Request(request, { headers }));
  };
}

/** 405 for GET and DELETE: a stateless endpoint has no stream to open and no session to end. */
function methodNotAllowed(c: Context): Response {
  const detail = `${c.req.method} /mcp is not supported: this endpoint is stateless, send each MCP message with POST`;
  return c.body(
    JSON.stringify({
      type: 'about:blank',
      title: 'Method Not Allowed',
      status: 405,
      code: 'method_not_allowed',
      detail,
    }),
    405,
    { 'content-type': 'application/problem+json', allow: 'POST' },
  );
}
