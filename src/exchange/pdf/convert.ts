/**
 * A `document` made into what its consumer's `pdf-requirements` ask: records for the documents, sections and
 * blocks collections, edges between them, valid `_key`s, hierarchy nested or flat, fields renamed, unwanted
 * kinds dropped — and a report of what was supplied, what could not be and what was dropped. Pure and
 * deterministic: the same input gives the same output, key for key.
 */
import { createHash } from 'node:crypto';
import type { PdfDocument } from './document-schema.js';
import { type Keys, keysFor } from './keys.js';
import { hasMetadataType, type ResolvedField, resolveMetadata } from './metadata.js';
import { type ContentKind, type Plan, planFor } from './plan.js';
import { renamed } from './records.js';
import type { CollectionRole, EdgeKind, EdgeSpec, PdfRequirements } from './requirements-schema.js';
import { buildTree, type Fields, type Tree } from './tree.js';
import { isObject, pagesOf } from './walk.js';

export interface Edge {
  _from: string;
  _to: string;
  _key?: string;
  kind: EdgeKind;
  [field: string]: unknown;
}

export interface ConversionReport {
  /** What the requirements asked for and the conversion supplies. */
  supplied: string[];
  /** What was asked for and cannot be supplied, with the reason. */
  notSupplied: { what: string; why: string }[];
  /** Block types left out, with how many blocks of each. */
  dropped: { what: string; count: number }[];
  /** Records per collection and edge collection, and `keysRewritten`, `headingsDemoted`. */
  counts: Record<string, number>;
}

export interface Conversion {
  /** Records by collection name. */
  collections: Record<string, Fields[]>;
  /** Edges by edge collection name; `_from` / `_to` are `collection/key`. */
  edges: Record<string, Edge[]>;
  report: ConversionReport;
}

/** The key to store for each record: the strategy's key, or a hashed one when the pattern refuses it or it is taken. */
function keyAllocator(plan: Plan, keys: Keys, rewritten: { count: number }) {
  const used = new Set<string>();
  return (key: string, id: string): string => {
    let chosen = key;
    if (!plan.keyPattern.test(chosen) || used.has(chosen)) {
      rewritten.count++;
      chosen = keys.hashedKey(id);
      for (let n = 2; used.has(chosen); n++) chosen = `${keys.hashedKey(id)}-${n}`;
    }
    used.add(chosen);
    return chosen;
  };
}

/** The document's own record: the metadata fields asked for, page count and table of contents when wanted. */
function documentRecordOf(
  document: PdfDocument,
  plan: Plan,
  fields: ResolvedField[],
  key: string,
  report: ConversionReport,
): Fields {
  const record: Fields = { _key: key };
  for (const { spec, value } of fields) {
    const what = `metadata.${spec.name}`;
    if (value === undefined)
      report.notSupplied.push({
        what,
        why: `${spec.required ? 'required' : 'optional'}; the document does not have it`,
      });
    else if (!hasMetadataType(spec.type, value))
      report.notSupplied.push({ what, why: `the document's value is not a ${spec.type}` });
    else {
      record[spec.name] = value;
      report.supplied.push(what);
    }
  }
  if (plan.pageSpans.wanted) record.pageCount = pagesOf(document).length;
  const toc = document.metadata?.table_of_contents;
  if (plan.sections.wanted && Array.isArray(toc))
    record.toc = toc.filter(isObject).map((e) => ({ title: e.title, level: e.heading_level ?? null, page: e.page_id }));
  return record;
}

/** Converts `document` as `requirements` ask; throws a `validation` HubError when the requirements are invalid. */
export function convertToRequiredFormat(document: PdfDocument, requirements: PdfRequirements): Conversion {
  const plan = planFor(requirements);
  const names = plan.collectionNames;
  const report: ConversionReport = { supplied: [], notSupplied: [], dropped: [], counts: {} };
  const fields = resolveMetadata(document, plan);
  const keys = keysFor(document, plan, fields);
  const rewritten = { count: 0 };
  const allocate = keyAllocator(plan, keys, rewritten);
  const documentKey = allocate(keys.documentKey, '');
  const documentRecord = documentRecordOf(document, plan, fields, documentKey, report);
  const tree = buildTree(document, plan, allocate, keys.blockKey);
  describeContent(plan, tree.present, report);
  const edges = buildEdges(plan, documentKey, tree, report);

  const collections: Record<string, Fields[]> = {};
  const store = (role: CollectionRole, records: Fields[]) => {
    const rename = plan.renames[role];
    const out = Object.keys(rename).length > 0 ? records.map((r) => renamed(r, rename)) : records;
    collections[names[role]] = [...(collections[names[role]] ?? []), ...out];
    for (const field of plan.requiredFields[role]) {
      const missing = out.filter((r) => r[field] === undefined || r[field] === null).length;
      if (missing > 0)
        report.notSupplied.push({
          what: `${names[role]}.${field}`,
          why: `${missing} of ${out.length} records have no ${field}`,
        });
    }
  };
  store('documents', [documentRecord]);
  store('sections', tree.sectionRecords);
  store(
    'blocks',
    tree.blocks.map((b) => b.record),
  );

  report.dropped = [...tree.dropped.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([what, count]) => ({ what, count }));
  for (const [name, records] of Object.entries(collections)) report.counts[name] = records.length;
  for (const [name, list] of Object.entries(edges)) report.counts[name] = list.length;
  report.counts.keysRewritten = rewritten.count;
  report.counts.headingsDemoted = tree.headingsDemoted;
  return { collections, edges, report };
}

/** The edges the requirements list, each kind from the records it links. */
function buildEdges(plan: Plan, documentKey: string, tree: Tree, report: ConversionReport): Record<string, Edge[]> {
  const { sectionRecords, sections, blocks } = tree;
  const names = plan.collectionNames;
  const ref = (role: CollectionRole, key: unknown) => `${names[role]}/${String(key)}`;
  const edges: Record<string, Edge[]> = {};
  const link = (spec: EdgeSpec, from: string, to: string, extra: Fields = {}) => {
    const key = createHash('sha256').update(`${spec.kind}\n${from}\n${to}`).digest('hex').slice(0, 32);
    const edge: Edge = plan.keyPattern.test(key)
      ? { _key: key, _from: from, _to: to, kind: spec.kind, ...extra }
      : { _from: from, _to: to, kind: spec.kind, ...extra };
    edges[spec.collection]?.push(edge);
  };
  for (const spec of plan.edges) {
    edges[spec.collection] ??= [];
    const sectionEdge = spec.kind !== 'has_block' && (spec.from === 'sections' || spec.to === 'sections');
    if (sectionEdge && !plan.sections.wanted) {
      report.notSupplied.push({ what: `${spec.kind} edges`, why: 'sections are not wanted' });
      continue;
    }
    const documentRef = ref('documents', documentKey);
    if (spec.kind === 'has_section')
      for (const [i, s] of sectionRecords.entries()) link(spec, documentRef, ref('sections', s._key), { order: i });
    if (spec.kind === 'has_block')
      for (const [i, { record, section }] of blocks.entries()) {
        const from = spec.from === 'sections' && section ? ref('sections', section.root.key) : documentRef;
        link(spec, from, ref('blocks', record._key), { order: i });
      }
    if (spec.kind === 'next') {
      const chain = spec.from === 'sections' ? sectionRecords : blocks.map((b) => b.record);
      const role = spec.from === 'sections' ? 'sections' : 'blocks';
      for (let i = 1; i < chain.length; i++) link(spec, ref(role, chain[i - 1]?._key), ref(role, chain[i]?._key));
    }
    if (spec.kind === 'parent_of') {
      if (plan.sections.hierarchy === 'nested') {
        report.notSupplied.push({
          what: 'parent_of edges',
          why: 'the hierarchy is nested: subsections are inside their root section',
        });
        continue;
      }
      for (const s of sections) if (s.parent) link(spec, ref('sections', s.parent.key), ref('sections', s.key));
    }
    report.supplied.push(`${spec.kind} edges`);
  }
  return edges;
}

/** What of the content, geometry and embedding was supplied or not. */
function describeContent(plan: Plan, present: Set<ContentKind>, report: ConversionReport): void {
  const options: Record<ContentKind, string> = {
    sections: `hierarchy ${plan.sections.hierarchy}, levels 1–${plan.sections.maxHeadingLevel}`,
    text: plan.text.keepHtml ? 'with html' : 'plain',
    lists: plan.lists.items ? 'with items' : 'as text',
    tables: plan.tables.cells
      ? `cells${plan.tables.spans ? ', spans' : ''}${plan.tables.headerFlags ? ', header flags' : ''}`
      : 'as text',
    figures: `images ${plan.figures.images}${plan.figures.captions ? ', captions' : ''}`,
    equations: plan.equations.format,
  };
  for (const kind of Object.keys(options) as ContentKind[]) {
    const part = plan[kind];
    if (!part.wanted) continue;
    if (present.has(kind)) report.supplied.push(`${kind} (${options[kind]})`);
    else if (part.required) report.notSupplied.push({ what: kind, why: `required, and the document has no ${kind}` });
  }
  if (plan.pageSpans.wanted) report.supplied.push('page spans');
  if (plan.boundingBoxes.wanted) report.supplied.push(`bounding boxes (${plan.boundingBoxes.form})`);
  const embedding = plan.embedding;
  if (embedding) {
    const chunking = embedding.chunking
      ? `, chunked by ${embedding.chunking.strategy} up to ${embedding.chunking.maxTokens} tokens`
      : '';
    report.notSupplied.push({
      what: 'embedding',
      why: `conversion does not compute vectors: embed ${embedding.fields.join(', ')} with ${embedding.model} (${embedding.dimensions} dimensions${chunking}) after import`,
    });
  }
}
