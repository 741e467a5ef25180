/** Turns a registered module's stored settings (from config.yaml or `modules.register`) into its agent backend. */
import { ClaudeCodeBackend, type ClaudeCodeSettings } from '../agents/claude-code-backend.js';
import { CommandBackend } from '../agents/command-backend.js';
import type { AgentBackend } from '../agents/types.js';
import { HubError } from '../domain/errors.js';
import type { Module } from '../domain/types.js';
import type { WorkerModule } from './worker.js';

/** The worker's view of a module; `validation` when its settings cannot run anything. */
export function workerModule(module: Module): WorkerModule {
  const c = module.config as Record<string, unknown>;
  const cwd = typeof c.cwd === 'string' ? c.cwd : undefined;
  if (!cwd) throw new HubError('validation', `module ${module.name} has no cwd (its repository) in its settings`);
  let backend: AgentBackend;
  if (c.backend === 'command') {
    backend = new CommandBackend({
      command: c.command as string,
      ...(Array.isArray(c.args) ? { args: c.args as string[] } : {}),
      ...(typeof c.timeoutMs === 'number' ? { timeoutMs: c.timeoutMs } : {}),
      ...(typeof c.idleTimeoutMs === 'number' ? { idleTimeoutMs: c.idleTimeoutMs } : {}),
      ...(c.env ? { env: c.env as Record<string, string> } : {}),
    });
  } else if (c.backend === 'claude-code') {
    backend = new ClaudeCodeBackend(c as ClaudeCodeSettings);
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
    concurrency: typeof c.concurrency === 'number' ? c.concurrency : 1,
    backend,
  };
}
