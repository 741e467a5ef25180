/**
 * The agent control panel of one task: status, progress, iteration of max, cost of max cost, criteria with
 * pass/pending, files created and modified, the action log and errors, live; and a cancel button, which asks
 * to be confirmed in the page, then cancels the task's reply (its agent is stopped) or, for a task without one,
 * the task itself. A cancelled task says so plainly, with the reason given: a cancellation is not an error. A
 * failed or cancelled task behind a reply can be retried (a new reply and task, which the panel then shows); a
 * retry's panel links to the task it retries.
 */
import { useEffect, useState } from 'react';
import { type AgentControl, api, post } from './api';
import { isTerminal } from './apply';
import { Elapsed, ErrorNote, ProgressBar, RetryButton, StatusBadge, useAction } from './components';
import { clock, costOf, dateTime, iterationOf, shortId } from './format';
import { href } from './router';
import type { Cancellation } from './state';
import { store, useStore } from './store';

export function TaskPanel({ id }: { id: string }) {
  useEffect(() => store.openPanel(id), [id]);
  const panel = useStore((s) => s.panel);
  if (!panel || panel.id !== id || (!panel.view && !panel.error)) return <p className="muted">Loading…</p>;
  if (!panel.view) return <ErrorNote>Could not load the task: {panel.error}</ErrorNote>;
  const v = panel.view;
  // What the cancellation itself wrote as an error ("cancelled") is said by the cancelled note, not listed.
  const errors = v.status === 'cancelled' ? v.errors.filter((e) => !panel.cancellation?.notes.includes(e)) : v.errors;
  return (
    <article className="panel card" data-task-id={id} data-status={v.status}>
      <header className="panel-header">
        <div>
          <h2>{v.name}</h2>
          <p className="muted">
            {v.agentId ? `agent ${v.agentId} · ` : ''}
            {v.startedAt ? (
              <>
                started <time dateTime={v.startedAt}>{dateTime(v.startedAt)}</time> ·{' '}
                {v.completedAt ? 'took ' : 'running '}
                <Elapsed from={v.startedAt} to={v.completedAt} running={!isTerminal(v.status)} />
              </>
            ) : (
              'not started'
            )}
            {v.sessionId ? ` · session ${v.sessionId}` : ''}
            {v.retryOf ? (
              <>
                {' · '}
                <a href={href.task(v.retryOf)} data-testid="retry-of">
                  retry of task {shortId(v.retryOf)}
                </a>
              </>
            ) : null}
          </p>
        </div>
        <StatusBadge status={v.status} />
        <CancelButton view={v} />
        {v.messageId && (v.status === 'failed' || v.status === 'cancelled') ? (
          <RetryButton
            path={`/tasks/${v.taskId}/retry`}
            then={(retried) => {
              location.hash = href.task(retried.taskId);
            }}
          />
        ) : null}
      </header>
      {panel.error ? <ErrorNote>Could not refresh: {panel.error}</ErrorNote> : null}
      {v.status === 'cancelled' && panel.cancellation ? <CancelledNote cancellation={panel.cancellation} /> : null}

      <div className="gauges">
        <div className="gauge" data-gauge="progress">
          <span className="gauge-label">Progress</span>
          <ProgressBar value={v.progress} label="progress" />
        </div>
        <div className="gauge" data-gauge="iteration">
          <span className="gauge-label">Iteration</span>
          <span className="gauge-value">{iterationOf(v)}</span>
          {v.maxIterations ? <meter min={0} max={v.maxIterations} value={v.iteration} aria-label="iterations" /> : null}
        </div>
        <div className="gauge" data-gauge="cost">
          <span className="gauge-label">Cost</span>
          <span className="gauge-value">{costOf(v)}</span>
          {v.maxCostUsd ? (
            <meter min={0} max={v.maxCostUsd} high={v.maxCostUsd * 0.8} value={v.costUsd} aria-label="cost" />
          ) : null}
        </div>
        <div className="gauge" data-gauge="tokens">
          <span className="gauge-label">Tokens</span>
          <span className="gauge-value">
            {v.tokensIn.toLocaleString()} in · {v.tokensOut.toLocaleString()} out
          </span>
        </div>
      </div>

      <section className="panel-section">
        <h3>
          Criteria{' '}
          <span className="muted" data-testid="criteria-count">
            {v.criteriaPassed} of {v.criteriaTotal} pass
          </span>
        </h3>
        {v.criteria.length ? (
          <ul className="criteria">
            {v.criteria.map((c, i) => (
              // Criteria never move or vanish: their index is their identity.
              // biome-ignore lint/suspicious/noArrayIndexKey: see above
              <li key={i} data-criterion-status={c.status}>
                <span className="mark" aria-hidden="true">
                  {c.status === 'pass' ? '✓' : '○'}
                </span>
                <span className="criterion-text">{c.text}</span>
                <span className={`criterion-status criterion-${c.status}`}>{c.status}</span>
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">No acceptance criteria.</p>
        )}
      </section>

      <div className="files">
        <FileList title="Files created" files={v.filesCreated} kind="created" />
        <FileList title="Files modified" files={v.filesModified} kind="modified" />
      </div>

      {errors.length ? (
        <section className="panel-section errors">
          <h3>Errors</h3>
          <ul>
            {errors.map((e, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: errors only append; the same text may repeat
              <li key={i} className="error-text">
                {e}
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      <section className="panel-section">
        <h3>
          Action log <span className="muted">last {v.logs.length}</span>
        </h3>
        {v.logs.length ? (
          <ol className="log">
            {v.logs.map((l, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: the last lines of an append-only log
              <li key={`${l.at}-${i}`} className={`log-line log-${l.level}`}>
                <time dateTime={l.at}>{clock(l.at)}</time>
                {l.action ? <span className="log-action">{l.action}</span> : null}
                {l.success === false ? <span className="log-failed">failed</span> : null}
                <span className="log-text">{l.text}</span>
              </li>
            ))}
          </ol>
        ) : (
          <p className="muted">Nothing logged yet.</p>
        )}
      </section>

      {panel.threadId ? (
        <p>
          <a href={href.thread(panel.threadId)}>Open the conversation →</a>
        </p>
      ) : null}
    </article>
  );
}

function FileList({ title, files, kind }: { title: string; files: string[]; kind: string }) {
  return (
    <section className="panel-section" data-files={kind}>
      <h3>
        {title} <span className="muted">{files.length}</span>
      </h3>
      {files.length ? (
        <ul className="file-list">
          {files.map((f) => (
            <li key={f}>
              <code>{f}</code>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">None.</p>
      )}
    </section>
  );
}

/** How the task ended when it was cancelled: neutral, with when and the reason given. */
function CancelledNote({ cancellation: c }: { cancellation: Cancellation }) {
  return (
    <p className="cancelled-note" data-testid="cancelled">
      <strong>Cancelled</strong>
      {c.at ? (
        <>
          {' '}
          <time dateTime={c.at}>{dateTime(c.at)}</time>
        </>
      ) : null}
      {c.reason ? <span className="muted"> · {c.reason}</span> : null}
    </p>
  );
}

/** Cancel, then "Stop the agent" or "Keep it running": one slip of the mouse does not end a run. */
function CancelButton({ view }: { view: AgentControl }) {
  const [busy, error, run] = useAction();
  const [confirming, setConfirming] = useState(false);
  if (isTerminal(view.status)) return null;
  const cancel = async () => {
    const reason = 'cancelled from the dashboard';
    if (view.messageId) await post(`/messages/${view.messageId}/cancel`, { reason });
    else await api(`/tasks/${view.taskId}`, { method: 'PATCH', body: { status: 'cancelled', reason } });
    setConfirming(false);
    store.reloadPanel();
  };
  return (
    <div className="panel-actions">
      {confirming ? (
        <fieldset className="confirm">
          <legend>{view.messageId ? 'Stop this agent? Its reply ends cancelled.' : 'Cancel this task?'}</legend>
          <button type="button" className="danger" disabled={busy} onClick={() => run(cancel)}>
            {busy ? 'Cancelling…' : view.messageId ? 'Stop the agent' : 'Cancel the task'}
          </button>
          <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
            Keep it running
          </button>
        </fieldset>
      ) : (
        <button type="button" className="danger" onClick={() => setConfirming(true)}>
          Cancel
        </button>
      )}
      {error ? <span className="error-text">{error}</span> : null}
    </div>
  );
}
