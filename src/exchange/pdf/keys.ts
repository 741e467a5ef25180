/**
 * ArangoDB `_key`s for a document and its blocks, by the requirements' strategy. Block ids (`/page/0/Text/3`) hold
 * `/`, which `_key` refuses, and repeat in every document, so each key joins a document part to a block part:
 * `path` keeps the id's segments (`report-2024:page:0:Text:3`), `slug` lowercases them (`report-2024-page-0-text-3`),
 * `hash` is 32 hex digits of SHA-256 over both. The same document and requirements always give the same keys.
 */
import { createHash } from 'node:crypto';
import type { PdfDocument } from './document-schema.js';
import type { ResolvedField } from './metadata.js';
import type { Plan } from './plan.js';
import { isObject, pagesOf } from './walk.js';

export interface Keys {
  /** The `_key` of the document's own record. */
  documentKey: string;
  /** Pointer of the value the document key was made from (`''` when made from the content). */
  documentKeyPointer: string;
  /** The `_key` of the block with this id. */
  blockKey(id: string): string;
  /** A key made from `id` by hashing, whatever the strategy: the fallback when the strategy's key is unusable. */
  hashedKey(id: string): string;
  /** True when every block key has one shape (`hash`): checking one key against a pattern checks them all. */
  uniformShape: boolean;
}

/** Lowercase ASCII letters and digits joined by `-`, accents folded, at most `max` characters. */
export function slug(text: string, max = 64): string {
  const folded = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return folded.slice(0, max).replace(/-+$/, '');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/**
 * What the document key is made from: the first of `documentKeyFrom` that has a value (a requirement's metadata
 * field, else a key of `metadata`), else a digest of the page count and the first page's blocks.
 */
function documentKeySource(
  document: PdfDocument,
  plan: Plan,
  fields: ResolvedField[],
): { base: string; pointer: string } {
  const metadata = isObject(document) && isObject(document.metadata) ? document.metadata : {};
  for (const name of plan.keys.documentKeyFrom) {
    const field = fields.find((f) => f.spec.name === name);
    const value = field ? field.value : metadata[name];
    if ((typeof value === 'string' && value.trim() !== '') || typeof value === 'number')
      return { base: String(value), pointer: field ? field.pointer : `/metadata/${name}` };
  }
  const pages = pagesOf(document);
  const first = isObject(pages[0]) && Array.isArray(pages[0].children) ? pages[0].children : [];
  const digest = createHash('sha256').update(String(pages.length));
  for (const block of first)
    if (isObject(block)) digest.update(`\n${String(block.id)}\n${typeof block.html === 'string' ? block.html : ''}`);
  return { base: `doc-${digest.digest('hex').slice(0, 16)}`, pointer: '' };
}

/** The keys for `document` under the plan's key strategy and prefix. */
export function keysFor(document: PdfDocument, plan: Plan, fields: ResolvedField[]): Keys {
  const { strategy, prefix } = plan.keys;
  const { base, pointer } = documentKeySource(document, plan, fields);
  const docPart = slug(base) || 'document';
  const hashedKey = (id: string) => `${prefix}${sha256(`${base}\n${id}`)}`;
  const common = { documentKeyPointer: pointer, hashedKey };
  switch (strategy) {
    case 'hash':
      return { ...common, documentKey: `${prefix}${sha256(base)}`, blockKey: hashedKey, uniformShape: true };
    case 'slug':
      return {
        ...common,
        documentKey: `${prefix}${docPart}`,
        blockKey: (id) => `${prefix}${docPart}-${slug(id, 200)}`,
        uniformShape: false,
      };
    case 'path':
      return {
        ...common,
        documentKey: `${prefix}${docPart}`,
        blockKey: (id) => `${prefix}${docPart}:${id.slice(1).replace(/\//g, ':')}`,
        uniformShape: false,
      };
  }
}
