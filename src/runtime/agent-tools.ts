/**
 * The hub's own tools for the agents a worker starts: every claude-code agent is given the MCP server
 * `claude-comms mcp` (stdio), started as the module it answers for, with the task and reply it works on — so it can
 * ask another module from inside its answer (the reply goes as `via`, and the hub refuses loops and chains too
 * deep), and report progress, criteria and actions on its own task. The server reaches the hub as the command line
 * does: through the service when one serves this database, else by opening the database itself.
 */
import type { AgentTools } from '../agents/types.js';
import { dataHome } from '../config/paths.js';
import { cliCommand } from '../process/cli-entry.js';

/** The MCP server's name for the agents: its tools are `mcp__claude-comms__ask`, … */
export const HUB_TOOLS_SERVER = 'claude-comms';

/** Where the tools reach the hub: its database as opened (with any password) and the data home. */
export interface HubToolsPlace {
  database: string;
  home?: string;
}

/** The tools for a run of `module` on `reply` (tracked by `taskId`). */
export function hubToolsFor(place: HubToolsPlace, module: string, reply: string, taskId?: string): AgentTools {
  return {
    server: HUB_TOOLS_SERVER,
    ...cliCommand('mcp'),
    env: {
      CLAUDE_COMMS_MODULE: module,
      CLAUDE_COMMS_REPLY: reply,
      ...(taskId ? { CLAUDE_COMMS_TASK: taskId } : {}),
      CLAUDE_COMMS_DATABASE: place.database,
      CLAUDE_COMMS_HOME: place.home ?? dataHome(),
    },
  };
}
