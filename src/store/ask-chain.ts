/**
 * Asks made from inside an answer: an agent answering a reply asks another module (through the hub's MCP tools,
 * which pass the reply it answers as `via`). Each such reply keeps the reply it was asked from and who asked it, so
 * the hub can follow the chain back before asking: a question to a module already waiting up the chain (A asks B,
 * B's agent asks A) would wait on its own asker, and a chain deeper than the limit is more likely a runaway than
 * work. Both are refused with `conflict` and the chain spelled out, instead of leaving the asks to time out.
 */
import { type CompiledQuery, type Kysely, sql } from 'kysely';
import { HubError } from '../domain/errors.js';
import { assertId } from '../domain/ids.js';
import type { SqlClient, WriteTx } from './database.js';
import type { Schema } from './schema.js';

/** How many asks may nest: a question asked from an answer to a question asked from an answer… (A → B → C → D → E). */
export const MAX_ASK_DEPTH = 4;

type Statement = { compile(): CompiledQuery };

/** Migration 18: a reply's `via` (the reply whose run asked it) and `asker` (the module that asked it). */
export function askChainColumns(db: Kysely<Schema>): Statement[] {
  return [
    db.schema.alterTable('messages').addColumn('via', sql`text`),
    db.schema.alterTable('messages').addColumn('asker', sql`text`),
  ];
}

/** One link of an ask chain: the module answering a reply, and who asked it (null before migration 18). */
interface Link {
  author: string;
  asker: string | null;
}

/**
 * The links above an ask made from inside the answer `via`, nearest first (at most one more than the depth limit):
 * `not_found` for no such reply, `validation` when `via` is not a reply of `from`.
 */
async function readChain(client: SqlClient, via: string, from: string): Promise<Link[]> {
  assertId(via, 'via');
  const links: Link[] = [];
  let next: string | null = via;
  while (next !== null && links.length <= MAX_ASK_DEPTH) {
    const row: { role: string; author: string; asker: string | null; via: string | null } | undefined =
      await client.get('SELECT role, author, asker, via FROM messages WHERE id = ?', [next]);
    if (!row) {
      if (links.length === 0) throw new HubError('not_found', `via: no reply with id ${via}`);
      break;
    }
    if (links.length === 0) {
      if (row.role !== 'assistant') throw new HubError('validation', `via: message ${via} is not a reply`);
      if (row.author !== from)
        throw new HubError(
          'validation',
          `via: reply ${via} is module ${row.author}'s answer, but this ask is from ${from}; an ask made from inside an answer is from the module answering`,
        );
    }
    links.push({ author: row.author, asker: row.asker });
    next = row.via;
  }
  return links;
}

/** The modules waiting up the chain of an ask from `from` made inside the answer `via` (routing passes them over). */
export async function waitingUpChain(client: SqlClient, via: string, from: string): Promise<Set<string>> {
  return waitingIn(await readChain(client, via, from));
}

function waitingIn(links: readonly Link[]): Set<string> {
  return new Set(links.flatMap((l) => (l.asker === null ? [l.author] : [l.author, l.asker])));
}

/**
 * Checks an ask from `from` to `to` made from inside the answer `via`, in the ask's transaction: `not_found` for
 * no such reply, `validation` when `via` is not `from`'s reply, `conflict` for a loop or a chain too deep.
 */
export async function checkAskChain(tx: WriteTx, via: string, from: string, to: string): Promise<void> {
  const links = await readChain(tx, via, from);
  // The chain from its first asker to this ask: A → B (A asked B), then B → C from inside B's answer, …
  const path: string[] = [];
  for (const link of [...links].reverse()) {
    if (path.length === 0 && link.asker !== null) path.push(link.asker);
    path.push(link.author);
  }
  const shown = [...path, to].join(' → ');
  const waiting = waitingIn(links);
  if (waiting.has(to)) {
    throw new HubError(
      'conflict',
      `asking ${to} would wait on its own asker (${shown}): ${to} is already waiting for an answer up this chain. Answer with what you have, or say what you need from ${to} in your answer`,
      { details: { chain: [...path, to] } },
    );
  }
  if (links.length >= MAX_ASK_DEPTH) {
    throw new HubError(
      'conflict',
      `asks may nest at most ${MAX_ASK_DEPTH} deep, and this one would be deeper (${shown}); answer with what you have`,
      { details: { chain: [...path, to] } },
    );
  }
}
