/**
 * The hub as an A2A server, independent of HTTP: the request handler (the SDK's, with the hub's ask before it),
 * the v1.0 and v0.3 JSON-RPC transport handlers over it, and the card. server/a2a-route.ts puts them behind the
 * API's checks.
 */
import type { AgentCard } from '@a2a-js/sdk';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import { JsonRpcTransportHandler } from '@a2a-js/sdk/server';
import type { Logger } from 'pino';
import type { Hub } from '../hub.js';
import { agentCard, type CardOptions } from './card.js';
import { HubExecutor } from './executor.js';
import { HubPushStore } from './push.js';
import { HubRequestHandler } from './request-handler.js';

/** The v0.3 JSON-RPC method names, answered through the SDK's compatibility layer. */
export const LEGACY_METHODS: ReadonlySet<string> = new Set([
  'message/send',
  'message/stream',
  'tasks/get',
  'tasks/cancel',
  'tasks/resubscribe',
  'tasks/pushNotificationConfig/set',
  'tasks/pushNotificationConfig/get',
  'tasks/pushNotificationConfig/list',
  'tasks/pushNotificationConfig/delete',
  'agent/getAuthenticatedExtendedCard',
]);

/** The methods whose stream goes on being read (so the task's events are stored) after the caller hangs up. */
export const SENDING_STREAMS: ReadonlySet<string> = new Set(['SendStreamingMessage', 'message/stream']);

/** The hub's A2A server. */
export interface A2AServer {
  /** v1.0 method names. */
  readonly jsonRpc: JsonRpcTransportHandler;
  /** v0.3 method names. */
  readonly legacy: LegacyJsonRpcTransportHandler;
  /** The card as a caller reaching `options.endpoint` sees it: the modules now. */
  card(options: CardOptions): Promise<AgentCard>;
}

/** The A2A server of `hub`; `version` is the hub's. */
export function createA2AServer(hub: Hub, logger: Logger, version: string): A2AServer {
  // The SDK's handler reads its card for capabilities only: the served card is made per request (card()).
  const base = agentCard([], { endpoint: 'http://127.0.0.1/a2a', version, requireToken: false });
  const push = new HubPushStore(hub, hub.a2aTasks);
  const handler = new HubRequestHandler(hub, hub.a2aTasks, new HubExecutor(hub, logger), base, push);
  return {
    jsonRpc: new JsonRpcTransportHandler(handler),
    legacy: new LegacyJsonRpcTransportHandler(handler),
    card: async (options) => agentCard(await hub.modules.list(), options),
  };
}
