/**
 * Workflow runs: newest first, filtered by status, a page of 50 at a time (the API pages with `before` = the last
 * id of a page). Each with its workflow, status, the steps done of all (and those skipped or awaiting approval),
 * cost, how long it has run and when it started; live — a new run appears, and a run's status and steps change as
 * their events arrive (run-reads.ts). A run opens its view (run-view.tsx).
 */
import { memo, useEffect, useMemo, useState } from 'react';
import { STATUSES } from '../../src/domain/status.js';
import type { WorkflowRun } from './api';
import { isTerminal } from './apply';
import { ColumnHeads, Elapsed, ErrorNote, FilterSelect, Pager, Section, StatusBadge } from './components';
import { dateTime, shortId, usd } from './format';
import { href } from './router';
import { RUN_PAGE } from './state';
import { store, useStore } from './store';

/** The statuses a run can have (the shared ones, with `paused`), in the order a run goes through them. */
const RUN_STATUSES = STATUSES;
const RUN_COLUMNS = ['Run', 'Status', 'Steps', 'Cost', 'Duration', 'Started'];

/** How many of a run's steps are complete. */
export function stepsDone(run: WorkflowRun): number {
  return run.steps.filter((s) => s.status === 'complete').length;
}

/** The steps neither complete nor still to come, as `, 2 skipped, 1 awaiting approval` ('' when none). */
export function stepsAside(run: WorkflowRun): string {
  const count = (status: string) => run.steps.filter((s) => s.status === status).length;
  const skipped = count('skipped');
  const waiting = count('waiting');
  return `${skipped ? `, ${skipped} skipped` : ''}${waiting ? `, ${waiting} awaiting approval` : ''}`;
}

/**
 * What a run has cost: its steps' costs added up, which the engine's total for the run can trail (it is written
 * after a step ends, with no event to say so, and not at all when a failed step ends the run).
 */
export function runCost(run: WorkflowRun): number {
  const steps = run.steps.reduce((sum, s) => sum + s.costUsd, 0);
  return Math.max(run.costUsd, steps);
}

export function Runs() {
  const [status, setStatus] = useState('');
  /** `before` of each page from the second to the one shown. */
  const [pages, setPages] = useState<string[]>([]);
  const before = pages.at(-1);
  const query = useMemo(() => ({ ...(status ? { status } : {}), ...(before ? { before } : {}) }), [status, before]);
  useEffect(() => store.runs.openList(query), [query]);
  const page = useStore((s) => s.runs);

  return (
    <Section title="Workflow runs" extra={<span className="muted">newest first</span>}>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <FilterSelect
          label="Status"
          value={status}
          options={RUN_STATUSES}
          onChange={(value) => {
            setStatus(value);
            setPages([]);
          }}
        />
      </form>
      {page?.error ? <ErrorNote>Could not load the runs: {page.error}</ErrorNote> : null}
      {!page?.loaded ? (
        <p className="muted">Loading…</p>
      ) : page.runs.length === 0 ? (
        <p className="muted" data-testid="runs-empty">
          {status ? `No ${status} runs.` : 'No workflow runs yet: start one with POST /api/v1/runs.'}
        </p>
      ) : (
        <table className="run-table">
          <ColumnHeads names={RUN_COLUMNS} />
          <tbody>
            {page.runs.map((r) => (
              <RunRow key={r.id} run={r} />
            ))}
          </tbody>
        </table>
      )}
      <Pager pages={pages} setPages={setPages} next={page?.next} perPage={RUN_PAGE} />
    </Section>
  );
}

const RunRow = memo(function RunRow({ run: r }: { run: WorkflowRun }) {
  return (
    <tr data-run-id={r.id} data-status={r.status}>
      <td className="run-name">
        <a href={href.run(r.id)}>{r.workflow}</a>
        <span className="muted" title={r.id}>
          {' '}
          · {shortId(r.id)}
          {r.createdBy ? ` · by ${r.createdBy}` : ''}
        </span>
      </td>
      <td>
        <StatusBadge status={r.status} />
      </td>
      <td className="num" data-label="steps" data-testid="run-steps">
        {stepsDone(r)} of {r.steps.length}
        {stepsAside(r)}
      </td>
      <td className="num" data-label="cost">
        {usd(runCost(r))}
      </td>
      <td className="num" data-label="took">
        <Elapsed from={r.startedAt} to={r.completedAt} running={!isTerminal(r.status)} />
      </td>
      <td className="muted">
        {r.startedAt ? <time dateTime={r.startedAt}>{dateTime(r.startedAt)}</time> : 'not started'}
      </td>
    </tr>
  );
});
