/**
 * Search: the header's box, and the page of hits it opens (`#/search?q=…`) — threads, questions, answers and tasks
 * holding every word, newest first, 20 at a time, each linking to its thread or task. Hits are a snapshot of when
 * the search ran (not kept live); snippets are agent output, rendered as text with the matched words in <mark>.
 */
import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { api, failure, type SearchHit } from './api';
import { ErrorNote, FilterSelect, Pager, Section, StatusBadge } from './components';
import { dateTime } from './format';
import { href } from './router';
import { useStore } from './store';
import { TASK_STATUSES } from './tasks';

/** Hits per page. */
const SEARCH_PAGE = 20;

/** What a hit is, by where its words were found. */
const WHAT: Record<SearchHit['field'], string> = {
  title: 'Thread',
  question: 'Question',
  answer: 'Answer',
  name: 'Task',
  log: 'Task log',
};

const KINDS = [
  { value: 'thread', label: 'threads' },
  { value: 'message', label: 'messages' },
  { value: 'task', label: 'tasks' },
];

/** The header's search box: opens the search page for what was typed. */
export function SearchBox({ current }: { current?: string | undefined }) {
  const [text, setText] = useState(current ?? '');
  useEffect(() => setText(current ?? ''), [current]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (text.trim()) window.location.hash = href.search(text.trim());
  };
  return (
    <search className="search-box">
      <form onSubmit={submit}>
        <input
          type="search"
          aria-label="Search"
          placeholder="Search threads, answers, tasks"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
      </form>
    </search>
  );
}

interface Page {
  hits: SearchHit[];
  next: string | null;
}

/** The hits for `q`, with filters and pages (rendered with `key={q}`: a new search starts afresh). */
export function Search({ q }: { q: string }) {
  const modules = useStore((s) => s.modules);
  const [kind, setKind] = useState('');
  const [status, setStatus] = useState('');
  const [module, setModule] = useState('');
  /** `before` of each page from the second to the one shown. */
  const [pages, setPages] = useState<string[]>([]);
  const [result, setResult] = useState<{ key: string; page?: Page; error?: string }>();

  const before = pages.at(-1);
  const query = useMemo(() => {
    const params = new URLSearchParams({ q, limit: String(SEARCH_PAGE) });
    for (const [key, value] of Object.entries({ kind, status, module, before })) if (value) params.set(key, value);
    return params.toString();
  }, [q, kind, status, module, before]);
  useEffect(() => {
    if (!q.trim()) return;
    let current = true;
    api<Page>(`/search?${query}`).then(
      (page) => current && setResult({ key: query, page }),
      (err: unknown) => current && setResult({ key: query, error: failure(err) }),
    );
    return () => {
      current = false;
    };
  }, [query, q]);
  const filter = (set: (value: string) => void) => (value: string) => {
    set(value);
    setPages([]);
  };

  const page = result?.key === query ? result.page : undefined;
  return (
    <Section title="Search" extra={q ? <span className="muted">{q}</span> : undefined}>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <FilterSelect label="Kind" value={kind} options={KINDS} onChange={filter(setKind)} />
        <FilterSelect label="Status" value={status} options={TASK_STATUSES} onChange={filter(setStatus)} />
        <FilterSelect
          label="Module"
          value={module}
          options={(modules ?? []).map((m) => m.name)}
          onChange={filter(setModule)}
        />
      </form>
      <p className="muted small">
        Each word finds the words that begin with it, in any case and with or without accents; every word must be in the
        same title, question, answer, task name or log entry.
      </p>
      {!q.trim() ? (
        <p className="muted">Type words in the search box above.</p>
      ) : result?.key === query && result.error ? (
        <ErrorNote>Could not search: {result.error}</ErrorNote>
      ) : !page ? (
        <p className="muted">Searching…</p>
      ) : page.hits.length === 0 ? (
        <p className="muted">Nothing {pages.length ? 'older ' : ''}holds these words.</p>
      ) : (
        <ol className="search-hits">
          {page.hits.map((h) => (
            <Hit key={h.id} hit={h} />
          ))}
        </ol>
      )}
      <Pager pages={pages} setPages={setPages} next={page?.next} perPage={SEARCH_PAGE} />
    </Section>
  );
}

/** Where a hit opens: a task's panel, or the thread a message or thread is. */
function target(h: SearchHit): string | undefined {
  if (h.kind === 'task') return h.taskId ? href.task(h.taskId) : undefined;
  return h.threadId ? href.thread(h.threadId) : undefined;
}

function Hit({ hit: h }: { hit: SearchHit }) {
  const open = target(h);
  const snippet = h.snippet.map((part, i) =>
    // biome-ignore lint/suspicious/noArrayIndexKey: the pieces of one snippet never move
    part.match ? <mark key={i}>{part.text}</mark> : <span key={i}>{part.text}</span>,
  );
  return (
    <li className="search-hit" data-hit-id={h.id} data-kind={h.kind} data-field={h.field}>
      <div className="search-hit-head">
        <strong>{WHAT[h.field]}</strong>
        {h.status ? <StatusBadge status={h.status} /> : null}
        {h.module ? <span className="muted">{h.module}</span> : null}
        <span className="muted small">
          <time dateTime={h.createdAt}>{dateTime(h.createdAt)}</time>
        </span>
        {h.kind === 'message' && h.taskId ? (
          <a className="small" href={href.task(h.taskId)}>
            task
          </a>
        ) : null}
        {h.kind === 'task' && h.threadId ? (
          <a className="small" href={href.thread(h.threadId)}>
            thread
          </a>
        ) : null}
      </div>
      {open ? (
        <a className="snippet" href={open}>
          {snippet}
        </a>
      ) : (
        <p className="snippet">{snippet}</p>
      )}
    </li>
  );
}
