/**
 * `claude-comms search WORDS…`: threads, questions, answers and tasks holding every word, newest first, as a
 * table whose last column is the snippet (its matched words bold on a terminal; plain when piped, so that a
 * `grep` downstream sees the text as written), or with `--json` the hits as the API gives them.
 */
import { type Command, Option } from 'commander';
import type { Status } from '../domain/status.js';
import type { SearchField, SearchHit } from '../domain/types.js';
import { SEARCH_KINDS } from '../domain/types.js';
import { clientRunner, printList, statusList, wholeNumber } from './command-kit.js';
import { ago, type Palette, paintStatus } from './format.js';
import { printErr } from './output.js';

/** What a hit is, in the words of its field. */
const WHAT: Record<SearchField, string> = {
  title: 'thread',
  question: 'question',
  answer: 'answer',
  name: 'task',
  log: 'task log',
};

/** Registers `search`. */
export function registerSearchCommand(cli: Command): void {
  const withClient = clientRunner(cli);
  cli
    .command('search')
    .description('find threads, questions, answers and tasks (names and logs) by their words, newest first')
    .argument('<words...>', 'each the beginning of a word, any case, accents ignored; all must be there')
    .option('--module <name>', 'only threads it opened, messages it wrote and tasks it works on')
    .option('--status <statuses>', 'only messages and tasks in these (comma-separated)', statusList)
    .addOption(new Option('--kind <kind>', 'only threads, messages or tasks').choices(SEARCH_KINDS))
    .option('--limit <n>', 'how many (default 20)', wholeNumber(1, 100))
    .option('--before <id>', 'only hits older than this one (the last id of the previous page)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nA word is a run of letters and digits: `deploy-v2.sh` is the words deploy, v2 and sh, and quotes or\noperators (* : & | ! AND OR NOT NEAR) are searched as the words they contain.',
    )
    .action(
      (
        words: string[],
        opts: {
          module?: string;
          status?: Status[];
          kind?: SearchHit['kind'];
          limit?: number;
          before?: string;
          json?: boolean;
        },
      ) =>
        withClient(async (client) => {
          const limit = opts.limit ?? 20;
          const hits = await client.search({
            q: words.join(' '),
            limit,
            ...(opts.module ? { module: opts.module } : {}),
            ...(opts.status ? { status: opts.status } : {}),
            ...(opts.kind ? { kind: opts.kind } : {}),
            ...(opts.before ? { before: opts.before } : {}),
          });
          printList(opts, 'hits', hits, {
            empty: `nothing holds ${words.join(' ')}`,
            header: ['WHAT', 'ID', 'STATUS', 'MODULE', 'CREATED', 'MATCH'],
            row: (h, p) => [
              WHAT[h.field],
              h.id,
              h.status ? paintStatus(h.status, p) : '—',
              h.module ?? '—',
              ago(h.createdAt),
              marked(h, p),
            ],
          });
          if (!opts.json && hits.length === limit) {
            printErr(`older hits: the same search with --before ${hits.at(-1)?.id}\n`);
          }
        }),
    );
}

/** The snippet with its matched words bold. */
function marked(hit: SearchHit, p: Palette): string {
  return hit.snippet.map((part) => (part.match ? p.bold(part.text) : part.text)).join('');
}
