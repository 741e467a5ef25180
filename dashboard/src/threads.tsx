/**
 * Threads: the conversations between modules. Replies stream in as their agents write them, each with its status
 * and timings, and a structured reply with its checking (validation.tsx). Agent output is untrusted text: it is
 * rendered as text (white-space: pre-wrap), never as HTML.
 */
import { memo, useEffect } from 'react';
import type { ThreadSummary } from './api';
import { isTerminal, type LiveMessage } from './apply';
import { Elapsed, ErrorNote, FilterSelect, RetryButton, StatusBadge } from './components';
import { dateTime, shortId } from './format';
import { href } from './router';
import { THREAD_MESSAGES_SHOWN, THREADS_SHOWN, type ThreadQuery } from './state';
import { store, useStore } from './store';
import { Validation } from './validation';

export function Threads({ id }: { id?: string | undefined }) {
  return (
    <div className={`threads${id ? ' has-open' : ''}`}>
      <ThreadList selected={id} />
      {id ? (
        <ThreadView id={id} />
      ) : (
        <p className="muted thread-placeholder">Pick a thread to follow its conversation.</p>
      )}
    </div>
  );
}

/** The reply-status filter's choices: unfinished replies together, then each way a reply ends. */
const REPLY_FILTERS = [
  { value: 'pending,processing', label: 'running or waiting' },
  { value: 'failed', label: 'failed' },
  { value: 'cancelled', label: 'cancelled' },
  { value: 'complete', label: 'complete' },
];

function ThreadList({ selected }: { selected?: string | undefined }) {
  const threads = useStore((s) => s.threads);
  const query = useStore((s) => s.threadQuery);
  const modules = useStore((s) => s.modules);
  const change = (key: keyof ThreadQuery, value: string) => {
    const { [key]: _dropped, ...rest } = query;
    store.filterThreads(value ? { ...rest, [key]: value } : rest);
  };
  const narrowed = Boolean(query.module || query.status);
  return (
    <nav className="thread-list card" aria-label="Threads">
      <h2>
        Threads <span className="heading-extra muted">newest {THREADS_SHOWN}</span>
      </h2>
      <form className="filters thread-filters" onSubmit={(e) => e.preventDefault()}>
        <FilterSelect
          label="Asked"
          value={query.module ?? ''}
          options={(modules ?? []).map((m) => m.name)}
          onChange={(value) => change('module', value)}
        />
        <FilterSelect
          label="Replies"
          value={query.status ?? ''}
          options={REPLY_FILTERS}
          onChange={(value) => change('status', value)}
        />
      </form>
      {!threads ? (
        <p className="muted">Loading…</p>
      ) : threads.length === 0 ? (
        <p className="muted">{narrowed ? 'No threads match.' : 'No threads yet: they start with a question.'}</p>
      ) : (
        <ul>
          {threads.map((t) => (
            <ThreadItem key={t.id} thread={t} selected={t.id === selected} />
          ))}
        </ul>
      )}
    </nav>
  );
}

/** "2 complete · 1 failed": the replies by status, when there is more than the newest to count. */
function tally(t: ThreadSummary): string {
  const counts = Object.entries(t.replies).filter(([, n]) => n > 0);
  if (counts.reduce((sum, [, n]) => sum + n, 0) < 2) return '';
  return counts.map(([status, n]) => `${n} ${status}`).join(' · ');
}

const ThreadItem = memo(function ThreadItem({ thread: t, selected }: { thread: ThreadSummary; selected: boolean }) {
  const counted = tally(t);
  return (
    <li data-thread-id={t.id} data-reply-status={t.latestReply?.status ?? 'none'}>
      <a href={href.thread(t.id)} aria-current={selected ? 'page' : undefined}>
        <span className="thread-title">{t.title || `thread ${shortId(t.id)}`}</span>
        <span className="thread-replies">
          {t.latestReply ? <StatusBadge status={t.latestReply.status} /> : null}
          <span className="thread-asked">{t.asked.length ? `asked ${t.asked.join(', ')}` : 'nobody asked yet'}</span>
        </span>
        {counted ? <span className="thread-tally muted small">{counted}</span> : null}
        <span className="muted small">
          {t.createdBy ? `${t.createdBy} · ` : ''}
          <time dateTime={t.updatedAt}>{dateTime(t.updatedAt)}</time>
        </span>
      </a>
    </li>
  );
});

function ThreadView({ id }: { id: string }) {
  useEffect(() => store.openThread(id), [id]);
  const slot = useStore((s) => s.thread);
  if (!slot || slot.id !== id) return <p className="muted">Loading…</p>;
  const retried = new Set(slot.messages.flatMap((m) => (m.retryOf ? [m.retryOf] : [])));
  return (
    <section className="thread card" data-thread-id={id}>
      <header className="thread-header">
        <a className="back" href={href.threads}>
          ← threads
        </a>
        <h2>{slot.thread?.title || `Thread ${shortId(id)}`}</h2>
        {slot.thread ? (
          <p className="muted">
            {slot.thread.createdBy ? `started by ${slot.thread.createdBy} · ` : ''}
            <time dateTime={slot.thread.createdAt}>{dateTime(slot.thread.createdAt)}</time> · {slot.messages.length}{' '}
            messages
          </p>
        ) : null}
      </header>
      {slot.error ? <ErrorNote>Could not load the thread: {slot.error}</ErrorNote> : null}
      {!slot.loaded && !slot.error ? <p className="muted">Loading…</p> : null}
      {slot.messages.length >= THREAD_MESSAGES_SHOWN ? (
        <p className="muted">The first {THREAD_MESSAGES_SHOWN} messages; later ones are not shown here.</p>
      ) : null}
      <ol className="messages">
        {slot.messages.map((m) => (
          <MessageView key={m.id} message={m} retried={retried.has(m.id)} />
        ))}
      </ol>
    </section>
  );
}

/** A message; `retried` when a retry of it is in the thread (a reply is retried once: its retry is retried). */
const MessageView = memo(function MessageView({ message: m, retried }: { message: LiveMessage; retried: boolean }) {
  const taskId = useStore((s) => s.taskOf[m.id]);
  const retriedTask = useStore((s) => (m.retryOf ? s.taskOf[m.retryOf] : undefined));
  const running = !isTerminal(m.status);
  return (
    <li className={`message role-${m.role}`} data-message-id={m.id} data-status={m.status}>
      <header className="message-header">
        <strong className="author">{m.author}</strong>
        <span className="muted">{m.role === 'user' ? 'asked' : m.role === 'system' ? 'system' : 'replied'}</span>
        <StatusBadge status={m.status} />
        <span className="timings muted small">
          <time dateTime={m.createdAt}>{dateTime(m.createdAt)}</time>
          {m.startedAt && m.role !== 'user' ? (
            <>
              {' · waited '}
              <Elapsed from={m.createdAt} to={m.startedAt} running={false} />
              {m.completedAt ? ' · took ' : ' · running '}
              <Elapsed from={m.startedAt} to={m.completedAt} running={running} />
            </>
          ) : null}
          {!m.startedAt && m.status === 'pending' ? (
            <>
              {' · waiting '}
              <Elapsed from={m.createdAt} to={null} running />
            </>
          ) : null}
        </span>
        {taskId ? (
          <a className="task-link" href={href.task(taskId)}>
            task
          </a>
        ) : null}
        {m.retryOf ? (
          <span className="muted small" data-testid="retry-of" data-retry-of={m.retryOf}>
            {'retry of '}
            {retriedTask ? (
              <a href={href.task(retriedTask)}>reply {shortId(m.retryOf)}</a>
            ) : (
              `reply ${shortId(m.retryOf)}`
            )}
          </span>
        ) : null}
        {m.role === 'assistant' && (m.status === 'failed' || m.status === 'cancelled') && !retried ? (
          <RetryButton path={`/messages/${m.id}/retry`} />
        ) : null}
      </header>
      <div className="content">{m.content || (running ? '…' : '')}</div>
      <Validation message={m} />
      {m.error ? <p className={m.status === 'cancelled' ? 'muted' : 'error-text'}>{m.error}</p> : null}
    </li>
  );
});
