/**
 * API tokens: `token create`, `list` and `revoke`. Tokens are kept in the database, which these commands always
 * open: the API does not hand them out, since whoever holds one could then mint more.
 */
import type { Command } from 'commander';
import type { TokenStore } from '../store/tokens.js';
import { printList, requireModule } from './command-kit.js';
import { openTokensSaying } from './connection.js';
import { ago } from './format.js';
import { printErr, printJson, printOut } from './output.js';

/** Registers `token` and its subcommands. */
export function registerTokenCommands(cli: Command): void {
  const database = () => cli.opts<{ database?: string }>().database;
  /** Runs `action` with the token store, after saying on stderr which database it is in. */
  const withTokens = async (action: (tokens: TokenStore, moduleNames: () => Promise<string[]>) => Promise<void>) => {
    const opened = await openTokensSaying(database());
    try {
      await action(opened.tokens, opened.moduleNames);
    } finally {
      await opened.close();
    }
  };
  const token = cli
    .command('token')
    .description('API tokens (required by a service listening on anything but loopback)');
  token
    .command('create')
    .description('make a token; it is shown once')
    .option('--module <name>', 'it may act only as this module (default: any)')
    .option('--label <text>', 'what it is for')
    .option('--json', 'print JSON (with the token)')
    .action((opts: { module?: string; label?: string; json?: boolean }) =>
      withTokens(async (tokens, moduleNames) => {
        if (opts.module) requireModule(opts.module, await moduleNames());
        const created = await tokens.create({
          ...(opts.module ? { module: opts.module } : {}),
          ...(opts.label ? { label: opts.label } : {}),
        });
        if (opts.json) return printJson(created);
        printOut(`${created.token}\n`);
        printErr(
          `token ${created.id}${created.module ? ` (module ${created.module})` : ' (any module)'} created.\n` +
            'Store it now: it is shown only this once. Clients send it as CLAUDE_COMMS_TOKEN or Authorization: Bearer.\n',
        );
      }),
    );
  token
    .command('list')
    .description('every token (never the secret), newest first')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withTokens(async (tokens) => {
        printList(opts, 'tokens', await tokens.list(), {
          empty: 'no tokens; make one with: claude-comms token create',
          header: ['ID', 'STATE', 'MODULE', 'CREATED', 'LAST USED', 'LABEL'],
          row: (t, p) => [
            t.id,
            t.revokedAt ? p.red('revoked') : p.green('active'),
            t.module ?? 'any',
            ago(t.createdAt),
            ago(t.lastUsedAt),
            t.label ?? '',
          ],
        });
      }),
    );
  token
    .command('revoke')
    .description('revoke a token: requests with it are refused from now on')
    .argument('<id>', 'token id (see token list)')
    .option('--json', 'print JSON')
    .action((id: string, opts: { json?: boolean }) =>
      withTokens(async (tokens) => {
        const revoked = await tokens.revoke(id);
        if (opts.json) return printJson(revoked);
        printOut(`token ${revoked.id} revoked\n`);
      }),
    );
}
