/** Text fit to store from what programs, agents and templates produce. Pure. */

/** Text a program wrote, fit to store: no NUL, no half of a surrogate pair, at most `max` characters. */
export function cleanText(text: string, max: number): string {
  const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
  const whole = text.replace(/\0/g, '').replace(lone, '\uFFFD');
  if (whole.length <= max) return whole;
  // Cut before a pair's second half, never between its halves.
  const end = /[\uD800-\uDBFF]/.test(whole[max - 1] ?? '') ? max - 1 : max;
  return `${whole.slice(0, end)}…`;
}
