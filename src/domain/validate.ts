/** Small input checks that name the field and the problem, so bad input never reaches the database. */
import { HubError } from './errors.js';

/** A required (or, with `optional`, nullable) string of at most `max` characters, not blank. */
export function text(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string') throw new HubError('validation', `${field} must be a string, got ${typeName(value)}`);
  if (value.trim() === '') throw new HubError('validation', `${field} must not be empty`);
  if (value.length > max) {
    throw new HubError('too_large', `${field} is ${value.length} characters long; the limit is ${max}`);
  }
  return value;
}

/** Like `text`, but undefined and null give null. */
export function optionalText(value: unknown, field: string, max: number): string | null {
  return value === undefined || value === null ? null : text(value, field, max);
}

/** A number within [min, max]; integers only when `integer` is set. */
export function number(value: unknown, field: string, min: number, max: number, integer = false): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new HubError('validation', `${field} must be a number, got ${typeName(value)}`);
  }
  if (integer && !Number.isInteger(value))
    throw new HubError('validation', `${field} must be a whole number, got ${value}`);
  if (value < min || value > max)
    throw new HubError('validation', `${field} must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** One of the allowed strings. */
export function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new HubError('validation', `${field} must be one of ${allowed.join(', ')}, got ${typeName(value)}`);
}

/** A module name: letters, digits, `-`, `_` and `.`, starting with a letter or digit, at most 64 long. */
export function moduleName(value: unknown, field = 'module'): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(value)) {
    throw new HubError(
      'validation',
      `${field} must be a module name (letters, digits, '.', '_' or '-', at most 64), got ${typeName(value)}`,
    );
  }
  return value;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value.length > 60 ? `${value.slice(0, 60)}…` : value}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return Array.isArray(value) ? 'an array' : typeof value;
}
