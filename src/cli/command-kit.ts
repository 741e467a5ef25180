/**
 * What the day-to-day commands are made of: running an action with a client (saying on stderr which way it
 * reaches the hub), lists as tables or JSON, argument parsers, and usage errors (exit 2) such as an unknown
 * module, with the name it may have meant.
 */
import { join } from 'node:path';
import { type Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { CommsClient } from '../client/types.js';
import { dataHome } from '../config/paths.js';
import { MAX_COST_LIMIT_USD, MAX_ITERATIONS_LIMIT } from '../domain/budget.js';
import { STATUSES, type Status } from '../domain/status.js';
import { unknownModuleMessage } from '../domain/suggest.js';
import { connectSaying } from './connection.js';
import { type Palette, paletteFor, table } from './format.js';
import { printErr, printJson, printOut } from './output.js';

/** Runs `action` with a client for the program's `--database`, after saying on stderr which way it is connected. */
export function clientRunner(cli: Command): (action: (client: CommsClient) => Promise<void>) => Promise<void> {
  return async (action) => {
    const client = await connectSaying(cli.opts<{ database?: string }>().database);
    try {
      await action(client);
    } finally {
      await client.close();
    }
  };
}

/**
 * A command group with options of its own (`threads --limit`, `instances --module`) whose subcommands run with
 * options of theirs. Commander gives an option to the group wherever it stands, so `threads show ID --json`
 * would set the group's `--json` and `show` would never see it: an option both define is handed on to the
 * subcommand here, and one only the group has (`threads show ID --limit 5`) is refused rather than ignored.
 */
export function group(command: Command): Command {
  return command.hook('preSubcommand', (parent, sub) => {
    const given = Object.keys(parent.opts()).filter((key) => parent.getOptionValueSource(key) === 'cli');
    const own = new Set(sub.options.map((o) => o.attributeName()));
    const stray = parent.options.filter((o) => given.includes(o.attributeName()) && !own.has(o.attributeName()));
    if (stray.length) {
      const flags = stray.map((o) => o.long ?? o.flags).join(', ');
      sub.error(`error: ${flags} does not apply to '${parent.name()} ${sub.name()}'`, {
        exitCode: 2,
        code: 'claude-comms.strayOption',
      });
    }
    for (const key of given) sub.setOptionValueWithSource(key, parent.getOptionValue(key), 'cli');
  });
}

/** A usage error found by a command itself: said like commander's own, exit status 2. */
export function usageError(text: string): CommanderError {
  return new CommanderError(2, 'claude-comms.usage', text);
}

/** Throws a usage error naming the closest module (or where modules are defined) unless `name` is in `known`. */
export function requireModule(name: string, known: readonly string[]): void {
  if (known.includes(name)) return;
  const where = known.length ? '' : `; define modules in ${join(dataHome(), 'config.yaml')}`;
  throw usageError(`${unknownModuleMessage(name, known)}${where}`);
}

/** The names of the hub's modules. */
export async function moduleNames(client: CommsClient): Promise<string[]> {
  return (await client.modules()).map((m) => m.name);
}

/** A parser for a number from `min` to `max`; bad input is a usage error naming the range. */
export function numberFrom(min: number, max: number, whole = false): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (whole && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`expected ${whole ? 'a whole number' : 'a number'} from ${min} to ${max}`);
    }
    return n;
  };
}

/** A parser for a whole number from `min` to `max`. */
export function wholeNumber(min: number, max: number): (value: string) => number {
  return numberFrom(min, max, true);
}

/** `--status a,b`: statuses, each one of STATUSES. */
export function statusList(value: string): Status[] {
  const statuses = value.split(',').map((s) => s.trim());
  const wrong = statuses.filter((s) => !(STATUSES as readonly string[]).includes(s));
  if (wrong.length)
    throw new InvalidArgumentError(`unknown status ${wrong.join(', ')}; expected ${STATUSES.join(', ')}`);
  return statuses as Status[];
}

/**
 * `--max-cost USD`: a run's cost limit (`ask`, `task create`); a run past it is stopped and fails with
 * `budget_exceeded`. `what` ends "the most … dollars".
 */
export function maxCostOption(what: string): Option {
  return new Option('--max-cost <usd>', `the most dollars ${what}`).argParser(numberFrom(0, MAX_COST_LIMIT_USD));
}

/** `--max-iterations N`: a run's iteration (turn) limit, as `maxCostOption`. */
export function maxIterationsOption(what: string): Option {
  return new Option('--max-iterations <n>', `the most iterations (agent turns) ${what}`).argParser(
    wholeNumber(1, MAX_ITERATIONS_LIMIT),
  );
}

/**
 * A list: with `--json`, `{ [key]: items }`; else a table clipped to the terminal, or `empty` on stderr when
 * there is nothing to list.
 */
export function printList<T>(
  opts: { json?: boolean },
  key: string,
  items: readonly T[],
  view: { empty: string; header: string[]; row: (item: T, p: Palette) => string[] },
): void {
  if (opts.json) printJson({ [key]: items });
  else if (!items.length) printErr(`${view.empty}\n`);
  else {
    const p = paletteFor(process.stdout);
    printOut(
      table(
        view.header,
        items.map((item) => view.row(item, p)),
        process.stdout.isTTY ? process.stdout.columns : undefined,
      ),
    );
  }
}
