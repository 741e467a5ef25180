/**
 * ArangoDB import files from a conversion (exchange/pdf/convert.ts): one JSONL file per collection and per edge
 * collection, and `import.sh`, which imports them with `arangoimport --type jsonl` — edge collections first, each
 * created as an edge collection (arangoimport would otherwise create a document collection, into which edges cannot
 * go), then the document collections. Re-running the script replaces what an earlier run imported.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HubError } from '../domain/errors.js';
import type { Conversion } from '../exchange/pdf/index.js';

/** One file written: the collection it fills, whether it holds edges, how many lines. */
export interface ImportFile {
  file: string;
  collection: string;
  type: 'document' | 'edge';
  count: number;
}

/** ArangoDB's rule for a collection name: a letter or `_` first, then letters, digits, `_` and `-`, 1–256. */
const COLLECTION_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,255}$/;

function checkName(name: string): void {
  if (!COLLECTION_NAME.test(name))
    throw new HubError(
      'validation',
      `"${name}" is not an ArangoDB collection name (a letter or _ first, then letters, digits, _ and -)`,
    );
}

/** The import files of `conversion` in `out` (made if need be); answers them, edge collections first. */
export function writeImportFiles(conversion: Conversion, out: string): ImportFile[] {
  mkdirSync(out, { recursive: true });
  const files: ImportFile[] = [];
  const write = (collection: string, type: ImportFile['type'], records: unknown[]) => {
    checkName(collection);
    const file = `${collection}.jsonl`;
    writeFileSync(join(out, file), records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    files.push({ file, collection, type, count: records.length });
  };
  for (const [collection, edges] of Object.entries(conversion.edges)) write(collection, 'edge', edges);
  for (const [collection, records] of Object.entries(conversion.collections)) write(collection, 'document', records);
  return files;
}

/** A shell word, quoted. */
const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** The text of `import.sh` for `files`: edge collections first, then the documents. */
export function importScript(files: ImportFile[]): string {
  const ordered = [...files.filter((f) => f.type === 'edge'), ...files.filter((f) => f.type === 'document')];
  const lines = [
    '#!/bin/sh',
    '# Imports these files into ArangoDB with arangoimport (from the ArangoDB client tools).',
    '# Settings: ARANGO_ENDPOINT (tcp://127.0.0.1:8529), ARANGO_DATABASE (_system), ARANGO_USER (root),',
    '# ARANGO_PASSWORD (empty). Edge collections are created first, as edge collections; records already there',
    '# with the same _key are replaced, so running it again is safe.',
    'set -eu',
    'cd "$(dirname "$0")"',
    'endpoint="${ARANGO_ENDPOINT:-tcp://127.0.0.1:8529}"',
    'database="${ARANGO_DATABASE:-_system}"',
    'user="${ARANGO_USER:-root}"',
    'password="${ARANGO_PASSWORD:-}"',
    'load() {',
    '  echo "importing $1 into $2 ($3 collection)"',
    '  arangoimport --server.endpoint "$endpoint" --server.database "$database" --server.username "$user" \\',
    '    --server.password "$password" --file "$1" --type jsonl --collection "$2" --create-collection true \\',
    '    --create-collection-type "$3" --on-duplicate replace',
    '}',
    ...ordered.map((f) => `load ${quote(f.file)} ${quote(f.collection)} ${f.type}`),
    `echo "imported ${ordered.length} collections"`,
    '',
  ];
  return lines.join('\n');
}

/** Writes the import files and `import.sh` into `out`; answers the files (the script not among them). */
export function writeImport(conversion: Conversion, out: string): ImportFile[] {
  const files = writeImportFiles(conversion, out);
  const script = join(out, 'import.sh');
  writeFileSync(script, importScript(files));
  chmodSync(script, 0o755);
  return files;
}
