/**
 * The task list: newest first, filtered by status, module and words of its name or log, a page of 50 at a time (the API pages with
 * `before` = the last id of a page), so thousands of tasks cost one page of rows.
 */
import { memo, useEffect, useMemo, useState } from 'react';
import type { Task } from './api';
import { ColumnHeads, ErrorNote, FilterSelect, Pager, ProgressBar, Section, StatusBadge } from './components';
import { costOf, dateTime, iterationOf } from './format';
import { href } from './router';
import { TASK_PAGE } from './state';
import { store, useStore } from './store';

/** The statuses a task can have (`paused` is for runs only), in the order a task goes through them. */
export const TASK_STATUSES = ['pending', 'processing', 'complete', 'failed', 'cancelled'] as const;
const TASK_COLUMNS = ['Task', 'Status', 'Progress', 'Iteration', 'Cost', 'Created'];

export function Tasks() {
  const modules = useStore((s) => s.modules);
  const [status, setStatus] = useState('');
  const [module, setModule] = useState('');
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  /** `before` of each page from the second to the one shown. */
  const [pages, setPages] = useState<string[]>([]);

  // The words filter applies 300 ms after the last keystroke, and only a changed filter goes back to the first
  // page: a timer armed regardless (on mount, say) would undo an "Older" clicked within those 300 ms.
  useEffect(() => {
    const name = search.trim();
    if (name === q) return;
    const timer = setTimeout(() => {
      setQ(name);
      setPages([]);
    }, 300);
    return () => clearTimeout(timer);
  }, [search, q]);

  const before = pages.at(-1);
  const query = useMemo(() => ({ status, module, q, ...(before ? { before } : {}) }), [status, module, q, before]);
  useEffect(() => store.openTasks(query), [query]);
  const page = useStore((s) => s.tasks);

  return (
    <Section title="Tasks">
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <FilterSelect
          label="Status"
          value={status}
          options={TASK_STATUSES}
          onChange={(value) => {
            setStatus(value);
            setPages([]);
          }}
        />
        <FilterSelect
          label="Module"
          value={module}
          options={(modules ?? []).map((m) => m.name)}
          onChange={(value) => {
            setModule(value);
            setPages([]);
          }}
        />
        <label className="grow">
          Words
          <input
            type="search"
            value={search}
            placeholder="words of its name or log"
            onChange={(e) => setSearch(e.target.value)}
          />
        </label>
      </form>
      {page?.error ? <ErrorNote>Could not load tasks: {page.error}</ErrorNote> : null}
      {!page?.loaded ? (
        <p className="muted">Loading…</p>
      ) : page.tasks.length === 0 ? (
        <p className="muted">No tasks{status || module || q ? ' match' : ' yet'}.</p>
      ) : (
        <TaskTable tasks={page.tasks} />
      )}
      <Pager pages={pages} setPages={setPages} next={page?.next} perPage={TASK_PAGE} />
    </Section>
  );
}

/** Tasks as a table (rows become cards on a narrow window). */
export function TaskTable({ tasks }: { tasks: readonly Task[] }) {
  return (
    <table className="task-table">
      <ColumnHeads names={TASK_COLUMNS} />
      <tbody>
        {tasks.map((t) => (
          <TaskRow key={t.id} task={t} />
        ))}
      </tbody>
    </table>
  );
}

const TaskRow = memo(function TaskRow({ task: t }: { task: Task }) {
  return (
    <tr data-task-id={t.id} data-status={t.status}>
      <td className="task-name">
        <a href={href.task(t.id)}>{t.name}</a>
        {t.module ? <span className="muted"> · {t.module}</span> : null}
      </td>
      <td>
        <StatusBadge status={t.status} />
      </td>
      <td>
        <ProgressBar value={t.progress} />
      </td>
      <td className="num" data-label="iteration">
        {iterationOf(t)}
      </td>
      <td className="num" data-label="cost">
        {costOf(t)}
      </td>
      <td className="muted">
        <time dateTime={t.createdAt}>{dateTime(t.createdAt)}</time>
      </td>
    </tr>
  );
});
