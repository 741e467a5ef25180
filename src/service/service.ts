/**
 * The service: one process that serves the HTTP API and the dashboard (at `/`), runs the workers that answer
 * questions and fires the hooks. `claude-comms serve` runs it in the foreground, `claude-comms poll start` as a
 * daemon; both write the state file `service.json` in the data home so the CLI can find it.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import pino, { type Logger } from 'pino';
import { BUNDLED_EXAMPLE, EXAMPLE_CONFIG } from '../config/example.js';
import { ALLOWED_ORIGINS_ENV, normalizeOrigin, parseOriginList } from '../config/origins.js';
import { dataHome } from '../config/paths.js';
import { HubError } from '../domain/errors.js';
import { type Hub, openHub } from '../hub.js';
import type { Worker } from '../runtime/worker.js';
import { mountA2A } from '../server/a2a-route.js';
import { createApi } from '../server/app.js';
import { DEFAULT_STREAM_LIMITS, type StreamLimits } from '../server/feed.js';
import { mountMcp } from '../server/mcp-route.js';
import { problem } from '../server/problem.js';
import { VERSION } from '../server/schemas.js';
import { mountStreams, type Streams } from '../server/streams.js';
import { DASHBOARD_DIR, mountDashboard, readDashboard } from './dashboard.js';
import { pidFile, readPid, runningService, type ServiceState, stateFile } from './state.js';

export type { ServiceState };

/** Options of the service. */
export interface ServiceOptions {
  /** Default 127.0.0.1. Any other address requires API tokens. */
  host?: string;
  /** Default 7420; 0 picks a free port. */
  port?: number;
  /** Default: `CLAUDE_COMMS_DATABASE`, else SQLite in the data home. */
  database?: string;
  /**
   * A config.yaml; default the data home's, else — for a database never configured — the bundled example (see
   * `applyConfig`).
   */
  config?: string;
  /** Backstop check for changes by other processes, in seconds (default 1). Changes still arrive at once. */
  intervalSeconds?: number;
  /** Events older than this many days are pruned (default 30; 0 keeps everything). */
  retentionDays?: number;
  /**
   * How long a reply stays claimed by a service that stopped answering (killed, frozen) before it is tried
   * again, in seconds (default 30); renewed every third of it while the agent runs.
   */
  leaseSeconds?: number;
  /**
   * Origins (`http://localhost:5173`) whose web pages may use the API besides the service's own; default
   * `CLAUDE_COMMS_ALLOWED_ORIGINS` (comma-separated).
   */
  allowedOrigins?: readonly string[];
  /** How much memory the live streams' clients may hold (see src/server/feed.ts); tests lower them. */
  streamLimits?: Partial<StreamLimits>;
  /** Write `service.json` in the data home (default true). */
  stateFile?: boolean;
  logger?: Logger;
}

/** A running service. */
export interface Service {
  readonly url: string;
  readonly hub: Hub;
  readonly config: string;
  /** What a person starting it should know (the bundled example in use), one sentence each. */
  readonly notices: readonly string[];
  /**
   * Stops taking requests, stops the running agents and closes the hub. Their replies are handed back — to pending,
   * to run again when a service is back, resuming the agent's session — unless `cancelRunning` (then cancelled).
   * Answers the replies handed back.
   */
  close(options?: { cancelRunning?: boolean }): Promise<{ handedBack: string[] }>;
}

/** Whether `host` only accepts connections from this machine. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Syncs the modules with the configuration the service reads, and answers its path: the given file, else the data
 * home's config.yaml, else the bundled example — but only for a database whose modules never came from a config
 * file of its own. Once one did, a missing config.yaml is an error: serving the example would mark every module
 * of that file removed and fail their unanswered replies.
 */
async function applyConfig(hub: Hub, notices: string[], config?: string): Promise<string> {
  const sync = async (file: string) => {
    const { warnings } = await hub.syncConfig(file);
    notices.push(...warnings.map((w) => `warning: ${w}`));
  };
  if (config) {
    if (!existsSync(config)) throw new HubError('not_found', `configuration file ${config} does not exist`);
    await sync(config);
    return config;
  }
  const own = join(dataHome(), 'config.yaml');
  if (existsSync(own)) {
    await sync(own);
    return own;
  }
  const configured = (await hub.modules.configFiles()).filter((file) => file !== BUNDLED_EXAMPLE);
  if (configured.length) {
    const names = (await hub.modules.list()).filter((m) => m.configFile && configured.includes(m.configFile));
    throw new HubError(
      'not_found',
      `no config.yaml in ${dataHome()}, but the modules of ${hub.database} (${names.map((m) => m.name).join(', ')}) come from ${configured.join(', ')}: restore ${configured.length === 1 ? 'it' : 'them'} (or start with --config FILE); to start over from the example, run claude-comms init (those modules are then marked removed)`,
    );
  }
  notices.push(`no config.yaml in ${dataHome()}; using the bundled example (claude-comms init to make it yours)`);
  await hub.syncConfig(EXAMPLE_CONFIG, { source: BUNDLED_EXAMPLE });
  return EXAMPLE_CONFIG;
}

/** Starts the service; resolves once it listens. */
export async function startService(options: ServiceOptions = {}): Promise<Service> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 7420;
  // One service describes itself in a data home: a second would take over service.json, and remove it when it
  // stops, leaving the first running unseen by every command.
  const other = (options.stateFile ?? true) ? runningService() : undefined;
  if (other && other.pid !== process.pid)
    throw new HubError(
      'conflict',
      `a service already runs for ${dataHome()} (pid ${other.pid}) at ${other.url}: use that one, stop it first (claude-comms poll stop, or Ctrl-C where it runs), or start this one with another CLAUDE_COMMS_HOME`,
    );
  const logger =
    options.logger ??
    pino(
      { name: 'claude-comms', level: process.env.CLAUDE_COMMS_LOG_LEVEL ?? 'info' },
      // A log nobody reads any more (stderr piped into a reader that left) is dropped: the service goes on.
      pino.destination(2).on('error', () => undefined),
    );
  const allowedOrigins = (options.allowedOrigins ?? parseOriginList(process.env[ALLOWED_ORIGINS_ENV])).map(
    normalizeOrigin,
  );
  const hub = await openHub({
    ...(options.database ? { database: options.database } : {}),
    config: false,
    pollIntervalMs: (options.intervalSeconds ?? 1) * 1000,
    retentionDays: options.retentionDays,
    logger,
  });
  const requireToken = !isLoopback(host);
  let worker: Worker | undefined;
  let streams: Streams | undefined;
  let server: ReturnType<typeof serve> | undefined;
  const started = Date.now();
  let config = '';
  const notices: string[] = [];
  try {
    config = await applyConfig(hub, notices, options.config);
    if (requireToken && !(await hub.tokens.any())) {
      throw new HubError(
        'unauthorized',
        `listening on ${host} (not loopback) requires API tokens; create one first: claude-comms token create`,
      );
    }
    worker = await hub.startWorker(
      options.leaseSeconds === undefined ? {} : { leaseMs: Math.round(options.leaseSeconds * 1000) },
    );
    await hub.startHooks();
    await hub.startWorkflows();
    const api = createApi(hub, {
      logger,
      requireToken,
      allowedOrigins,
      info: () => ({
        version: VERSION,
        pid: process.pid,
        startedAt: new Date(started).toISOString(),
        uptimeMs: Date.now() - started,
        config,
        modulesServed: worker?.moduleNames ?? [],
        streams: streams?.stats(),
      }),
    });
    const root = new Hono();
    streams = mountStreams(api, hub, logger, { ...DEFAULT_STREAM_LIMITS, ...options.streamLimits });
    root.route('/api/v1', api);
    mountMcp(root, hub, { logger, requireToken, allowedOrigins });
    mountA2A(root, hub, { logger, requireToken, allowedOrigins, version: VERSION });
    const dashboard = readDashboard();
    if (dashboard) mountDashboard(root, dashboard);
    else {
      logger.warn({ dir: DASHBOARD_DIR }, 'the dashboard is not built (npm run build); / answers with text');
      root.get('/', (c) =>
        c.text(
          `claude-comms ${VERSION}\nAPI: /api/v1 (OpenAPI document: /api/v1/openapi.json)\nLive events: /api/v1/events/stream (SSE), /api/v1/ws (WebSocket)\nThe dashboard is not built: run npm run build.\n`,
        ),
      );
    }
    root.notFound((c) => problem(c, 'not_found', `no such endpoint: ${c.req.method} ${c.req.path}`));
    server = await listen(root, host, port, streams);
  } catch (err) {
    streams?.close();
    await hub.close();
    throw err;
  }
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shown}:${address.port}`;
  const state: ServiceState = {
    pid: process.pid,
    url,
    host,
    port: address.port,
    database: hub.database,
    config,
    startedAt: new Date(started).toISOString(),
    version: VERSION,
  };
  const writeState = options.stateFile ?? true;
  if (writeState) {
    mkdirSync(dirname(stateFile()), { recursive: true });
    // Written whole and renamed into place, so a reader never sees half of it.
    const partial = `${stateFile()}.${process.pid}`;
    writeFileSync(partial, `${JSON.stringify(state, null, 2)}\n`);
    renameSync(partial, stateFile());
  }

  let closing: Promise<{ handedBack: string[] }> | undefined;
  const running = server;
  const openStreams = streams;
  return {
    url,
    hub,
    config,
    notices,
    close(o = {}) {
      closing ??= (async () => {
        openStreams.close();
        await new Promise<void>((resolve) => {
          running.close(() => resolve());
          (running as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
        await hub.close({ handBack: o.cancelRunning !== true });
        if (writeState && runningService()?.pid === process.pid) rmSync(stateFile(), { force: true });
        if (readPid(pidFile()) === process.pid) rmSync(pidFile(), { force: true });
        return { handedBack: [...(worker?.handedBack ?? [])] };
      })();
      return closing;
    },
  };
}

function listen(app: Hono, host: string, port: number, streams: Streams): Promise<ReturnType<typeof serve>> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port, websocket: { server: streams.wss } }, () =>
      resolve(server),
    );
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new HubError('conflict', `port ${port} on ${host} is already in use (another claude-comms serve?)`)
          : err,
      );
    });
  });
}
