/**
 * The scale section's service, in a child process of its own (bench/scale.ts): its CPU and memory are its own,
 * and it runs the compiled JavaScript as in production. Serves `DATABASE` on `PORT` until the parent says stop.
 */
import pino from 'pino';
import { startService } from '../src/service/service.js';
import { heard, isMain, tell } from './support.js';

if (isMain(import.meta.url)) {
  const [database, config, port, retentionDays] = process.argv.slice(2);
  if (!database || !config || !port || !retentionDays) {
    throw new Error('usage: scale-service.ts DATABASE CONFIG PORT RETENTION_DAYS');
  }
  const service = await startService({
    host: '127.0.0.1',
    port: Number(port),
    database,
    config,
    stateFile: false,
    retentionDays: Number(retentionDays),
    logger: pino({ level: 'warn' }, pino.destination(2)),
  });
  tell({ pid: process.pid });
  await heard();
  await service.close();
}
