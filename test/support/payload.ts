import type { HubEvent } from '../../src/index.js';

/** An event's data read field by field, whatever its type (tests and benchmarks that look at one field). */
export function payload(event: HubEvent): Record<string, unknown>;
export function payload(event: HubEvent | undefined): Record<string, unknown> | undefined;
export function payload(event: HubEvent | undefined): Record<string, unknown> | undefined {
  return event?.data as Record<string, unknown> | undefined;
}
