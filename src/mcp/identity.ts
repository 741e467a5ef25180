/**
 * Who the MCP tools act as: the module an agent works for (the asker of its questions, the owner of its inbox),
 * the task of the run it was started for (where its progress goes), and the reply that run is answering (so an
 * ask made from inside an answer is linked to it, and the hub can refuse asks that would wait on their own asker).
 * The stdio server takes these from its flags and environment, the HTTP endpoint from the token and headers.
 */
import { HubError } from '../domain/errors.js';

/** Who the tools act as; each part is optional, and a tool that needs a missing part says so. */
export interface McpIdentity {
  /** The module the tools act as: `from` of an ask, the module of `inbox`. */
  module?: string;
  /** The task `report_progress` updates when no task is named. */
  taskId?: string;
  /** The reply whose run makes the asks (`via`). */
  replyId?: string;
}

/** How a server is told who it acts as, named in the errors of the tools that need to know. */
export interface IdentityHints {
  /** E.g. "start the server with --as MODULE or set CLAUDE_COMMS_MODULE". */
  module: string;
  /** Likewise for the task. */
  task: string;
}

/** The environment variables the stdio server reads its identity from (besides its flags). */
export const IDENTITY_ENV = {
  module: 'CLAUDE_COMMS_MODULE',
  taskId: 'CLAUDE_COMMS_TASK',
  replyId: 'CLAUDE_COMMS_REPLY',
} as const;

/**
 * The identity from explicit values, else the environment; blank values count as unset (an MCP config's
 * `${VAR}` expands an unset variable to the empty string).
 */
export function identityFrom(given: McpIdentity, env: NodeJS.ProcessEnv = process.env): McpIdentity {
  const pick = (value: string | undefined, name: string) => {
    const chosen = value?.trim() || env[name]?.trim();
    return chosen ? chosen : undefined;
  };
  const module = pick(given.module, IDENTITY_ENV.module);
  const taskId = pick(given.taskId, IDENTITY_ENV.taskId);
  const replyId = pick(given.replyId, IDENTITY_ENV.replyId);
  return { ...(module ? { module } : {}), ...(taskId ? { taskId } : {}), ...(replyId ? { replyId } : {}) };
}

/** The module the tools act as; `validation`, saying how to name it, when there is none. */
export function actingModule(identity: McpIdentity, hints: IdentityHints): string {
  if (identity.module) return identity.module;
  throw new HubError('validation', `this tool needs to know which module you are: ${hints.module}`);
}

/** The task `taskId`, else the one the server was started for; `validation`, saying how to name one, if neither. */
export function actingTask(identity: McpIdentity, taskId: string | undefined, hints: IdentityHints): string {
  const id = taskId ?? identity.taskId;
  if (id) return id;
  throw new HubError('validation', `name the task (taskId): this server was not started for one (${hints.task})`);
}
