/** Turns a registered module's stored settings (from config.yaml or `modules.register`) into its agent backend. */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import {
  bundledExecutable,
  ClaudeCodeBackend,
  type ClaudeCodeSettings,
  NOT_INSTALLED,
} from '../agents/claude-code-backend.js';
import { CommandBackend } from '../agents/command-backend.js';
import type { AgentBackend } from '../agents/types.js';
import { HubError } from '../domain/errors.js';
import type { Module } from '../domain/types.js';
import { directoryProblem } from '../process/process-group.js';
import { concurrencyOf } from '../store/instances.js';

/** A module as the worker runs it. */
export interface WorkerModule {
  name: string;
  description: string;
  capabilities: readonly string[];
  cwd: string;
  concurrency: number;
  backend: AgentBackend;
  /** Checks that the backend can run at all (program and directory present); answers what is wrong. */
  check: () => Promise<string | undefined>;
}

/** The worker's view of a module; `validation` when its settings cannot run anything. */
export function workerModule(module: Module): WorkerModule {
  const c = module.config as Record<string, unknown>;
  const cwd = typeof c.cwd === 'string' ? c.cwd : undefined;
  if (!cwd) throw new HubError('validation', `module ${module.name} has no cwd (its repository) in its settings`);
  let backend: AgentBackend;
  let program: () => Promise<string | undefined>;
  if (c.backend === 'command') {
    const command = c.command as string;
    const env = { ...process.env, ...(c.env as Record<string, string> | undefined) };
    program = () => findProgram(command, cwd, env.PATH ?? '');
    backend = new CommandBackend({
      command: c.command as string,
      ...(Array.isArray(c.args) ? { args: c.args as string[] } : {}),
      ...(typeof c.timeoutMs === 'number' ? { timeoutMs: c.timeoutMs } : {}),
      ...(typeof c.idleTimeoutMs === 'number' ? { idleTimeoutMs: c.idleTimeoutMs } : {}),
      ...(c.env ? { env: c.env as Record<string, string> } : {}),
    });
  } else if (c.backend === 'claude-code') {
    backend = new ClaudeCodeBackend(c as ClaudeCodeSettings);
    const executable = typeof c.executable === 'string' ? c.executable : undefined;
    program = async () => {
      const path = executable ?? bundledExecutable();
      if (!path) return NOT_INSTALLED;
      return (await executableProblem(path)) ?? undefined;
    };
  } else {
    throw new HubError(
      'validation',
      `module ${module.name} has no backend ('claude-code' or 'command') in its settings`,
    );
  }
  return {
    name: module.name,
    description: module.description,
    capabilities: Array.isArray(c.capabilities) ? (c.capabilities as string[]) : [],
    cwd,
    concurrency: concurrencyOf(c),
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
