// A stand-in for ArangoDB's `arangoimport`, for tests of the import scripts the pdf-to-arangodb example writes
// (ArangoDB itself is not installed here). It accepts the options those scripts use and no other, checks each as
// arangoimport would need it — a JSONL file whose records have valid _keys; for an edge collection, _from and _to
// naming collection/key — and appends what it was asked to import to the file named by ARANGOIMPORT_LOG. It exits
// 1 with a message on the first thing wrong.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

const KNOWN = new Set([
  'server.endpoint',
  'server.database',
  'server.username',
  'server.password',
  'file',
  'type',
  'collection',
  'create-collection',
  'create-collection-type',
  'on-duplicate',
]);
const KEY = /^[A-Za-z0-9_\-:.@()+,=;$!*'%]{1,254}$/;
const fail = (why) => {
  process.stderr.write(`arangoimport (stand-in): ${why}\n`);
  process.exit(1);
};

const args = process.argv.slice(2);
const options = {};
for (let i = 0; i < args.length; i += 2) {
  const flag = args[i];
  if (!flag.startsWith('--') || !KNOWN.has(flag.slice(2))) fail(`unknown option ${flag}`);
  if (i + 1 >= args.length) fail(`${flag} has no value`);
  options[flag.slice(2)] = args[i + 1];
}
for (const needed of ['file', 'type', 'collection']) if (!options[needed]) fail(`--${needed} is required`);
if (options.type !== 'jsonl') fail(`--type ${options.type}: the files are JSONL`);
if (!existsSync(options.file)) fail(`no file ${options.file}`);
const type = options['create-collection-type'] ?? 'document';
if (!['document', 'edge'].includes(type)) fail(`--create-collection-type ${type}`);
if (options['create-collection'] !== 'true') fail('the collection is not created (--create-collection true)');
const lines = readFileSync(options.file, 'utf8').split('\n').filter(Boolean);
for (const [i, line] of lines.entries()) {
  let record;
  try {
    record = JSON.parse(line);
  } catch {
    fail(`${options.file}:${i + 1} is not JSON`);
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record))
    fail(`${options.file}:${i + 1} is not an object`);
  if (record._key !== undefined && !KEY.test(record._key))
    fail(`${options.file}:${i + 1}: _key ${record._key} is not valid`);
  const ends = ['_from', '_to'].filter((k) => typeof record[k] === 'string' && /^[^/]+\/[^/]+$/.test(record[k]));
  if (type === 'edge' && ends.length !== 2) fail(`${options.file}:${i + 1}: an edge without _from and _to`);
  if (type === 'document' && record._from !== undefined)
    fail(`${options.file}:${i + 1}: an edge in a document collection`);
}
if (process.env.ARANGOIMPORT_LOG)
  appendFileSync(
    process.env.ARANGOIMPORT_LOG,
    `${JSON.stringify({ collection: options.collection, type, file: options.file, count: lines.length, database: options['server.database'], duplicates: options['on-duplicate'] })}\n`,
  );
process.stdout.write(`created: ${lines.length}\n`);
