/**
 * When a watch fires, and how long it waits before trying a failed delivery again. Pure: the runner feeds it
 * events from the log and failure counts from the store.
 */
import { isStatus, isTerminal, type Status } from '../domain/status.js';
import type { HubEvent } from '../domain/types.js';
import type { WatchEvent } from '../domain/watch-events.js';

/**
 * The log events a watch reads. Only replies change status (a question is stored `complete`), so a module
 * watch follows that module's replies and not the questions it asks.
 */
export const WATCHED_TYPES: readonly string[] = ['message.status_changed'];

/** The status an event moved its message to, if it is a status change. */
function reached(event: HubEvent): Status | undefined {
  return event.type === 'message.status_changed' && isStatus(event.data.to) ? event.data.to : undefined;
}

/** True when a watch firing on `on` reports `event`. */
export function fires(on: readonly WatchEvent[], event: HubEvent): boolean {
  const to = reached(event);
  return to !== undefined && (on.includes('status') || (on as readonly string[]).includes(to));
}

/** True when `event` finished its message: after it, a message watch has nothing left to report. */
export function finishes(event: HubEvent): boolean {
  const to = reached(event);
  return to !== undefined && isTerminal(to);
}

/** Retry timing of a failing delivery. */
export interface RetryPolicy {
  /** Attempts before a delivery is given up. */
  maxAttempts: number;
  /** Wait after the first failure, doubled after each further one… */
  baseMs: number;
  /** …up to this. */
  maxMs: number;
}

/**
 * The wait before the next attempt after `failures` failed ones. With the defaults (1 s doubling, capped at
 * 5 min, 10 attempts) the waits are 1, 2, 4, 8, 16, 32, 64, 128 and 256 s: a delivery is given up about 8.5
 * minutes after its first failure, long enough to ride out a receiver's restart or deploy.
 */
export function retryDelay(failures: number, policy: RetryPolicy): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, failures - 1));
}
