/**
 * API tokens. A token is shown once, when created; only its SHA-256 is stored. A token scoped to a module may
 * act only as that module; an unscoped one may do anything.
 */
import { createHash, randomBytes } from 'node:crypto';
import { HubError } from '../domain/errors.js';
import { assertId, newId } from '../domain/ids.js';
import { moduleName, optionalText } from '../domain/validate.js';
import type { Database } from './database.js';
import type { TokensTable } from './schema.js';

/** A token as listed (never the secret itself). */
export interface TokenInfo {
  id: string;
  module: string | null;
  label: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** Who a request is, once its token checks out. */
export interface Principal {
  tokenId: string | null;
  /** The only module it may act as; null for any. */
  module: string | null;
}

const PREFIX = 'cc_';

function hash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function fromRow(r: TokensTable): TokenInfo {
  return {
    id: r.id,
    module: r.module,
    label: r.label,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

/** Creates, checks and revokes tokens. */
export class TokenStore {
  private readonly lastUse = new Map<string, number>();

  constructor(private readonly db: Database) {}

  /** A new token (shown only in this answer), optionally scoped to `module`. */
  async create(options: { module?: string; label?: string } = {}): Promise<TokenInfo & { token: string }> {
    const module = options.module === undefined ? null : moduleName(options.module, 'module');
    const label = optionalText(options.label, 'label', 200);
    const token = PREFIX + randomBytes(32).toString('base64url');
    const row: TokensTable = {
      id: newId(),
      hash: hash(token),
      module,
      label,
      created_at: new Date().toISOString(),
      last_used_at: null,
      revoked_at: null,
    };
    await this.db.write((tx) =>
      tx.run('INSERT INTO tokens (id, hash, module, label, created_at) VALUES (?, ?, ?, ?, ?)', [
        row.id,
        row.hash,
        row.module,
        row.label,
        row.created_at,
      ]),
    );
    return { ...fromRow(row), token };
  }

  /** The principal of a presented token, or undefined when it is unknown or revoked. */
  async verify(token: string): Promise<Principal | undefined> {
    if (typeof token !== 'string' || !token.startsWith(PREFIX) || token.length > 200) return undefined;
    const row = await this.db.read.get<TokensTable>('SELECT * FROM tokens WHERE hash = ? AND revoked_at IS NULL', [
      hash(token),
    ]);
    if (!row) return undefined;
    // Note the use at most once a minute per token: a busy client must not turn every read into a write.
    const now = Date.now();
    if ((this.lastUse.get(row.id) ?? 0) < now - 60_000) {
      this.lastUse.set(row.id, now);
      await this.db
        .write((tx) => tx.run('UPDATE tokens SET last_used_at = ? WHERE id = ?', [new Date(now).toISOString(), row.id]))
        .catch(() => undefined);
    }
    return { tokenId: row.id, module: row.module };
  }

  /** Every token, newest first. */
  async list(): Promise<TokenInfo[]> {
    return (await this.db.read.all<TokensTable>('SELECT * FROM tokens ORDER BY created_at DESC, id')).map(fromRow);
  }

  /** Whether any token may be used. */
  async any(): Promise<boolean> {
    return Boolean(await this.db.read.get('SELECT id FROM tokens WHERE revoked_at IS NULL LIMIT 1'));
  }

  /** Which of the tokens `ids` may still be used (the rest are revoked or gone). */
  async active(ids: readonly string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const rows = await this.db.read.all<{ id: string }>(
      `SELECT id FROM tokens WHERE revoked_at IS NULL AND id IN (${ids.map(() => '?').join(', ')})`,
      ids,
    );
    return new Set(rows.map((r) => r.id));
  }

  /** Revokes a token (`not_found` when unknown). */
  async revoke(id: string): Promise<TokenInfo> {
    assertId(id, 'token id');
    return this.db.write(async (tx) => {
      const row = await tx.get<TokensTable>(
        'UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? RETURNING *',
        [new Date().toISOString(), id],
      );
      if (!row) throw new HubError('not_found', `no token with id ${id}`);
      return fromRow(row);
    });
  }
}
