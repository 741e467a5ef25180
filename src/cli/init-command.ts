/**
 * `claude-comms init`: makes the configuration your own. Writes the bundled example — config.yaml and its two
 * stand-in agents — into the data home, where the config's relative `cwd`s find the agents, and says what to do
 * next. An existing configuration is never overwritten without `--force`.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { writeExample } from '../config/example.js';
import { dataHome } from '../config/paths.js';
import { runningService } from '../service/state.js';
import { printOut } from './output.js';

/** Registers `init`. */
export function registerInitCommand(cli: Command): void {
  cli
    .command('init')
    .description('write config.yaml and the example agents into the data home, to edit as your own')
    .option('--force', 'replace an existing config.yaml and example agents')
    .action((flags: { force?: boolean }) => {
      const home = dataHome();
      const { written, kept } = writeExample(home, { force: flags.force === true });
      const service = runningService();
      printOut(
        [
          `claude-comms: wrote ${written.join(', ')}`,
          ...(kept.length ? [`claude-comms: kept ${kept.join(', ')} as they were (--force replaces them too)`] : []),
          '',
          'Next:',
          `  edit ${join(home, 'config.yaml')}: each module is an agent in its own repository (cwd); see the`,
          '    guide, "Configuration", for every key',
          service
            ? `  the service running (pid ${service.pid}) reads it when it starts again: claude-comms poll stop, then claude-comms poll start`
            : '  start the service: claude-comms serve (or claude-comms poll start, in the background)',
          '  ask a module: claude-comms ask marker "What do you extract from a PDF?" --wait',
          '',
        ].join('\n'),
      );
    });
}
