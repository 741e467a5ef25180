/**
 * Migration 16's tables: named workflow definitions, runs (each with the definition it started with), and each
 * run's steps with their attempts, outputs and leases (store/workflow-runs.ts); migration 17's: a step's detail
 * and the items of `forEach` steps (store/step-items.ts).
 */
import { type CompiledQuery, type Kysely, sql } from 'kysely';
import type { Schema } from './schema.js';

type Statement = { compile(): CompiledQuery };
const text = 'text' as const;

export function workflowTables(db: Kysely<Schema>): Statement[] {
  return [
    db.schema
      .createTable('workflows')
      .addColumn('name', text, (c) => c.primaryKey())
      .addColumn('definition', text, (c) => c.notNull())
      .addColumn('hash', text, (c) => c.notNull())
      .addColumn('created_by', text)
      .addColumn('created_at', text, (c) => c.notNull())
      .addColumn('updated_at', text, (c) => c.notNull()),
    db.schema
      .createTable('workflow_runs')
      .addColumn('id', text, (c) => c.primaryKey())
      .addColumn('workflow', text, (c) => c.notNull())
      .addColumn('definition', text, (c) => c.notNull())
      .addColumn('hash', text, (c) => c.notNull())
      .addColumn('inputs', text, (c) => c.notNull())
      .addColumn('status', text, (c) => c.notNull())
      .addColumn('output', text)
      .addColumn('error', text)
      .addColumn('cost_usd', 'double precision', (c) => c.notNull().defaultTo(0))
      .addColumn('created_by', text)
      .addColumn('created_at', text, (c) => c.notNull())
      .addColumn('started_at', text)
      .addColumn('completed_at', text)
      .addColumn('updated_at', text, (c) => c.notNull()),
    db.schema.createIndex('workflow_runs_status').on('workflow_runs').columns(['status', 'id']),
    db.schema
      .createTable('step_runs')
      .addColumn('run_id', text, (c) => c.notNull())
      .addColumn('step_id', text, (c) => c.notNull())
      .addColumn('kind', text, (c) => c.notNull())
      .addColumn('status', text, (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('output', text)
      .addColumn('error', text)
      .addColumn('reason', text)
      .addColumn('task_id', text)
      .addColumn('message_id', text)
      .addColumn('cost_usd', 'double precision', (c) => c.notNull().defaultTo(0))
      .addColumn('not_before', text)
      .addColumn('started_at', text)
      .addColumn('completed_at', text)
      .addColumn('updated_at', text, (c) => c.notNull())
      .addPrimaryKeyConstraint('step_runs_pk', ['run_id', 'step_id']),
    // An ask step is found from its reply's events.
    db.schema
      .createIndex('step_runs_message')
      .on('step_runs')
      .column('message_id')
      .where(sql<boolean>`message_id is not null`),
  ];
}

export function workflowFlowTables(db: Kysely<Schema>): Statement[] {
  return [
    db.schema.alterTable('step_runs').addColumn('detail', text),
    db.schema
      .createTable('step_items')
      .addColumn('run_id', text, (c) => c.notNull())
      .addColumn('step_id', text, (c) => c.notNull())
      .addColumn('idx', 'integer', (c) => c.notNull())
      .addColumn('status', text, (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('input', text, (c) => c.notNull())
      .addColumn('output', text)
      .addColumn('error', text)
      .addColumn('reason', text)
      .addColumn('message_id', text)
      .addColumn('cost_usd', 'double precision', (c) => c.notNull().defaultTo(0))
      .addColumn('not_before', text)
      .addColumn('started_at', text)
      .addColumn('completed_at', text)
      .addColumn('updated_at', text, (c) => c.notNull())
      .addPrimaryKeyConstraint('step_items_pk', ['run_id', 'step_id', 'idx']),
    // A step's items by status in order: those running, the next ready, the counts.
    db.schema.createIndex('step_items_status').on('step_items').columns(['run_id', 'step_id', 'status', 'idx']),
    // An item that asks is found from its reply's events.
    db.schema
      .createIndex('step_items_message')
      .on('step_items')
      .column('message_id')
      .where(sql<boolean>`message_id is not null`),
  ];
}
