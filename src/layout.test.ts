// The layout rules of docs/architecture.md, checked on the source: SQL only in src/store/, no module that imports
// another which imports it back (directly or round a longer loop), and the MCP tools beside the command line,
// reaching the hub only through client/.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

/** Every source file under src/ (tests excluded), as paths relative to src/. */
function sources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [relative(SRC, path)] : [];
  });
}

/** The relative imports of a file (type-only ones too: a loop of types is still a loop of rooms). */
function imports(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  return [...text.matchAll(/^(?:import|export)[^;]*?from '(\.{1,2}\/[^']+)'/gms)].map((m) =>
    relative(SRC, resolve(SRC, dirname(file), (m[1] as string).replace(/\.js$/, '.ts'))),
  );
}

describe('layout', () => {
  it('keeps SQL statements in src/store/', () => {
    const sql =
      /`[^`]*\b(SELECT\s+[\w*(]|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b|'[^']*\b(SELECT\s+[\w*(]|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b/;
    const outside = sources().filter(
      (file) => !file.startsWith('store/') && sql.test(readFileSync(join(SRC, file), 'utf8')),
    );
    expect(outside).toEqual([]);
  });

  it('lets mcp/ reach the hub only through client/ (and use domain/)', () => {
    const reaches = sources()
      .filter((file) => file.startsWith('mcp/'))
      .flatMap((file) => imports(file).map((to) => `${file} → ${to}`))
      .filter((edge) => !/ → (mcp|client|domain)\//.test(edge));
    expect(reaches).toEqual([]);
  });

  it('has no import loops', () => {
    const graph = new Map(sources().map((file) => [file, imports(file)]));
    const loops: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const path: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'open');
      path.push(file);
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'open') loops.push([...path.slice(path.indexOf(next)), next].join(' → '));
        else if (!state.has(next) && graph.has(next)) visit(next);
      }
      path.pop();
      state.set(file, 'done');
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    expect(loops).toEqual([]);
  });
});
