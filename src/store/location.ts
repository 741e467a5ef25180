/**
 * Reading database URLs without loading a driver: which backend a URL names, the file of a SQLite one, and a
 * URL fit to show (its password masked).
 */

/** Whether `url` names a PostgreSQL database (`postgres://…` or `postgresql://…`). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/** The path a `sqlite:PATH` URL names (`sqlite:///abs` is `/abs`); anything else is taken as a path already. */
export function sqlitePath(url: string): string {
  return url.startsWith('sqlite:') ? url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '') : url;
}

/**
 * Query parameters that carry secrets: node-postgres reads a password (`?password=`), a client key's passphrase
 * and the key itself from the query as well as from the URL's user part.
 */
const SECRET_PARAMS = /pass|secret|key|token/i;

/** The URL with its password (in the user part or the query), if any, masked as `***`; undefined when it does not parse. */
export function maskPassword(url: string): string | undefined {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const name of [...u.searchParams.keys()]) if (SECRET_PARAMS.test(name)) u.searchParams.set(name, '***');
    return u.toString();
  } catch {
    return undefined;
  }
}
