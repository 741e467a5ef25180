/**
 * Migration 15's tables: the exchange schemas and query templates (store/schemas.ts, store/templates.ts), and a
 * structured reply's value and checking on `messages`. The schemas and templates that come with claude-comms
 * (exchange/builtins.ts) are published by the migration, owned by no module.
 */
import type { CompiledQuery, Kysely } from 'kysely';
import { BUNDLED_SCHEMAS, BUNDLED_TEMPLATES } from '../exchange/builtins.js';
import type { SqlClient } from './database.js';
import type { Dialect, Schema } from './schema.js';
import { schemaHash } from './schemas.js';
import { templateHash } from './templates.js';

type Statement = { compile(): CompiledQuery };
const text = 'text' as const;

export function exchangeTables(db: Kysely<Schema>): Statement[] {
  return [
    db.schema
      .createTable('schemas')
      .addColumn('name', text, (c) => c.notNull())
      .addColumn('version', text, (c) => c.notNull())
      .addColumn('body', text, (c) => c.notNull())
      .addColumn('description', text, (c) => c.notNull().defaultTo(''))
      .addColumn('owner', text)
      .addColumn('compatibility', text, (c) => c.notNull())
      .addColumn('hash', text, (c) => c.notNull())
      .addColumn('created_at', text, (c) => c.notNull())
      .addPrimaryKeyConstraint('schemas_pk', ['name', 'version']),
    db.schema
      .createTable('query_templates')
      .addColumn('name', text, (c) => c.notNull())
      .addColumn('version', text, (c) => c.notNull())
      .addColumn('description', text, (c) => c.notNull().defaultTo(''))
      .addColumn('params', text, (c) => c.notNull())
      .addColumn('prompt', text, (c) => c.notNull())
      .addColumn('answer_schema', text, (c) => c.notNull())
      .addColumn('owner', text)
      .addColumn('hash', text, (c) => c.notNull())
      .addColumn('created_at', text, (c) => c.notNull())
      .addPrimaryKeyConstraint('query_templates_pk', ['name', 'version']),
    db.schema.alterTable('messages').addColumn('value', text),
    db.schema.alterTable('messages').addColumn('validation', text),
  ];
}

/** Publishes the bundled schemas and templates (exchange/builtins.ts), as their stores would write them. */
export async function publishBundled(_dialect: Dialect, tx: SqlClient): Promise<void> {
  const at = new Date().toISOString();
  for (const s of BUNDLED_SCHEMAS) {
    const version = { ...s, owner: null };
    await tx.run(
      'INSERT INTO schemas (name, version, body, description, owner, compatibility, hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      [s.name, s.version, JSON.stringify(s.body), s.description, null, s.compatibility, schemaHash(version), at],
    );
  }
  for (const t of BUNDLED_TEMPLATES) {
    const version = { ...t, owner: null };
    await tx.run(
      'INSERT INTO query_templates (name, version, description, params, prompt, answer_schema, owner, hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      [
        t.name,
        t.version,
        t.description,
        JSON.stringify(t.params),
        t.prompt,
        t.answerSchema,
        null,
        templateHash(version),
        at,
      ],
    );
  }
}
