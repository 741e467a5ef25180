/** What a worker is given: its options (with their defaults) and the stores it reads and writes. */
import type { EventLog } from '../events/event-log.js';
import type { Inbox } from '../store/inbox.js';
import type { InstanceStore } from '../store/instances.js';
import type { MessageStore } from '../store/messages.js';
import type { ModuleStore } from '../store/modules.js';
import type { ReplyQueue } from '../store/reply-queue.js';
import type { StorageHealth } from '../store/storage-health.js';
import type { StructuredReplies } from '../store/structured-replies.js';
import type { TaskStore } from '../store/tasks.js';
import type { ThreadContext } from '../store/thread-context.js';
import type { HubToolsPlace } from './agent-tools.js';

/** Options of a worker. */
export interface WorkerOptions {
  /** How long a claim holds without renewal (default 30 s); renewed every third of it while running. */
  leaseMs?: number;
  /** Attempts before a reply whose worker died is failed (default 2). */
  maxAttempts?: number;
  /** An instance idle (and not paused) this long is terminated (default 10 minutes). */
  idleInstanceMs?: number;
  /** Failed runs in a row (agent errors, runs without a result, idle agents) that make a module unhealthy (default 3). */
  unhealthyAfter?: number;
  /** First wait before checking an unhealthy module again (default 1 s), doubled each time up to `healthBackoffMaxMs`. */
  healthBackoffMs?: number;
  /** Longest wait between two checks of an unhealthy module (default 60 s). */
  healthBackoffMaxMs?: number;
  /**
   * Only these modules (their settings must be able to run an agent). Default: every registered module that
   * has an agent, including those registered or changed later.
   */
  modules?: string[];
}

/** The stores a worker writes to. */
export interface WorkerStores {
  /** Whether the database stores now; writes a fault holds back wait on it. */
  storage: StorageHealth;
  log: EventLog;
  messages: MessageStore;
  tasks: TaskStore;
  instances: InstanceStore;
  modules: ModuleStore;
  queue: ReplyQueue;
  threads: ThreadContext;
  /** A structured reply's rounds (see runtime/structured-run.ts). */
  replies: StructuredReplies;
  /** The inboxes of interactive modules, whose unanswered questions the worker times out. */
  inbox: Inbox;
  /** Where the MCP tools given to agents reach the hub (see agent-tools.ts). */
  toolsPlace?: HubToolsPlace;
}
