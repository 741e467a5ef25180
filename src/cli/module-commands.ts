/**
 * The modules and their agents: `modules` (health, paused, instances; `--capability` for those declaring one),
 * `modules pause|resume NAME`, and `instances` with `instances pause|resume|terminate ID`.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import type { InstanceAction } from '../client/types.js';
import { dataHome } from '../config/paths.js';
import { declaredCapabilities, unknownCapabilityMessage } from '../domain/capability.js';
import type { ModuleView } from '../domain/types.js';
import { clientRunner, group, moduleNames, printList, requireModule } from './command-kit.js';
import { ago, paintStatus, paletteFor } from './format.js';
import { printJson, printOut } from './output.js';

/** Registers `modules` and `instances`. */
export function registerModuleCommands(cli: Command): void {
  const withClient = clientRunner(cli);

  const modules = group(
    cli
      .command('modules')
      .description('the modules: backend, health, paused, instances busy/idle/paused (modules pause|resume <name>)')
      .option('--capability <name>', 'only the modules that declare this capability')
      .option('--json', 'print JSON')
      .action((opts: { capability?: string; json?: boolean }) =>
        withClient(async (client) => {
          const list = await client.modules(opts.capability === undefined ? {} : { capability: opts.capability });
          // None declares it: the capabilities that are declared, so that a typo shows.
          const empty =
            opts.capability === undefined || list.length
              ? `no modules; define them in ${join(dataHome(), 'config.yaml')} (claude-comms init writes one to start from)`
              : unknownCapabilityMessage(
                  opts.capability.trim(),
                  declaredCapabilities((await client.modules()).map((m) => m.capabilities)),
                );
          printList(opts, 'modules', list, {
            empty,
            header: ['NAME', 'BACKEND', 'HEALTH', 'PAUSED', 'BUSY/IDLE/PAUSED', 'DESCRIPTION'],
            row: (m, p) => [
              m.name,
              m.backend ?? '—',
              m.removedAt ? p.yellow('removed') : m.health === 'healthy' ? p.green(m.health) : p.red(m.health),
              m.paused ? p.yellow('yes') : 'no',
              `${m.instances.busy}/${m.instances.idle}/${m.instances.paused}`,
              m.description,
            ],
          });
          if (opts.json) return;
          const p = paletteFor(process.stdout);
          for (const m of list) if (m.healthError) printOut(`${p.red(m.name)}: ${m.healthError}\n`);
          for (const m of list) {
            if (m.removedAt)
              printOut(`${p.yellow(m.name)}: removed from config.yaml on ${m.removedAt}; add it back to serve it\n`);
          }
        }),
      ),
  );
  const moduleActions: [string, boolean, string][] = [
    [
      'pause',
      true,
      'take no new questions: asking it is refused, replies waiting for it wait (one it is answering finishes)',
    ],
    ['resume', false, 'take questions again: the replies that waited are answered'],
  ];
  for (const [action, paused, description] of moduleActions) {
    modules
      .command(action)
      .description(description)
      .argument('<name>', 'the module')
      .option('--json', 'print JSON (the module)')
      .action((name: string, opts: { json?: boolean }) =>
        withClient(async (client) => {
          requireModule(name, await moduleNames(client));
          const module = await client.setModulePaused(name, paused);
          if (opts.json) return printJson(module);
          printOut(`${describePause(module)}\n`);
        }),
      );
  }

  const instances = group(
    cli
      .command('instances')
      .description('the modules’ agents (instances pause|resume|terminate <id> to change one)')
      .option('--module <name>', 'only this module’s')
      .option('--all', 'include terminated instances')
      .option('--json', 'print JSON')
      .action((opts: { module?: string; all?: boolean; json?: boolean }) =>
        withClient(async (client) => {
          const list = await client.instances({
            ...(opts.module ? { module: opts.module } : {}),
            ...(opts.all ? { all: true } : {}),
          });
          // A module that has instances is no typo, even if it is no longer defined.
          if (opts.module && !list.length) requireModule(opts.module, await moduleNames(client));
          printList(opts, 'instances', list, {
            empty: 'no instances; a worker makes them when questions arrive',
            header: ['ID', 'MODULE', 'STATE', 'RUNS', 'LAST ACTIVE', 'ANSWERING'],
            row: (i, p) => [
              i.id,
              i.module,
              paintStatus(i.state, p),
              String(i.runs),
              ago(i.lastActiveAt),
              i.messageId ?? (i.reason ? p.dim(i.reason) : '—'),
            ],
          });
        }),
      ),
  );
  const instanceActions: [InstanceAction, string][] = [
    ['pause', 'take no new reply (one it is answering finishes)'],
    ['resume', 'take replies again'],
    ['terminate', 'end it for good (a reply it is answering is cancelled)'],
  ];
  for (const [action, description] of instanceActions) {
    instances
      .command(action)
      .description(description)
      .argument('<id>', 'instance id')
      .option('--json', 'print JSON')
      .action((id: string, opts: { json?: boolean }) =>
        withClient(async (client) => {
          const instance = await client.changeInstance(id, action);
          if (opts.json) return printJson(instance);
          printOut(
            `instance ${instance.id} (${instance.module}) is ${paintStatus(instance.state, paletteFor(process.stdout))}\n`,
          );
        }),
      );
  }
}

/** What pausing or resuming did, and how to undo it. */
function describePause(m: ModuleView): string {
  return m.paused
    ? `module ${m.name} is paused: asking it is refused and replies waiting for it wait (resume it: claude-comms modules resume ${m.name})`
    : `module ${m.name} takes questions again`;
}
