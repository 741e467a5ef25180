/**
 * One workflow run (`#/runs/<id>`): its status, cost and times, pause / resume / cancel (cancel asks to be
 * confirmed in the page); its steps drawn as their graph (run-graph.tsx: each step's status, time, items and
 * module, and once the run has ended its critical path), each opening its task panel; Approve and Reject, with a
 * note, for a step awaiting approval; then its steps listed in the order its definition lists them, each with
 * its status, attempt, duration, cost, error and reason, why it was skipped, its approval and its decision, what
 * its program reports while it runs (its progress and latest log line), a link to the step's task panel, and
 * Retry for a failed or cancelled step (a new attempt of it, and of what depends on it); its inputs, and its
 * output once complete. Live: read again on each of its events, its running steps' reports applied as their
 * tasks' events arrive (run-reads.ts), and the graph and the list are drawn from that one state. Errors, notes,
 * log lines, outputs and inputs come from programs and callers: rendered as text.
 */
import { useEffect, useState } from 'react';
import { type Approval, post, type StepRun, type WorkflowRun } from './api';
import { isTerminal } from './apply';
import { ColumnHeads, Elapsed, ErrorNote, ProgressBar, StatusBadge, useAction } from './components';
import { clock, dateTime, usd } from './format';
import { href } from './router';
import { RunGraph } from './run-graph';
import { runCost, stepsAside, stepsDone } from './runs';
import { type ProgressOf, percent, type StepProgress, shownProgress } from './step-progress';
import { store, useStore } from './store';

const STEP_COLUMNS = ['Step', 'Status', 'Attempt', 'Took', 'Cost', 'Details', ''];

/** A value as indented JSON (text, never markup); `undefined` as `null`. */
function json(value: unknown): string {
  return JSON.stringify(value ?? null, null, 2);
}

export function RunView({ id }: { id: string }) {
  useEffect(() => store.runs.openRun(id), [id]);
  const slot = useStore((s) => s.run);
  if (!slot || slot.id !== id || (!slot.run && !slot.error)) return <p className="muted">Loading…</p>;
  if (!slot.run) {
    return (
      <>
        <ErrorNote>Could not load the run: {slot.error}</ErrorNote>
        <a href={href.runs}>← all runs</a>
      </>
    );
  }
  const run = slot.run;
  const inputs = Object.keys(run.inputs ?? {}).length > 0;
  return (
    <article className="panel card run-view" data-run-id={run.id} data-status={run.status}>
      <header className="panel-header">
        <div>
          <a className="run-back" href={href.runs}>
            ← runs
          </a>
          <h2>{run.workflow}</h2>
          <p className="muted">
            run <code>{run.id}</code>
            {run.createdBy ? ` · started by ${run.createdBy}` : ''} ·{' '}
            {run.startedAt ? (
              <>
                started <time dateTime={run.startedAt}>{dateTime(run.startedAt)}</time> ·{' '}
                {run.completedAt ? 'took ' : 'running '}
                <Elapsed from={run.startedAt} to={run.completedAt} running={!isTerminal(run.status)} />
              </>
            ) : (
              'not started'
            )}{' '}
            · <span data-testid="run-cost">{usd(runCost(run))}</span>
            <span title={`sha-256 of its definition: ${run.hash}`}> · definition {run.hash.slice(0, 12)}</span>
          </p>
        </div>
        <StatusBadge status={run.status} />
        <RunControls run={run} />
      </header>
      {slot.error ? <ErrorNote>Could not refresh: {slot.error}</ErrorNote> : null}
      {run.error ? (
        <p className="error-note" data-testid="run-error">
          {run.error}
        </p>
      ) : null}

      <section className="panel-section">
        <h3>
          Steps{' '}
          <span className="muted" data-testid="run-steps">
            {stepsDone(run)} of {run.steps.length} complete{stepsAside(run)}
          </span>
        </h3>
        <RunGraph run={run} progress={slot.progress} />
        <Approvals run={run} />
        <table className="step-table">
          <ColumnHeads names={STEP_COLUMNS} />
          <tbody>
            {run.steps.map((s) => (
              <StepRow key={s.stepId} runId={run.id} step={s} progress={slot.progress} />
            ))}
          </tbody>
        </table>
      </section>

      {run.status === 'complete' ? (
        <section className="panel-section">
          <h3>Output</h3>
          <pre className="json" data-testid="run-output">
            {json(run.output)}
          </pre>
        </section>
      ) : null}

      <section className="panel-section">
        <h3>Inputs</h3>
        {inputs ? (
          <pre className="json" data-testid="run-inputs">
            {json(run.inputs)}
          </pre>
        ) : (
          <p className="muted">None.</p>
        )}
      </section>
    </article>
  );
}

/** Pause, resume, and cancel (confirmed): each enabled when the run's status allows it; a refusal is shown. */
function RunControls({ run }: { run: WorkflowRun }) {
  const [busy, error, act] = useAction();
  const [confirming, setConfirming] = useState(false);
  const canPause = run.status === 'pending' || run.status === 'processing';
  const canResume = run.status === 'paused';
  const canCancel = !isTerminal(run.status);
  const control = (action: 'pause' | 'resume' | 'cancel') =>
    act(async () => {
      try {
        await post(`/runs/${encodeURIComponent(run.id)}/${action}`);
      } finally {
        setConfirming(false);
        store.runs.reloadRun();
      }
    });
  return (
    <div className="panel-actions run-actions">
      <div className="run-buttons">
        <button
          type="button"
          disabled={busy || !canPause}
          onClick={() => control('pause')}
          title="running steps finish; no new step starts until the run is resumed"
        >
          Pause
        </button>
        <button type="button" disabled={busy || !canResume} onClick={() => control('resume')}>
          Resume
        </button>
        {confirming && canCancel ? null : (
          <button type="button" className="danger" disabled={busy || !canCancel} onClick={() => setConfirming(true)}>
            Cancel
          </button>
        )}
      </div>
      {confirming && canCancel ? (
        <fieldset className="confirm">
          <legend>Cancel this run? Its unfinished steps end cancelled and their programs are stopped.</legend>
          <button type="button" className="danger" disabled={busy} onClick={() => control('cancel')}>
            {busy ? 'Cancelling…' : 'Cancel the run'}
          </button>
          <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
            Keep it running
          </button>
        </fieldset>
      ) : null}
      {error ? (
        <span className="error-text" data-testid="run-action-error">
          {error}
        </span>
      ) : null}
    </div>
  );
}

function StepRow({ runId, step: s, progress }: { runId: string; step: StepRun; progress: ProgressOf }) {
  return (
    <tr data-step-id={s.stepId} data-status={s.status}>
      <td className="step-name">
        {s.taskId ? (
          <a href={href.task(s.taskId)} title="the step's task panel">
            {s.stepId}
          </a>
        ) : (
          <span title="reused from the run this one started from: it has no task">{s.stepId}</span>
        )}
        <span className="muted"> · {s.kind}</span>
        {s.after?.length ? <span className="muted small step-after"> after {s.after.join(', ')}</span> : null}
      </td>
      <td>
        <StatusBadge status={s.status} />
      </td>
      <td className="num" data-label="attempt" data-testid="step-attempt">
        {s.attempt}
      </td>
      <td className="num" data-label="took">
        <Elapsed from={s.startedAt} to={s.completedAt} running={s.status === 'processing' || s.status === 'waiting'} />
      </td>
      <td className="num" data-label="cost">
        {usd(s.costUsd)}
      </td>
      <td className="step-notes">
        <StepDetails step={s} report={shownProgress(s, progress)} />
      </td>
      <td>
        <StepRetry runId={runId} step={s} />
      </td>
    </tr>
  );
}

/**
 * A step's error and reason (of its last attempt, kept while a retry waits), when it tries again, why it was
 * skipped, its approval, its items and the module it was routed to, what its program reports while it runs, its
 * output.
 */
function StepDetails({ step: s, report }: { step: StepRun; report: StepProgress | undefined }) {
  const d = s.detail;
  return (
    <div className="step-details">
      {report ? <StepReport stepId={s.stepId} report={report} /> : null}
      {d?.skipped ? (
        <span className="muted small" data-testid="step-skipped">
          skipped: {d.skipped}
        </span>
      ) : null}
      {d?.approval ? <ApprovalFacts approval={d.approval} /> : null}
      {d?.items ? (
        <span className="muted small" data-testid="step-items">
          items: {d.items.complete} of {d.items.total} complete
          {d.items.running ? `, ${d.items.running} running` : ''}
          {d.items.failed ? `, ${d.items.failed} failed` : ''}
        </span>
      ) : null}
      {d?.routing ? (
        <span className="muted small" data-testid="step-routing">
          {d.routing.capability} → {d.routing.chosen}
        </span>
      ) : null}
      {s.error ? (
        <span className="error-text" data-testid="step-error">
          {s.error}
        </span>
      ) : null}
      {s.reason ? (
        <span className="muted small" data-testid="step-reason">
          {s.reason}
        </span>
      ) : null}
      {s.status === 'pending' && s.notBefore ? (
        <span className="muted small">
          next attempt at <time dateTime={s.notBefore}>{clock(s.notBefore)}</time>
        </span>
      ) : null}
      {s.status === 'complete' ? (
        <details className="step-output">
          <summary className="small">output</summary>
          <pre className="json" data-testid="step-output">
            {json(s.output)}
          </pre>
        </details>
      ) : null}
    </div>
  );
}

/** A running step's progress as a bar, and its latest log line on one line, cut to fit (whole in its title). */
function StepReport({ stepId, report }: { stepId: string; report: StepProgress }) {
  return (
    <span className="step-report" data-testid="step-progress">
      {percent(report) ? <ProgressBar value={report.progress} label={`progress of step ${stepId}`} /> : null}
      {report.log ? (
        <span className="muted small step-log" data-testid="step-log" title={report.log}>
          {report.log}
        </span>
      ) : null}
    </span>
  );
}

/** Retry: a new attempt of a failed or cancelled step, and of the steps after it that did not complete. */
function StepRetry({ runId, step }: { runId: string; step: StepRun }) {
  const [busy, error, act] = useAction();
  const retriable = step.status === 'failed' || step.status === 'cancelled';
  const path = `/runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(step.stepId)}/retry`;
  return (
    <span className="retry">
      <button
        type="button"
        disabled={busy || !retriable}
        onClick={() =>
          act(async () => {
            await post(path);
            store.runs.reloadRun();
          })
        }
        title="run this step again, with the steps after it that did not complete"
      >
        {busy ? 'Retrying…' : 'Retry'}
      </button>
      {error ? (
        <span className="error-text" data-testid="step-action-error">
          {' '}
          {error}
        </span>
      ) : null}
    </span>
  );
}

const DECISION_TEXT = { approved: 'approved', rejected: 'rejected', timed_out: 'timed out' } as const;

/** What an approval step asks, and who decided what, with their note. */
function ApprovalFacts({ approval: a }: { approval: Approval }) {
  return (
    <span className="small approval-facts" data-testid="step-approval">
      <span data-testid="approval-message">“{a.message}”</span>
      {a.decision ? (
        <span data-testid="approval-decision">
          {' '}
          {DECISION_TEXT[a.decision]}
          {a.by ? ` by ${a.by}` : ''}
          {a.at ? (
            <>
              {' '}
              at <time dateTime={a.at}>{clock(a.at)}</time>
            </>
          ) : null}
        </span>
      ) : null}
      {a.note ? <span data-testid="approval-note"> · note: {a.note}</span> : null}
    </span>
  );
}

/**
 * Approve or Reject, with an optional note, for each step awaiting approval. A refusal (the step was decided
 * elsewhere meanwhile) stays shown in the API's words after the step has left this list.
 */
function Approvals({ run }: { run: WorkflowRun }) {
  const [busy, error, act] = useAction();
  const waiting = run.steps.filter((s) => s.status === 'waiting');
  if (!waiting.length && !error) return null;
  const decide = (step: string, decision: 'approve' | 'reject', note: string) =>
    act(async () => {
      const path = `/runs/${encodeURIComponent(run.id)}/steps/${encodeURIComponent(step)}/${decision}`;
      try {
        await post(path, note.trim() ? { note: note.trim() } : {});
      } finally {
        store.runs.reloadRun();
      }
    });
  return (
    <div className="approvals">
      {waiting.map((s) => (
        <ApprovalForm key={s.stepId} step={s} busy={busy} decide={decide} />
      ))}
      {error ? (
        <p className="error-text" data-testid="approval-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}

function ApprovalForm(props: {
  step: StepRun;
  busy: boolean;
  decide: (step: string, decision: 'approve' | 'reject', note: string) => void;
}) {
  const { step: s, busy, decide } = props;
  const [note, setNote] = useState('');
  const a = s.detail?.approval;
  return (
    <form
      className="approval"
      data-step-id={s.stepId}
      aria-label={`Approve or reject step ${s.stepId}`}
      onSubmit={(e) => e.preventDefault()}
    >
      <p>
        <strong>{s.stepId}</strong> awaits approval{a?.message ? ': ' : ''}
        {a?.message ? <span data-testid="approval-request">{a.message}</span> : null}
      </p>
      {a?.approvers?.length || a?.timeoutAt ? (
        <p className="muted small">
          {a.approvers?.length ? `may be decided by ${a.approvers.join(', ')} or an unscoped token` : ''}
          {a.approvers?.length && a.timeoutAt ? ' · ' : ''}
          {a.timeoutAt ? (
            <>
              rejected if undecided at <time dateTime={a.timeoutAt}>{dateTime(a.timeoutAt)}</time>
            </>
          ) : null}
        </p>
      ) : null}
      <div className="approval-actions">
        <label>
          Note
          <input name="note" value={note} maxLength={2000} onChange={(e) => setNote(e.target.value)} />
        </label>
        <button type="button" disabled={busy} onClick={() => decide(s.stepId, 'approve', note)}>
          Approve
        </button>
        <button type="button" className="danger" disabled={busy} onClick={() => decide(s.stepId, 'reject', note)}>
          Reject
        </button>
      </div>
    </form>
  );
}
