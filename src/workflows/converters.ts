/**
 * The named pure functions a `convert` step may call, each taking its step's `args`. A name not here is refused
 * when the definition is started, with the names there are.
 */
import { HubError } from '../domain/errors.js';
import { closestName } from '../domain/suggest.js';
import {
  convertToRequiredFormat,
  type PdfDocument,
  type PdfRequirements,
  validatePdfFormat,
} from '../exchange/pdf/index.js';

type Converter = (args: Record<string, unknown>) => unknown;

function need(args: Record<string, unknown>, name: string, fn: string): unknown {
  if (args[name] === undefined) throw new HubError('validation', `${fn} needs args.${name}`);
  return args[name];
}

export const CONVERTERS: Record<string, Converter> = {
  /** A document converted as requirements ask: `{ document, requirements }`. */
  convertToRequiredFormat: (a) =>
    convertToRequiredFormat(
      need(a, 'document', 'convertToRequiredFormat') as PdfDocument,
      need(a, 'requirements', 'convertToRequiredFormat') as PdfRequirements,
    ),
  /** A document checked against requirements: `{ document, requirements }` → `{ valid, issues }`. */
  validatePdfFormat: (a) =>
    validatePdfFormat(
      need(a, 'document', 'validatePdfFormat'),
      need(a, 'requirements', 'validatePdfFormat') as PdfRequirements,
    ),
  /** Its args, as they are (after templating): gathers earlier outputs into one value. */
  collect: (a) => a,
  /** The list `args.items` with `args.with` appended. */
  concat: (a) => [...((need(a, 'items', 'concat') as unknown[]) ?? []), ...((a.with as unknown[]) ?? [])],
};

export function converter(name: string): Converter {
  const found = Object.hasOwn(CONVERTERS, name) ? CONVERTERS[name] : undefined;
  if (!found) {
    const close = closestName(name, Object.keys(CONVERTERS));
    throw new HubError(
      'validation',
      `no convert function named ${name}${close ? ` (did you mean "${close}"?)` : ''}; the functions are ${Object.keys(CONVERTERS).join(', ')}`,
    );
  }
  return found;
}
