/** Turns a registered module's stored settings (from config.yaml or `modules.register`) into its agent backend. */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { bundledExecutable, ClaudeCodeBackend, NOT_INSTALLED } from '../agents/claude-code-backend.js';
import { CommandBackend } from '../agents/command-backend.js';
import type { AgentBackend } from '../agents/types.js';
import { HubError } from '../domain/errors.js';
import type { Module } from '../domain/types.js';
import { directoryProblem } from '../process/process-group.js';

/** A module as the worker runs it. */
export interface WorkerModule {
  name: string;
  description: string;
  capabilities: readonly string[];
  cwd: string;
  concurrency: number;
  backend: AgentBackend;
  /**
   * Checks that the backend can run at all (program and directory present; a remote agent's card readable);
   * answers what is wrong.
   */
  check: () => Promise<string | undefined>;
}

/**
 * The worker's view of a module: its stored settings read once with the module settings schema, each backend
 * given its own; `validation` naming each wrong key when the settings cannot run anything. The schema (with zod)
 * is loaded here, by the first worker, rather than by every hub.
 */
export async function workerModule(module: Module): Promise<WorkerModule> {
  const { readModuleSettings } = await import('../domain/module-settings.js');
  const settings = readModuleSettings(module.name, module.config);
  const { cwd } = settings;
  let backend: AgentBackend;
  let program: () => Promise<string | undefined>;
  if (settings.backend === 'session') {
    // Not a worker's to run: the module's own session answers through the inbox (store/inbox.ts).
    throw new HubError('validation', `module ${module.name} is interactive (backend session): no worker runs it`);
  }
  if (settings.backend === 'a2a') {
    // The A2A SDK's client is loaded by the first worker serving a remote agent, not by every hub.
    const { A2aBackend } = await import('../agents/a2a-backend.js');
    const remote = new A2aBackend(settings);
    backend = remote;
    program = () => remote.check();
  } else if (settings.backend === 'command') {
    const path = { ...process.env, ...settings.env }.PATH ?? '';
    backend = new CommandBackend(settings);
    program = () => findProgram(settings.command, cwd, path);
  } else {
    backend = new ClaudeCodeBackend(settings);
    program = async () => {
      const path = settings.executable ?? bundledExecutable();
      if (!path) return NOT_INSTALLED;
      return (await executableProblem(path)) ?? undefined;
    };
  }
  return {
    name: module.name,
    description: module.description,
    capabilities: settings.capabilities,
    cwd,
    concurrency: settings.concurrency,
    backend,
    check: async () => (await directoryProblem(cwd, "the module's directory")) ?? (await program()),
  };
}

async function executableProblem(path: string): Promise<string | undefined> {
  try {
    if (!(await stat(path)).isFile()) return `${path} is not a file`;
    await access(path, constants.X_OK);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${path} does not exist` : `${path} is not executable`;
  }
}

/** Why `command` cannot be started (looked up on PATH as spawn does, or relative to cwd), or undefined. */
async function findProgram(command: string, cwd: string, path: string): Promise<string | undefined> {
  if (command.includes('/')) {
    const problem = await executableProblem(isAbsolute(command) ? command : resolve(cwd, command));
    return problem && `command ${command}: ${problem}`;
  }
  for (const dir of path.split(delimiter).filter(Boolean)) {
    if (!(await executableProblem(join(dir, command)))) return undefined;
  }
  return `command not found on PATH: ${command}`;
}
