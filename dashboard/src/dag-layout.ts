/**
 * Where a run's steps go when its graph is drawn (run-graph.tsx), and which of them made it last as long as it
 * did: pure functions of the steps and their `after`, so the drawing's rules are tested without a browser.
 *
 * Layered left to right: a step's column is the longest path to it from a step that waits for none; within a
 * column, steps are ordered by the mean position of the steps they wait for (and then of those waiting for them),
 * sweeping down and up twice and keeping the order with the fewest edge crossings. Edges are curves from a step's
 * right side to its dependant's left side.
 */

/** A step as the layout needs it: its id and the ids of the steps it waits for. */
export interface DagStep {
  id: string;
  after: readonly string[];
}

/** A step's box: its column (`layer`), its place in the column (`order`, from the top), its top-left corner. */
export interface PlacedStep {
  id: string;
  layer: number;
  order: number;
  x: number;
  y: number;
}

/** An edge from the step waited for to the step that waits, with its SVG path. */
export interface DagEdge {
  from: string;
  to: string;
  path: string;
}

export interface DagLayout {
  /** In the order the steps were given. */
  steps: PlacedStep[];
  edges: DagEdge[];
  width: number;
  height: number;
}

/** The sizes the layout places boxes with, in SVG user units (CSS pixels at 1:1). */
export interface DagSizes {
  stepWidth: number;
  stepHeight: number;
  columnGap: number;
  rowGap: number;
  margin: number;
}

/**
 * Room for a step's id, its status and duration, its kind, items and module, and a running step's latest log line
 * and progress bar, on four lines and a bar: 200 wide fits "awaiting approval" beside "12 min 05 s", and a
 * 23-character id.
 */
export const DAG_SIZES: DagSizes = { stepWidth: 200, stepHeight: 82, columnGap: 56, rowGap: 18, margin: 8 };

/** Down-and-up sweeps of the ordering: two settle the small graphs workflows are. */
const SWEEPS = 2;

/**
 * Each step's column: 0 for a step that waits for none, else one more than the furthest of those it waits for.
 * An `after` naming no step is ignored; so is an edge closing a cycle (definitions are checked acyclic).
 */
export function layers(steps: readonly DagStep[]): Map<string, number> {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const layer = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (id: string): number => {
    const known = layer.get(id);
    if (known !== undefined) return known;
    visiting.add(id);
    let deepest = 0;
    for (const before of byId.get(id)?.after ?? []) {
      if (!byId.has(before) || visiting.has(before)) continue;
      deepest = Math.max(deepest, depth(before) + 1);
    }
    visiting.delete(id);
    layer.set(id, deepest);
    return deepest;
  };
  for (const s of steps) depth(s.id);
  return layer;
}

/** The edges to draw: each known `after` of each step, once, from the step waited for. */
function edgesOf(steps: readonly DagStep[], layer: ReadonlyMap<string, number>): [from: string, to: string][] {
  const edges: [string, string][] = [];
  for (const s of steps) {
    for (const before of new Set(s.after)) {
      const from = layer.get(before);
      const to = layer.get(s.id);
      if (from !== undefined && to !== undefined && from < to) edges.push([before, s.id]);
    }
  }
  return edges;
}

/** Columns of ids, top to bottom. */
type Columns = string[][];

/** A step's vertical place, centred: columns of different heights share a middle line. */
function positions(columns: Columns): Map<string, number> {
  const at = new Map<string, number>();
  for (const column of columns) {
    for (const [i, id] of column.entries()) at.set(id, i - (column.length - 1) / 2);
  }
  return at;
}

/**
 * How many pairs of edges cross, with each edge a straight line between its ends' centred places: two edges
 * whose column spans overlap cross when their order changes across the overlap.
 */
export function crossings(columns: Columns, edges: readonly (readonly [string, string])[]): number {
  const at = positions(columns);
  const column = new Map<string, number>();
  columns.forEach((ids, i) => {
    for (const id of ids) column.set(id, i);
  });
  const lines = edges.map(([from, to]) => ({
    x1: column.get(from) ?? 0,
    y1: at.get(from) ?? 0,
    x2: column.get(to) ?? 0,
    y2: at.get(to) ?? 0,
  }));
  const yAt = (l: (typeof lines)[number], x: number) => l.y1 + ((l.y2 - l.y1) * (x - l.x1)) / (l.x2 - l.x1);
  let count = 0;
  for (let i = 0; i < lines.length; i++) {
    for (let j = i + 1; j < lines.length; j++) {
      const a = lines[i];
      const b = lines[j];
      if (!a || !b) continue;
      const start = Math.max(a.x1, b.x1);
      const end = Math.min(a.x2, b.x2);
      if (start >= end) continue;
      if ((yAt(a, start) - yAt(b, start)) * (yAt(a, end) - yAt(b, end)) < 0) count++;
    }
  }
  return count;
}

/**
 * Each column reordered by the mean place of each step's neighbours (`neighbours` of a step: those it waits for
 * on a down sweep, those waiting for it on an up sweep), visiting columns in `visit` order so each uses the
 * places just set. A step without neighbours keeps its place; ties keep their order.
 */
function sweep(columns: Columns, neighbours: ReadonlyMap<string, readonly string[]>, visit: number[]): Columns {
  const next = columns.map((c) => [...c]);
  for (const i of visit) {
    const column = next[i];
    if (!column) continue;
    const at = positions(next);
    const keyed = column.map((id, place) => {
      const near = (neighbours.get(id) ?? []).map((n) => at.get(n)).filter((p) => p !== undefined);
      const own = at.get(id) ?? 0;
      const mean = near.length ? near.reduce((sum, p) => sum + p, 0) / near.length : own;
      return { id, mean, place };
    });
    keyed.sort((a, b) => a.mean - b.mean || a.place - b.place);
    next[i] = keyed.map((k) => k.id);
  }
  return next;
}

/** A curve from a step's right side to its dependant's left side, leaving and arriving horizontally. */
function curve(x1: number, y1: number, x2: number, y2: number): string {
  const bend = Math.max(24, (x2 - x1) / 2);
  return `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
}

/** The drawing of `steps`: each step's box, and a curve for each `after`; see the file's comment. */
export function layoutDag(steps: readonly DagStep[], sizes: DagSizes = DAG_SIZES): DagLayout {
  const layer = layers(steps);
  const edges = edgesOf(steps, layer);
  let columns: Columns = [];
  for (const s of steps) {
    const l = layer.get(s.id) ?? 0;
    while (columns.length <= l) columns.push([]);
    columns[l]?.push(s.id);
  }
  const before = new Map<string, string[]>();
  const after = new Map<string, string[]>();
  for (const [from, to] of edges) {
    before.set(to, [...(before.get(to) ?? []), from]);
    after.set(from, [...(after.get(from) ?? []), to]);
  }
  const down = columns.map((_, i) => i).slice(1);
  const up = columns
    .map((_, i) => i)
    .reverse()
    .slice(1);
  let best = columns;
  let fewest = crossings(columns, edges);
  for (let i = 0; i < SWEEPS && fewest > 0; i++) {
    for (const [neighbours, visit] of [
      [before, down],
      [after, up],
    ] as const) {
      columns = sweep(columns, neighbours, visit);
      const count = crossings(columns, edges);
      if (count < fewest) [best, fewest] = [columns, count];
    }
  }

  const { stepWidth, stepHeight, columnGap, rowGap, margin } = sizes;
  const tallest = Math.max(0, ...best.map((c) => c.length));
  const placed = new Map<string, PlacedStep>();
  best.forEach((column, l) => {
    const offset = (tallest - column.length) / 2;
    column.forEach((id, order) => {
      const x = margin + l * (stepWidth + columnGap);
      const y = margin + (offset + order) * (stepHeight + rowGap);
      placed.set(id, { id, layer: l, order, x, y });
    });
  });
  const drawn = edges.flatMap(([from, to]) => {
    const a = placed.get(from);
    const b = placed.get(to);
    if (!a || !b) return [];
    return [{ from, to, path: curve(a.x + stepWidth, a.y + stepHeight / 2, b.x, b.y + stepHeight / 2) }];
  });
  return {
    steps: steps.flatMap((s) => placed.get(s.id) ?? []),
    edges: drawn,
    width: best.length ? margin * 2 + best.length * stepWidth + (best.length - 1) * columnGap : 0,
    height: tallest ? margin * 2 + tallest * stepHeight + (tallest - 1) * rowGap : 0,
  };
}

/** A step as the critical path needs it: what it waits for, whether it ran, and when it ended. */
export interface TimedStep extends DagStep {
  status: string;
  startedAt: string | null;
  completedAt: string | null;
}

/** The steps of the critical path, first to last, and the edges between them. */
export interface CriticalPath {
  steps: string[];
  edges: { from: string; to: string }[];
}

/**
 * The chain of steps that decided when the run ended: from the step that ran and ended last, back through the
 * step it waited for that ended last, to a step that waited for none that ran. A step ran when it started and
 * ended and was not skipped; of steps that ended at the same time, the one named first (in `steps`, or in `after`)
 * is taken. Empty when no step ran.
 */
export function criticalPath(steps: readonly TimedStep[]): CriticalPath {
  const ran = new Map<string, { step: TimedStep; ended: number }>();
  for (const s of steps) {
    if (s.status === 'skipped' || !s.startedAt || !s.completedAt) continue;
    const ended = Date.parse(s.completedAt);
    if (!Number.isNaN(ended)) ran.set(s.id, { step: s, ended });
  }
  const latest = (ids: Iterable<string>) => {
    let found: { step: TimedStep; ended: number } | undefined;
    for (const id of ids) {
      const r = ran.get(id);
      if (r && (!found || r.ended > found.ended)) found = r;
    }
    return found;
  };
  const path: string[] = [];
  let current = latest(ran.keys());
  while (current && !path.includes(current.step.id)) {
    path.unshift(current.step.id);
    current = latest(current.step.after);
  }
  return {
    steps: path,
    edges: path.slice(1).map((to, i) => ({ from: path[i] as string, to })),
  };
}
