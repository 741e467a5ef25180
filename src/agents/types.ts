/**
 * The agent port: a backend runs one request (one question to one module's agent) and reports what happens as
 * a stream of events. The worker turns those events into the reply's content, the task's progress and the log.
 */
import type { RunLimits } from '../domain/budget.js';
import type { FailureReason } from '../domain/types.js';
import type { ProcessTracker } from '../process/tracker.js';

/** Kinds of failure the runtime treats differently (a missing session is retried as a new one). */
export type { FailureReason, ProcessTracker, RunLimits };

/** What a backend is asked to do. */
export interface AgentRequest {
  /** Its working directory (the module's repository). */
  cwd: string;
  /** The question, as the agent should read it. */
  prompt: string;
  /** The system prompt built for this module, asker and thread. */
  systemPrompt: string;
  /** The agent session to continue, when the thread has one. */
  resumeSessionId?: string;
  /** The session's cumulative cost as last reported, so this run's own cost can be told apart. */
  previousSessionCostUsd?: number;
  /** Extra environment for the agent process (merged over the hub's). */
  env?: Record<string, string>;
  /** Stops the run: the backend interrupts, then terminates, then kills its process group. */
  signal: AbortSignal;
  /**
   * The task's limits: a backend that can enforce them itself (Claude Code's maxTurns and maxBudgetUsd) is given
   * them; the worker judges every figure reported against them either way (see domain/budget.ts).
   */
  limits?: RunLimits;
  /** Told of the run's marker and of each agent process group the run starts and ends, so none outlives the hub. */
  processes?: ProcessTracker;
  /** The hub's MCP tools for the agent (runtime/agent-tools.ts), for a backend whose agent speaks MCP. */
  tools?: AgentTools;
}

/** An MCP server (stdio) an agent is given: its name, the program that serves it, and that program's environment. */
export interface AgentTools {
  server: string;
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** One thing that happened during a run. */
export type AgentEvent =
  /** Answer text, as it is generated. */
  | { type: 'text'; text: string }
  /** The agent used a tool (Write, Edit, Bash…); `path` is the file it touched, when there is one. */
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown>; path?: string }
  /** A tool finished. */
  | { type: 'tool_result'; id: string; isError: boolean; text: string }
  /**
   * Cost and tokens of this run so far (absolute values for the run, not increments), with its turns when the
   * backend counts them; `sessionCostUsd` is the agent's cumulative total, to store for the next run's
   * `previousSessionCostUsd`.
   */
  | { type: 'usage'; costUsd: number; tokensIn: number; tokensOut: number; turns?: number; sessionCostUsd?: number }
  /** The agent's session id (store it on the thread to resume later). */
  | { type: 'session'; sessionId: string }
  /** Progress reported by the agent itself (command backend protocol). */
  | { type: 'progress'; percent?: number; iteration?: number; criterion?: string }
  /** A line for the task's log (stderr of a command, a CLI warning…). */
  | { type: 'log'; level: 'info' | 'warn' | 'error'; text: string }
  /** The run ended; `error` says why when it did not succeed, `reason` what kind of failure it was. */
  | { type: 'done'; ok: boolean; error?: string; reason?: FailureReason };

/** The last event of a run. */
export type RunDone = Extract<AgentEvent, { type: 'done' }>;

/**
 * Which tool uses touch files, and how: the files a task created or modified are those targets. Claude Code's
 * Write creates, Edit / MultiEdit / NotebookEdit modify; agents reporting their own actions may use the plainer
 * words too.
 */
export function fileEffect(tool: string): 'created' | 'modified' | undefined {
  if (/^(write|create|createfile|new)$/i.test(tool)) return 'created';
  if (/^(edit|multiedit|notebookedit|modify|update|patch)$/i.test(tool)) return 'modified';
  return undefined;
}

/** A way of running an agent. */
export interface AgentBackend {
  /** Runs the request; the last event is always `done`. */
  run(request: AgentRequest): AsyncIterable<AgentEvent>;
}
