/**
 * Capabilities as callers name them: the one matching rule that `GET /modules?capability=`, the `modules
 * --capability` command and capability routing (registry/routing.ts) share, and the message naming a capability
 * no module declares. Pure.
 *
 * The rule: exact after trimming both sides. Case matters (`PDF` is not `pdf`), as module names' does; a case-only
 * slip is still caught, since the "did you mean" of `unknownCapabilityMessage` ignores case.
 */
import { closestName } from './suggest.js';
import { text } from './validate.js';

/** The longest capability a caller may name (declared ones are short words; see docs/guide.md, Configuration). */
export const MAX_CAPABILITY_LENGTH = 200;

/** The declared capabilities an unknown-capability message lists, at most. */
const LISTED = 50;

/** A capability asked for, trimmed: `validation` when it is not a string or is blank, `too_large` past 200. */
export function capabilityName(value: unknown, field = 'capability'): string {
  return text(value, field, MAX_CAPABILITY_LENGTH).trim();
}

/** Whether `declared` (a module's `capabilities`) holds `capability` (trimmed, see `capabilityName`). */
export function declaresCapability(declared: readonly string[], capability: string): boolean {
  return declared.some((c) => c.trim() === capability);
}

/** Every capability in `lists` (one per module), trimmed, once each, in code-unit order. */
export function declaredCapabilities(lists: readonly (readonly string[])[]): string[] {
  return [...new Set(lists.flat().map((c) => c.trim()))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * `no module declares the capability "pdff" (did you mean "pdf"? declared: graph, pdf, tables)`: what a caller
 * needs to see a typo, with every capability that is declared (up to 50).
 */
export function unknownCapabilityMessage(capability: string, declared: readonly string[]): string {
  const close = closestName(capability, declared);
  const listed = declared.length
    ? `declared: ${declared.slice(0, LISTED).join(', ')}${declared.length > LISTED ? ', …' : ''}`
    : 'no module declares any capability';
  return `no module declares the capability "${capability}" (${close ? `did you mean "${close}"? ` : ''}${listed})`;
}
