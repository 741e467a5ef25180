/**
 * Small pieces every view uses: status badges, gauges, times, table heads, actions, the connection indicator and
 * the token prompt.
 */
import { type FormEvent, type ReactNode, useEffect, useState } from 'react';
import { failure, type ModuleView, post, type Retried } from './api';
import { between, dateTime, duration } from './format';
import { store, useStore } from './store';
import { getToken } from './token';

/** A status as a coloured badge (`data-status` names it for tests and styles). */
export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`status status-${status}`} data-status={status}>
      {status}
    </span>
  );
}

/** A module's state beside its name: removed from the configuration, or else unhealthy and paused. */
export function ModuleBadges({ module: m }: { module: ModuleView }) {
  if (m.removedAt) return <StatusBadge status="removed" />;
  return (
    <>
      {m.health === 'unhealthy' ? <StatusBadge status="unhealthy" /> : null}
      {m.paused ? <StatusBadge status="paused" /> : null}
    </>
  );
}

/** What a removed module still is: its history, kept; it takes no questions. */
export function RemovedNote({ removedAt }: { removedAt: string }) {
  return (
    <p className="muted small removed-note">
      Removed from the configuration <time dateTime={removedAt}>{dateTime(removedAt)}</time>: it takes no questions; its
      threads and tasks are kept.
    </p>
  );
}

/** Modules in the configuration first, removed ones after them, each group in the order given. */
export function inConfigFirst(modules: readonly ModuleView[]): ModuleView[] {
  return [...modules.filter((m) => !m.removedAt), ...modules.filter((m) => m.removedAt)];
}

/** A percentage as a bar with its number. */
export function ProgressBar({ value, label }: { value: number; label?: string }) {
  const shown = Math.round(Math.max(0, Math.min(100, value)));
  return (
    <span className="progress">
      <progress value={shown} max={100} aria-label={label ?? 'progress'} />
      <span className="progress-value">{shown} %</span>
    </span>
  );
}

/** Re-renders every second while `active`: for durations still running. */
function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return active ? Math.max(now, Date.now()) : now;
}

/** How long from `from` to `to`, counting up while `to` is null and `running`. */
export function Elapsed({ from, to, running }: { from: string | null; to: string | null; running: boolean }) {
  const now = useNow(running && !to);
  if (!from || (!to && !running)) return null;
  return <>{duration(between(from, to, now))}</>;
}

export function Section({ title, children, extra }: { title: string; children: ReactNode; extra?: ReactNode }) {
  return (
    <section className="card">
      <h2>
        {title}
        {extra ? <span className="heading-extra">{extra}</span> : null}
      </h2>
      {children}
    </section>
  );
}

/** A table's head: one column heading per name. */
export function ColumnHeads({ names }: { names: readonly string[] }) {
  return (
    <thead>
      <tr>
        {names.map((name) => (
          <th key={name} scope="col">
            {name}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/** Runs an action (an API call) from a button: whether it is running, and why it failed if it did. */
export function useAction(): [
  busy: boolean,
  error: string | null,
  run: (action: () => Promise<unknown>) => Promise<void>,
] {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(failure(err));
    } finally {
      setBusy(false);
    }
  };
  return [busy, error, run];
}

/** A filter's drop-down: "any", then `options` (a value, or a value with its label); `onChange` gets the value. */
export function FilterSelect(props: {
  label: string;
  value: string;
  options: readonly (string | { value: string; label: string })[];
  onChange: (value: string) => void;
}) {
  return (
    <label>
      {props.label}
      <select value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        <option value="">any</option>
        {props.options.map((option) => {
          const { value, label } = typeof option === 'string' ? { value: option, label: option } : option;
          return (
            <option key={value} value={value}>
              {label}
            </option>
          );
        })}
      </select>
    </label>
  );
}

export function ErrorNote({ children }: { children: ReactNode }) {
  return (
    <p className="error-note" role="alert">
      {children}
    </p>
  );
}

const CONNECTION_TEXT = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  unauthorized: 'Token needed',
} as const;

/** Whether the page is following the event stream, with why not when it is not. */
export function ConnectionIndicator() {
  const { state, attempt, error } = useStore((s) => s.connection);
  const detail = state === 'reconnecting' && attempt > 1 ? ` (attempt ${attempt})` : '';
  return (
    <output className="connection" data-state={state} aria-live="polite" title={error ?? undefined}>
      <span className="dot" aria-hidden="true" />
      {CONNECTION_TEXT[state]}
      {detail}
    </output>
  );
}

/** Asks for the service's API token (after a 401); the token is kept for this tab only. */
export function TokenPrompt() {
  const [value, setValue] = useState('');
  const refused = getToken() !== undefined;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (value.trim()) store.submitToken(value);
  };
  return (
    <form className="token-prompt card" onSubmit={submit} aria-labelledby="token-title">
      <h2 id="token-title">{refused ? 'The token was refused' : 'This service requires a token'}</h2>
      <p>
        Paste an API token (create one with <code>claude-comms token create</code>). It is kept in this tab only; a link
        may also carry it once as <code>?token=…</code>.
      </p>
      <label>
        Token
        <input
          type="password"
          autoComplete="off"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          name="token"
        />
      </label>
      <button type="submit">Connect</button>
    </form>
  );
}

/**
 * Retry: answers a failed or cancelled reply again (`path` is its `…/retry` route), a new reply to the same
 * question; `then` hears of the new reply and task. A refusal (it was retried or changed meanwhile) is shown.
 */
export function RetryButton({ path, then }: { path: string; then?: (retried: Retried) => void }) {
  const [busy, error, run] = useAction();
  return (
    <span className="retry">
      <button
        type="button"
        disabled={busy}
        onClick={() =>
          run(async () => {
            const retried = await post<Retried>(path);
            then?.(retried);
          })
        }
        title="ask the same question again: a new reply, with its own task"
      >
        {busy ? 'Retrying…' : 'Retry'}
      </button>
      {error ? <span className="error-text"> {error}</span> : null}
    </span>
  );
}

/**
 * Newest / Newer / Older over keyset pages: `pages` holds the cursor of each page gone past (the newest page has
 * none), `next` the cursor after the page shown.
 */
export function Pager(props: {
  pages: readonly string[];
  setPages: (update: (pages: string[]) => string[]) => void;
  next: string | null | undefined;
  perPage: number;
}) {
  const { pages, setPages, next, perPage } = props;
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" disabled={!pages.length} onClick={() => setPages(() => [])}>
        Newest
      </button>
      <button type="button" disabled={!pages.length} onClick={() => setPages((p) => p.slice(0, -1))}>
        Newer
      </button>
      <span className="muted">
        page {pages.length + 1} · {perPage} per page
      </span>
      <button type="button" disabled={!next} onClick={() => next && setPages((p) => [...p, next])}>
        Older
      </button>
    </nav>
  );
}
