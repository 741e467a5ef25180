/**
 * What each event of the log carries in `data`, by type: the one description the writers (the store), the
 * readers (the event applier, hooks, the CLI, the dashboard) and the guide's table share. `HubEvent` in types.ts
 * is the union of these, so a reader that checks `type` gets its `data` typed.
 */
import type { Status, StepStatus } from './status.js';
import type { ValidationIssue } from './validation-issue.js';
import type { StepDetail } from './workflow-types.js';

/** The states an instance goes through. */
export type InstanceState = 'idle' | 'busy' | 'paused' | 'terminated';

/** The data of each event type. */
export interface EventData {
  'module.registered': { description: string };
  /**
   * One of: a new description (`description`), pausing or resuming (`paused`), a health check's verdict (`health`,
   * with `error` when unhealthy), or removal from config.yaml and putting back (`removed`, with `removedAt`).
   */
  'module.updated': {
    description?: string;
    paused?: boolean;
    health?: 'healthy' | 'unhealthy';
    error?: string;
    removed?: boolean;
    removedAt?: string;
  };
  'instance.created': { instanceId: string; state: InstanceState };
  'instance.updated': {
    instanceId: string;
    from: InstanceState;
    state: InstanceState;
    reason?: string;
    paused?: boolean;
    messageId?: string;
  };
  'thread.created': { title: string | null; createdBy: string | null };
  'message.created': {
    author: string;
    role: 'user' | 'assistant' | 'system';
    status: Status;
    content: string;
    /** The content's length in code points. */
    length: number;
    /** For a retry: the failed or cancelled reply it answers again. */
    retryOf?: string;
    /** For a structured reply: the schema it is checked against and its repair rounds. */
    checking?: { schema: string; maxRepairs: number };
  };
  'message.status_changed': { from: Status; to: Status; reason?: string; error?: string };
  /**
   * An append (`delta`; `length` is the content's length after it, in code points), or, with `reset`, the content
   * cleared for a recovered reply's next run (`length` 0, `delta` empty).
   */
  'message.content_updated': { delta: string; length: number; reset?: true };
  /**
   * A structured reply's answer checked (round 0 is the first answer, each repair round adds one): valid, or the
   * number of issues found and whether another round follows. The round itself is on the reply's `validation`.
   */
  'message.validated': {
    round: number;
    valid: boolean;
    /** The first issues found (at most 20); `issueCount` counts them all. */
    issues: ValidationIssue[];
    issueCount: number;
    repairing: boolean;
  };
  'task.created': {
    name: string;
    kind: string;
    criteria: string[];
    maxIterations: number | null;
    maxCostUsd: number | null;
    /** For a retry's task: the task it answers again. */
    retryOf?: string;
  };
  /** The counters after the change; the file lists and token counts only when they changed. */
  'task.progressed': {
    progress: number;
    iteration: number;
    costUsd: number;
    /** The fields the change set, by their names in `Task`. */
    changed: string[];
    filesCreated?: string[];
    filesModified?: string[];
    tokensIn?: number;
    tokensOut?: number;
  };
  /** `index` of the criterion; `added` when the task did not list it before (it is then the last). */
  'task.criterion_verified': { index: number; text: string; verified: number; total: number; added?: true };
  'task.logged': {
    level: 'info' | 'warn' | 'error';
    text: string;
    action?: string;
    target?: string;
    success?: boolean;
  };
  'task.status_changed': { from: Status; to: Status; reason?: string; error?: string };
  'watch.created': {
    watchId: string;
    messageId: string | null;
    threadId: string | null;
    module: string | null;
    on: string[];
    command: boolean;
    webhook: boolean;
    createdBy: string | null;
  };
  'watch.removed': { watchId: string; reason: 'removed' | 'finished' };
  'schema.published': { name: string; version: string; compatibility: string };
  'workflow_run.created': { workflow: string; hash: string; steps: string[] };
  'workflow_run.status_changed': { from: Status; to: Status; reason?: string; error?: string };
  /** A step of a run moved; `attempt` is the attempt it is on (0 before the first). */
  'step_run.status_changed': {
    stepId: string;
    from: StepStatus;
    to: StepStatus;
    attempt: number;
    reason?: string;
    error?: string;
  };
  /** What is known of a step changed without its status: its items' counts, its approval, its routing. */
  'step_run.updated': { stepId: string; detail: StepDetail };
  'template.published': { name: string; version: string; answerSchema: string };
}
