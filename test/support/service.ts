// A real service for tests that write to the hub themselves: loopback, a free port, a config.yaml without
// modules, no state file, a quiet logger.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Service, type ServiceOptions, startService } from '../../src/service/service.js';
import { memoryLogger } from './backends.js';

/** Starts a service on `database` (`options` override the defaults); the caller closes it. */
export async function startBareService(database: string, options: Partial<ServiceOptions> = {}): Promise<Service> {
  const config = join(mkdtempSync(join(tmpdir(), 'cc-service-')), 'config.yaml');
  writeFileSync(config, 'modules: {}\n');
  return startService({
    host: '127.0.0.1',
    port: 0,
    database,
    config,
    stateFile: false,
    logger: memoryLogger().logger,
    ...options,
  });
}
