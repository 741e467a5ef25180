import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('where the command line writes', () => {
  it('writes to stdout and stderr only through the output module, so no text from the hub skips forTerminal', () => {
    const dir = import.meta.dirname;
    const writers = readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'output.ts')
      .filter((f) => /\.write\(|console\./.test(readFileSync(join(dir, f), 'utf8')));
    expect(writers).toEqual([]);
  });
});
