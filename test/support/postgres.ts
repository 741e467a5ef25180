// Throwaway PostgreSQL clusters for tests: initdb into a temp dir, start on a
// free loopback port with durability switched off, tear everything down after.
import { execFile as execFileCb } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const execFile = promisify(execFileCb);

export interface PostgresCluster {
  /** Superuser URL of the `postgres` database, e.g. postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  dataDir: string;
  /** Immediate shutdown, then removes the temp dir. Safe to call more than once. */
  stop(): Promise<void>;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function hasPostgresTools(dir: string): boolean {
  return isExecutable(path.join(dir, 'initdb')) && isExecutable(path.join(dir, 'pg_ctl'));
}

/** Directory holding both `initdb` and `pg_ctl`, or undefined if PostgreSQL is not installed. */
export function findPostgresBin(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const initdb = path.join(dir, 'initdb');
    if (!isExecutable(initdb)) continue;
    // /usr/local/bin/initdb is often a symlink into the real bin dir; prefer that
    // dir, which is where pg_ctl (and the postgres binary it execs) really live.
    try {
      const realDir = path.dirname(realpathSync(initdb));
      if (hasPostgresTools(realDir)) return realDir;
    } catch {
      // dangling symlink: fall through to the PATH dir itself
    }
    if (hasPostgresTools(dir)) return dir;
  }
  // Debian/Ubuntu keep server binaries off PATH, one dir per major version.
  const root = '/usr/lib/postgresql';
  let versions: string[];
  try {
    versions = readdirSync(root);
  } catch {
    return undefined;
  }
  versions = versions.filter((v) => /^\d+(\.\d+)?$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const dir = path.join(root, v, 'bin');
    if (hasPostgresTools(dir)) return dir;
  }
  return undefined;
}

/** Ask the kernel for a free loopback port. Racy by nature; startPostgres retries on bind failure. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not determine a free port'))));
    });
  });
}

async function logTail(logFile: string, lines = 30): Promise<string> {
  try {
    return (await readFile(logFile, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no server log)';
  }
}

/** Quote for the shell that pg_ctl runs `postgres <-o options>` through. */
function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

async function waitForConnection(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      await client.end().catch(() => {});
    }
  }
}

export async function startPostgres(opts: { port?: number } = {}): Promise<PostgresCluster> {
  const bin = findPostgresBin();
  if (!bin) {
    throw new Error('PostgreSQL binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin');
  }
  // Keep the path short: the Unix socket (<dir>/.s.PGSQL.PORT) must fit in ~107 bytes.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pgtest-'));
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'log');
  // initdb and postgres refuse to run as root, so hand the dir to `postgres` and run as that user.
  const asRoot = process.getuid?.() === 0;

  const run = async (tool: string, args: string[]): Promise<void> => {
    const cmd = path.join(bin, tool);
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
    try {
      // cwd = dir so the postgres user never needs access to the caller's cwd.
      await execFile(file, argv, { cwd: dir, timeout: 120_000 });
    } catch (err) {
      const e = err as Error & { stdout?: string; stderr?: string; code?: unknown };
      const output = [e.stderr, e.stdout]
        .map((s) => s?.trim())
        .filter(Boolean)
        .join('\n');
      throw new Error(
        `${[file, ...argv].join(' ')} failed (${e.code ?? e.message}):\n${output || e.message}\n` +
          `--- tail of ${logFile} ---\n${await logTail(logFile)}`,
        { cause: err },
      );
    }
  };

  let port = 0;
  const killOnExit = (): void => {
    // Backstop for failed starts and for test processes that die without calling stop():
    // SIGQUIT makes the postmaster do an immediate shutdown (it also ends its backends).
    try {
      const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(pid, 'SIGQUIT');
    } catch {
      // no pid file or process already gone
    }
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
    } catch {}
  };

  try {
    if (asRoot) await execFile('chown', ['postgres:', dir]);
    await run('initdb', [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      // Don't depend on which locales the machine has generated; also makes collation deterministic.
      '--locale=C',
      '--no-sync',
    ]);

    // The free port can be taken between probing and binding: retry a few times unless pinned.
    for (let attempt = 1; ; attempt++) {
      port = opts.port ?? (await freePort());
      const serverOpts = [
        `-p ${port}`,
        `-k ${shellQuote(dir)}`,
        '-c listen_addresses=127.0.0.1',
        '-c fsync=off',
        '-c max_connections=200',
        '-c shared_buffers=64MB',
      ].join(' ');
      try {
        await run('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', serverOpts, 'start']);
        break;
      } catch (err) {
        const portInUse = /could not (bind|create listen socket)|address already in use/i.test(
          await logTail(logFile, 10),
        );
        if (opts.port !== undefined || attempt >= 3 || !portInUse) throw err;
      }
    }
    process.once('exit', killOnExit);

    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    // pg_ctl -w already waited for "ready"; this also proves TCP + auth work.
    await waitForConnection(url);

    let stopped = false;
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', killOnExit);
      try {
        await run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } catch (err) {
        killOnExit();
        throw err;
      }
      await rm(dir, { recursive: true, force: true, maxRetries: 5 });
    };
    return { url, port, dataDir, stop };
  } catch (err) {
    process.removeListener('exit', killOnExit);
    killOnExit();
    throw err;
  }
}

/** CREATE DATABASE a fresh, uniquely named database and return its URL. */
export async function createDatabase(adminUrl: string, name = `t_${randomBytes(8).toString('hex')}`): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

/**
 * Makes the database at `databaseUrl` refuse writes (`on`) or take them again: sets its
 * default_transaction_read_only and ends its sessions, since a session takes the setting when it starts (pools
 * then open new ones).
 */
export async function setReadOnly(adminUrl: string, databaseUrl: string, on: boolean): Promise<void> {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`ALTER DATABASE ${quoteIdent(name)} SET default_transaction_read_only = ${on ? 'on' : 'off'}`);
    await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
  } finally {
    await client.end();
  }
}
