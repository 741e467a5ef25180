/**
 * The service as the HTTP and DOM benchmarks run it. Apart from support.ts because the idle benchmarks' children
 * import support.ts, and the RSS they report must not include the HTTP stack this loads.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { type Service, startService } from '../src/service/service.js';
import { scratch } from './support.js';

/**
 * Parent side: a config.yaml with no modules (without one, the service would start the data home's or the
 * bundled example's). Written by the parent, in its scratch directory, which it removes at the end.
 */
export function noModulesConfig(): string {
  const config = join(scratch(), 'no-modules.yaml');
  writeFileSync(config, 'modules: {}\n');
  return config;
}

/** A service on 127.0.0.1 and a free port, without a state file; it logs warnings to stderr unless told otherwise. */
export function startBenchService(
  database: string,
  config: string,
  logger: Logger = pino({ level: 'warn' }, pino.destination(2)),
): Promise<Service> {
  return startService({ host: '127.0.0.1', port: 0, database, config, stateFile: false, logger });
}
