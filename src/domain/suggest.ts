/**
 * "Did you mean": the known name closest to a mistyped one, by edit distance, and the message that names an
 * unknown module with it. Pure.
 */

/** Edits (a letter added, removed, changed, or two neighbours swapped) a typo may carry and still be suggested. */
const MAX_EDITS = 2;

/**
 * The optimal string alignment distance between `a` and `b`: Levenshtein's insertions, deletions and
 * substitutions, plus swaps of two adjacent letters (`markre` → `marker` is one edit, not two).
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) rows.push([i, ...Array<number>(b.length).fill(0)]);
  const row = (i: number) => rows[i] as number[];
  for (let j = 0; j <= b.length; j++) row(0)[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        (row(i - 1)[j] as number) + 1,
        (row(i)[j - 1] as number) + 1,
        (row(i - 1)[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (row(i - 2)[j - 2] as number) + 1);
      }
      row(i)[j] = best;
    }
  }
  return row(a.length)[b.length] as number;
}

/**
 * The name in `known` closest to `name` (ignoring case) within two edits — and within a third of the name's
 * length, so `ab` does not suggest `xy` — the first such in `known` on a tie; undefined when none is close.
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const wanted = name.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(wanted, candidate.toLowerCase());
    const limit = Math.min(MAX_EDITS, Math.max(1, Math.floor(Math.max(wanted.length, candidate.length) / 3)));
    if (distance <= limit && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

/** `did you mean "marker"?`, or with no close name the known names (up to 20), or that there are none. */
export function nameHint(name: string, known: readonly string[], what = 'modules'): string {
  const close = closestName(name, known);
  if (close) return `did you mean "${close}"?`;
  if (!known.length) return `no ${what} are defined`;
  return `the ${what} are: ${known.slice(0, 20).join(', ')}${known.length > 20 ? ', …' : ''}`;
}

/** `unknown module "markr" (did you mean "marker"?)`, or naming the modules there are. */
export function unknownModuleMessage(name: string, known: readonly string[]): string {
  return `unknown module "${name}" (${nameHint(name, known)})`;
}
