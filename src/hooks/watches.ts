/**
 * Watches: which replies a hook follows (a message, a thread's, a module's), on which statuses it fires, and
 * what it runs (a command, a webhook). Creating and removing one writes a `watch.created` / `watch.removed`
 * event, so running hooks in any process pick the change up at once. Where a new watch starts reading the log:
 * store/watches.ts.
 *
 * A watch created by a module token belongs to that module (`createdBy`): it may only follow what the module
 * may see (store/visibility.ts) and its own replies, never run a command, and only call a public webhook
 * address unless the hub allows private ones (webhook-target.ts). Only that module's token sees and removes it.
 */
import { randomBytes } from 'node:crypto';
import { HubError } from '../domain/errors.js';
import { assertId } from '../domain/ids.js';
import type { CreateWatchInput } from '../domain/inputs.js';
import { list, moduleName, oneOf, text } from '../domain/validate.js';
import { DEFAULT_WATCH_EVENTS, WATCH_EVENTS, type WatchEvent } from '../domain/watch-events.js';
import type { A2APushTarget } from '../exchange/a2a-push.js';
import type { Visibility } from '../store/visibility.js';
import type { Watch, WatchRecords } from '../store/watches.js';
import { vetWebhookHost } from './webhook-target.js';

export type { CreateWatchInput } from '../domain/inputs.js';

/** Checks a webhook address: an absolute http or https URL. */
function webhookUrl(value: unknown): string {
  const raw = text(value, 'webhook', 2048);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new HubError('validation', `webhook must be an http(s) URL, got '${raw.slice(0, 80)}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HubError('validation', `webhook must be an http(s) URL, got a ${url.protocol} URL`);
  }
  return raw;
}

function watchEvents(value: unknown): WatchEvent[] {
  if (value === undefined) return [...DEFAULT_WATCH_EVENTS];
  const chosen = list(value, 'on', WATCH_EVENTS.length, (v, field) => oneOf(v, field, WATCH_EVENTS));
  if (chosen.length === 0) throw new HubError('validation', `on must name at least one of ${WATCH_EVENTS.join(', ')}`);
  return [...new Set(chosen)];
}

/** How watches are checked. */
export interface WatchSettings {
  /** Watches created by module tokens may call loopback, private and link-local webhook addresses. */
  allowPrivateWebhooks: boolean;
}

export type { Watch };

/** Creates, lists and removes watches, by the rules at the top of this file. */
export class WatchStore {
  constructor(
    private readonly records: WatchRecords,
    private readonly visibility: Visibility,
    private readonly settings: WatchSettings,
  ) {}

  /**
   * Creates a watch (event `watch.created`). `validation` names what is missing or malformed; `not_found` an
   * unknown message, thread or module. A webhook watch's answer carries its `secret`, shown this once.
   * `createdBy`: the module of the token asking; it may not watch what it may not see (`not_found`, as if there
   * were none), another module's replies, run a command, or call a non-public address (`forbidden`).
   */
  async create(
    input: CreateWatchInput,
    createdBy: string | null = null,
    options: { a2aPush?: A2APushTarget } = {},
  ): Promise<Watch> {
    if (typeof input !== 'object' || input === null) throw new HubError('validation', 'a watch must be an object');
    const { messageId, threadId } = input;
    if (messageId !== undefined) assertId(messageId, 'message id');
    if (threadId !== undefined) assertId(threadId, 'thread id');
    const module = input.module === undefined ? undefined : moduleName(input.module, 'module');
    if (messageId === undefined && threadId === undefined && module === undefined) {
      throw new HubError('validation', 'a watch needs a target: messageId, threadId or module');
    }
    const on = watchEvents(input.on);
    const command = input.command === undefined ? undefined : text(input.command, 'command', 10_000);
    const webhook = input.webhook === undefined ? undefined : webhookUrl(input.webhook);
    if (command === undefined && webhook === undefined) {
      throw new HubError('validation', 'a watch needs an action: command or webhook');
    }
    if (createdBy !== null) await this.assertMayCreate(createdBy, { messageId, threadId, module, command, webhook });
    const secret = webhook === undefined ? null : randomBytes(32).toString('hex');
    const { a2aPush } = options;
    if (a2aPush && (webhook === undefined || command !== undefined)) {
      throw new HubError('validation', 'an A2A push config is delivered by a webhook only');
    }
    return this.records.create({ messageId, threadId, module, on, command, webhook, secret, createdBy, a2aPush });
  }

  /**
   * Checks a webhook address by the rules `create` applies to a watch of `createdBy` (an http(s) URL; for a module
   * token, a public address unless private ones are allowed), without creating anything: `validation` or
   * `forbidden` naming why. The A2A server checks a push config this way before asking its message.
   */
  async checkWebhook(url: unknown, createdBy: string | null): Promise<void> {
    const webhook = webhookUrl(url);
    if (createdBy !== null && !this.settings.allowPrivateWebhooks) await vetWebhookHost(webhook);
  }

  /**
   * Live watches (with `all`, removed ones too), oldest first; with `createdBy`, only that module's. Secrets are
   * never listed.
   */
  list(options: { all?: boolean; createdBy?: string } = {}): Promise<Watch[]> {
    return this.records.list(options);
  }

  /** The watch, removed or not, or `not_found` (also when `createdBy` is given and did not create it). */
  async get(id: string, createdBy?: string): Promise<Watch> {
    const watch = await this.records.get(id);
    if (!watch || (createdBy !== undefined && watch.createdBy !== createdBy)) {
      throw new HubError('not_found', `no watch with id ${id}`);
    }
    return watch;
  }

  /**
   * Removes a watch (event `watch.removed`): it fires no more, and a delivery of it in progress is stopped.
   * Removing a removed watch changes nothing; an unknown one (or, with `createdBy`, another's) is `not_found`.
   */
  async remove(id: string, createdBy?: string): Promise<Watch> {
    await this.get(id, createdBy);
    const removed = await this.records.remove({ id });
    return removed[0] ?? this.get(id);
  }

  /**
   * Removes every live watch of a message (with `createdBy`, only that module's); answers those removed (none
   * when it had none).
   */
  removeForMessage(messageId: string, createdBy?: string): Promise<Watch[]> {
    assertId(messageId, 'message id');
    return this.records.remove({ messageId, ...(createdBy === undefined ? {} : { createdBy }) });
  }

  /** What a module token may not make a watch do (see the top of this file). */
  private async assertMayCreate(
    module: string,
    w: { messageId?: string; threadId?: string; module?: string; command?: string; webhook?: string },
  ): Promise<void> {
    if (w.command !== undefined) {
      throw new HubError('forbidden', `a token scoped to module ${module} cannot add a watch running a command`);
    }
    if (w.module !== undefined && w.module !== module) {
      throw new HubError(
        'forbidden',
        `a token scoped to module ${module} may watch only its own replies, not those of ${w.module}`,
      );
    }
    if (w.threadId !== undefined && !(await this.visibility.thread(module, w.threadId))) {
      throw new HubError('not_found', `no thread with id ${w.threadId}`);
    }
    if (w.messageId !== undefined && !(await this.visibility.message(module, w.messageId))) {
      throw new HubError('not_found', `no message with id ${w.messageId}`);
    }
    if (w.webhook !== undefined && !this.settings.allowPrivateWebhooks) await vetWebhookHost(w.webhook);
  }
}
