/**
 * Names and versions of exchange schemas and query templates: `pdf-requirements@1.2.0`. Pure.
 */
import { createRequire } from 'node:module';
import { HubError } from './errors.js';

/** semver, loaded on first use (a hub that compares no versions does not hold it). */
let semverModule: typeof import('semver') | undefined;
function semverLib(): typeof import('semver') {
  semverModule ??= createRequire(import.meta.url)('semver') as typeof import('semver');
  return semverModule;
}

/** A name: lower-case letters, digits and `.`, `_`, `-`, starting with a letter; at most 100 characters. */
const NAME = /^[a-z][a-z0-9._-]{0,99}$/;
/** A semantic version without build metadata: `1.2.0`, `2.0.0-beta.1`. */
const VERSION = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

export interface SchemaRef {
  name: string;
  /** Absent: the latest version. */
  version?: string;
}

export function checkName(name: unknown, what = 'name'): string {
  if (typeof name !== 'string' || !NAME.test(name))
    throw new HubError(
      'validation',
      `${what} must be lower-case letters, digits, '.', '_' or '-', starting with a letter (at most 100): got ${JSON.stringify(name)}`,
    );
  return name;
}

export function checkVersion(version: unknown, what = 'version'): string {
  if (typeof version !== 'string' || !VERSION.test(version) || semverLib().valid(version) !== version)
    throw new HubError(
      'validation',
      `${what} must be a semantic version like 1.2.0 (or 2.0.0-beta.1): got ${JSON.stringify(version)}`,
    );
  return version;
}

/** `name@version` or `name` (the latest), checked. */
export function parseRef(ref: unknown, what = 'schema'): SchemaRef {
  if (typeof ref !== 'string' || ref.length === 0)
    throw new HubError('validation', `${what} must be NAME or NAME@VERSION, e.g. pdf-requirements@1.0.0`);
  const at = ref.lastIndexOf('@');
  if (at <= 0) return { name: checkName(ref, `${what} name`) };
  return {
    name: checkName(ref.slice(0, at), `${what} name`),
    version: checkVersion(ref.slice(at + 1), `${what} version`),
  };
}

export function formatRef(ref: { name: string; version: string }): string {
  return `${ref.name}@${ref.version}`;
}

/** Orders two versions as semantic versioning does (a pre-release comes before its release). */
export function compareVersions(a: string, b: string): number {
  return semverLib().compare(a, b);
}
