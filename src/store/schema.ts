/**
 * The tables as Kysely sees them. Times are ISO-8601 UTC text and JSON columns are text on both backends, so
 * rows read the same from SQLite and PostgreSQL.
 */
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';

export interface ModulesTable {
  name: string;
  description: string;
  paused: number;
  config: string;
  created_at: string;
  updated_at: string;
  health: string;
  health_error: string | null;
  health_checked_at: string | null;
  /** The config.yaml that registered it (see store/config-sync.ts); null when registered through the library. */
  config_file: string | null;
  removed_at: string | null;
}

export interface InstancesTable {
  id: string;
  module: string;
  /** idle, busy or terminated; `paused` is separate so a busy instance can be paused to take nothing after. */
  status: string;
  paused: number;
  worker_id: string | null;
  lease_until: string | null;
  message_id: string | null;
  session_id: string | null;
  runs: number;
  reason: string | null;
  created_at: string;
  updated_at: string;
  last_active_at: string;
  terminated_at: string | null;
}

export interface TokensTable {
  id: string;
  /** sha256 of the token; the token itself is shown once, when created. */
  hash: string;
  /** The module the token may act as; null for a token that may act as any. */
  module: string | null;
  label: string | null;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface WatchesTable {
  id: string;
  thread_id: string | null;
  message_id: string | null;
  module: string | null;
  /** JSON list of what fires it: 'status' (every status change), 'complete', 'failed', 'cancelled'. */
  events: string;
  command: string | null;
  webhook_url: string | null;
  /** HMAC key for webhook signatures. */
  secret: string | null;
  /** The log position delivered up to. */
  cursor: string;
  /** The module of the token that created it; null when created without a module scope. */
  created_by: string | null;
  /**
   * The A2A task whose push-notification config this watch delivers (store/a2a-push.ts, migration 20); null for
   * any other watch, and once the config is deleted.
   */
  a2a_task_id: string | null;
  /** JSON of that config (`A2APushTarget`): what the webhook's A2A body and headers are made from. */
  a2a_push: string | null;
  delivered: number;
  failures: number;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  removed_at: string | null;
}

export interface AskRequestsTable {
  /** Whose key it is: `token:<id>` or `module:<asking module>`. */
  scope: string;
  key: string;
  /** sha256 of the ask's canonical JSON: the same key with another question is a conflict. */
  request_hash: string;
  /** The ask's ids as JSON; written in the transaction that took the key, so never seen empty. */
  result: string | null;
  created_at: string;
}

export interface ThreadsTable {
  id: string;
  title: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface MessagesTable {
  id: string;
  thread_id: string;
  author: string;
  role: string;
  content: string;
  status: string;
  error: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  updated_at: string;
  schema: string | null;
  claimed_by: string | null;
  lease_until: string | null;
  attempts: number;
  retry_of: string | null;
  /** A structured reply's parsed and validated answer (JSON); null until it completes. */
  value: string | null;
  /** A structured reply's checking: schema, rounds and their errors (JSON, `ReplyValidation`); null otherwise. */
  validation: string | null;
  /** A reply asked from inside another reply's answer: that reply (see ask-chain.ts). */
  via: string | null;
  /** A reply's asker (the module that asked), null on replies older than migration 18. */
  asker: string | null;
}

export interface ThreadSessionsTable {
  thread_id: string;
  module: string;
  session_id: string;
  cost_total_usd: number | null;
  updated_at: string;
}

export interface TasksTable {
  id: string;
  name: string;
  module: string | null;
  kind: string;
  message_id: string | null;
  workflow_run_id: string | null;
  parent_id: string | null;
  depends_on: string;
  status: string;
  progress: number;
  iteration: number;
  max_iterations: number | null;
  criteria: string;
  cost_usd: number;
  max_cost_usd: number | null;
  tokens_in: number;
  tokens_out: number;
  files_created: string;
  files_modified: string;
  session_id: string | null;
  error: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  updated_at: string;
  retry_of: string | null;
}

export interface EventsTable {
  seq: number;
  at: string;
  type: string;
  thread_id: string | null;
  message_id: string | null;
  task_id: string | null;
  run_id: string | null;
  module: string | null;
  data: string;
}

export interface MetaTable {
  key: string;
  value: string;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: string;
}

/** Every table, keyed by name. */
export interface Schema {
  modules: ModulesTable;
  threads: ThreadsTable;
  messages: MessagesTable;
  tasks: TasksTable;
  events: EventsTable;
  meta: MetaTable;
  schema_migrations: SchemaMigrationsTable;
  thread_sessions: ThreadSessionsTable;
  instances: InstancesTable;
  tokens: TokensTable;
  watches: WatchesTable;
  ask_requests: AskRequestsTable;
  leases: LeasesTable;
  search_docs: SearchDocsTable;
  schemas: SchemasTable;
  query_templates: QueryTemplatesTable;
  workflows: WorkflowsTable;
  workflow_runs: WorkflowRunsTable;
  step_runs: StepRunsTable;
  step_items: StepItemsTable;
  a2a_tasks: A2ATasksTable;
}

export interface WorkflowsTable {
  name: string;
  definition: string;
  hash: string;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface WorkflowRunsTable {
  id: string;
  workflow: string;
  definition: string;
  hash: string;
  inputs: string;
  status: string;
  output: string | null;
  error: string | null;
  cost_usd: number;
  created_by: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  updated_at: string;
}

export interface StepRunsTable {
  run_id: string;
  step_id: string;
  kind: string;
  status: string;
  attempt: number;
  output: string | null;
  error: string | null;
  reason: string | null;
  task_id: string | null;
  message_id: string | null;
  cost_usd: number;
  not_before: string | null;
  started_at: string | null;
  completed_at: string | null;
  updated_at: string;
  /** JSON: why it was skipped, its approval, how its module was chosen, its items' counts. */
  detail: string | null;
}

/** A task outside agents started over A2A (store/a2a-tasks.ts): the protocol's task JSON and what lists filter on. */
export interface A2ATasksTable {
  /** The A2A task id. */
  id: string;
  /** The module of the token that created it; '' for a token without a module. */
  owner: string;
  context_id: string;
  /** The hub thread the task's question was asked in. */
  thread_id: string | null;
  /** The A2A state as the protocol names it (`TASK_STATE_WORKING`). */
  state: string;
  /** The time of its status, ISO. */
  updated_at: string;
  /** The task as the protocol's JSON (`Task.toJSON`). */
  task: string;
  created_at: string;
}

/** One item of a `forEach` step (store/step-items.ts). */
export interface StepItemsTable {
  run_id: string;
  step_id: string;
  idx: number;
  status: string;
  attempt: number;
  input: string;
  output: string | null;
  error: string | null;
  reason: string | null;
  message_id: string | null;
  cost_usd: number;
  not_before: string | null;
  started_at: string | null;
  completed_at: string | null;
  updated_at: string;
}

/** A published version of an exchange schema (store/schemas.ts); immutable. */
export interface SchemasTable {
  name: string;
  version: string;
  /** The JSON Schema (2020-12), as JSON text. */
  body: string;
  description: string;
  owner: string | null;
  compatibility: string;
  /** sha256 of the version's content: a second publication of the same version must match it. */
  hash: string;
  created_at: string;
}

/** A published version of a query template (store/templates.ts); immutable. */
export interface QueryTemplatesTable {
  name: string;
  version: string;
  description: string;
  /** The parameters, as a JSON Schema of an object (JSON text). */
  params: string;
  /** The question, with `{{ param }}` places. */
  prompt: string;
  /** The schema its answer must satisfy, `name@version`. */
  answer_schema: string;
  owner: string | null;
  hash: string;
  created_at: string;
}

/**
 * One indexed text (store/search-index.ts): a thread's title, a message's content, a task's name or one entry of
 * its log. Its words are indexed beside it — in the FTS5 table `search_words` (SQLite, by rowid = `id`, after
 * waiting in the column `pending`), in the column `words` (PostgreSQL, a tsvector under a GIN index), which Kysely
 * does not need to know.
 */
export interface SearchDocsTable {
  id: number;
  kind: string;
  /** The thread, message or task the text belongs to. */
  record_id: string;
  field: string;
  /** When the record was created: hits come newest first. */
  created_at: string;
  /** The text itself for a log entry, which has no row of its own to show a snippet from; null otherwise. */
  body: string | null;
}

/** Which service holds a role (hooks, retention), until when. */
export interface LeasesTable {
  name: string;
  holder: string;
  epoch: number;
  lease_until: string;
  updated_at: string;
}

/** Which SQL the backend speaks. */
export type Dialect = 'sqlite' | 'postgres';

/**
 * A Kysely instance used only to build and compile queries; execution goes through the backend's own client,
 * which caches prepared statements (Kysely would prepare on every call).
 */
export function queryBuilder(dialect: Dialect): Kysely<Schema> {
  return new Kysely<Schema>({
    dialect:
      dialect === 'sqlite'
        ? {
            createAdapter: () => new SqliteAdapter(),
            createDriver: () => new DummyDriver(),
            createIntrospector: (db) => new SqliteIntrospector(db),
            createQueryCompiler: () => new SqliteQueryCompiler(),
          }
        : {
            createAdapter: () => new PostgresAdapter(),
            createDriver: () => new DummyDriver(),
            createIntrospector: (db) => new PostgresIntrospector(db),
            createQueryCompiler: () => new PostgresQueryCompiler(),
          },
  });
}
