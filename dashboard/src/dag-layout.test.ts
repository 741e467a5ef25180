// How a run's graph is laid out (columns by longest path, rows ordered to avoid crossings, curves from side to
// side) and which steps make its critical path.
import { describe, expect, it } from 'vitest';
import { criticalPath, crossings, DAG_SIZES, layers, layoutDag, type TimedStep } from './dag-layout';

const step = (id: string, ...after: string[]) => ({ id, after });
const DIAMOND = [step('a'), step('b', 'a'), step('c', 'a'), step('d', 'b', 'c')];

function placeOf(layout: ReturnType<typeof layoutDag>, id: string) {
  const placed = layout.steps.find((s) => s.id === id);
  if (!placed) throw new Error(`${id} was not placed`);
  return placed;
}

describe('laying out a run’s steps', () => {
  it('puts each step one column right of the furthest step it waits for', () => {
    expect(Object.fromEntries(layers([step('a'), step('b', 'a'), step('c', 'a', 'b'), step('x')]))).toEqual({
      a: 0,
      b: 1,
      c: 2,
      x: 0,
    });
  });

  it('draws a diamond left to right, its two middle steps in one column, centred on the others', () => {
    const layout = layoutDag(DIAMOND);
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((id) => placeOf(layout, id));
    expect(a?.x).toBeLessThan(b?.x ?? 0);
    expect(b?.x).toBe(c?.x);
    expect(b?.x).toBeLessThan(d?.x ?? 0);
    expect(b?.y).toBeLessThan(c?.y ?? 0);
    // a and d sit midway between b and c.
    expect(a?.y).toBe(((b?.y ?? 0) + (c?.y ?? 0)) / 2);
    expect(d?.y).toBe(a?.y);
    const { stepWidth, stepHeight, columnGap, rowGap, margin } = DAG_SIZES;
    expect(layout.width).toBe(margin * 2 + 3 * stepWidth + 2 * columnGap);
    expect(layout.height).toBe(margin * 2 + 2 * stepHeight + rowGap);
  });

  it('draws one curve per dependency, from the right side of the step waited for to the left side of the other', () => {
    const layout = layoutDag(DIAMOND);
    expect(layout.edges.map((e) => `${e.from}→${e.to}`)).toEqual(['a→b', 'a→c', 'b→d', 'c→d']);
    const ab = layout.edges[0];
    const a = placeOf(layout, 'a');
    const b = placeOf(layout, 'b');
    const mid = DAG_SIZES.stepHeight / 2;
    expect(ab?.path.startsWith(`M${a.x + DAG_SIZES.stepWidth},${a.y + mid} C`)).toBe(true);
    expect(ab?.path.endsWith(` ${b.x},${b.y + mid}`)).toBe(true);
  });

  it('orders a column by the steps each waits for, so that edges do not cross', () => {
    // Listed as written, t1 (after s2) would sit beside s1 and t2 (after s1) beside s2: two edges crossing.
    const steps = [step('s1'), step('s2'), step('t1', 's2'), step('t2', 's1')];
    expect(
      crossings(
        [
          ['s1', 's2'],
          ['t1', 't2'],
        ],
        [
          ['s2', 't1'],
          ['s1', 't2'],
        ],
      ),
    ).toBe(1);
    const layout = layoutDag(steps);
    expect(placeOf(layout, 't2').y).toBeLessThan(placeOf(layout, 't1').y);
    const columns = [0, 1].map((l) =>
      layout.steps
        .filter((s) => s.layer === l)
        .sort((x, y) => x.order - y.order)
        .map((s) => s.id),
    );
    expect(
      crossings(columns, [
        ['s2', 't1'],
        ['s1', 't2'],
      ]),
    ).toBe(0);
  });

  it('counts the crossings of an edge that skips a column with the edges of the column it skips', () => {
    // a → c skips the middle column, which x → m → y passes through: above it, or crossing x → m.
    const edges = [
      ['a', 'c'],
      ['x', 'm'],
      ['m', 'y'],
    ] as const;
    expect(
      crossings(
        [
          ['a', 'x'],
          ['b', 'm'],
          ['c', 'y'],
        ],
        edges,
      ),
    ).toBe(0);
    expect(
      crossings(
        [
          ['a', 'x'],
          ['m', 'b'],
          ['y', 'c'],
        ],
        edges,
      ),
    ).toBe(1);
  });

  it('keeps the order steps are listed in when nothing crosses', () => {
    const layout = layoutDag([step('one'), step('two'), step('three')]);
    expect(layout.steps.map((s) => [s.id, s.layer, s.order])).toEqual([
      ['one', 0, 0],
      ['two', 0, 1],
      ['three', 0, 2],
    ]);
    expect(layout.edges).toEqual([]);
  });

  it('ignores an after naming no step and an edge closing a cycle, and lays out nothing as nothing', () => {
    const layout = layoutDag([step('a', 'ghost'), step('b', 'a', 'b')]);
    expect(layout.steps.map((s) => [s.id, s.layer])).toEqual([
      ['a', 0],
      ['b', 1],
    ]);
    expect(layout.edges.map((e) => `${e.from}→${e.to}`)).toEqual(['a→b']);
    expect(layers([step('p', 'q'), step('q', 'p')]).size).toBe(2);
    expect(layoutDag([])).toEqual({ steps: [], edges: [], width: 0, height: 0 });
  });
});

const at = (second: number) => `2025-06-01T10:00:${String(second).padStart(2, '0')}.000Z`;
function timed(id: string, after: string[], started: number | null, ended: number | null, status = 'complete') {
  return {
    id,
    after,
    status,
    startedAt: started === null ? null : at(started),
    completedAt: ended === null ? null : at(ended),
  } satisfies TimedStep;
}

describe('the critical path', () => {
  it('walks back from the step that ended last through the step each waited for that ended last', () => {
    const path = criticalPath([
      timed('a', [], 0, 1),
      timed('b', ['a'], 1, 3),
      timed('c', ['a'], 1, 7),
      timed('d', ['b', 'c'], 7, 9),
    ]);
    expect(path).toEqual({
      steps: ['a', 'c', 'd'],
      edges: [
        { from: 'a', to: 'c' },
        { from: 'c', to: 'd' },
      ],
    });
  });

  it('ends at the step that failed last when later steps never ran, and leaves out skipped steps', () => {
    const path = criticalPath([
      timed('a', [], 0, 2),
      timed('check', ['a'], 2, 4, 'failed'),
      timed('gate', ['a'], null, 5, 'skipped'),
      timed('after-gate', ['gate'], null, 5, 'skipped'),
      timed('last', ['check', 'after-gate'], null, null, 'cancelled'),
    ]);
    expect(path.steps).toEqual(['a', 'check']);
  });

  it('stops at a step whose predecessors did not run', () => {
    const path = criticalPath([timed('reused', [], null, null, 'complete'), timed('next', ['reused'], 3, 4)]);
    expect(path).toEqual({ steps: ['next'], edges: [] });
  });

  it('is empty when no step ran', () => {
    expect(criticalPath([timed('a', [], null, null, 'cancelled')])).toEqual({ steps: [], edges: [] });
  });
});
