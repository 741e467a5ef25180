/** The one shape of a problem found in a value, by JSON Schema or by a rule in code. */

/** One thing wrong with a value: the same shape for JSON Schema errors and for rules checked by code. */
export interface ValidationIssue {
  /** JSON pointer to the value at fault (`""` is the whole value, `/sections/2/level` a field in it). */
  path: string;
  /** A sentence saying what is wrong. */
  message: string;
  /** What the schema or rule wants there. */
  expected: string;
  /** What is there, in short (JSON, cut at 80 characters), or `(missing)`. */
  found: string;
  /** A likely fix, when one is obvious. */
  suggestion?: string;
  /** The JSON Schema keyword or the named rule that failed. */
  rule: string;
}
