/**
 * Instances: each module's live agents, what they are doing, and pause / resume / terminate. A module can be
 * paused as a whole too (it takes no new questions; queued work waits).
 */
import { useEffect } from 'react';
import { type Instance, type ModuleView, post } from './api';
import { ColumnHeads, ErrorNote, inConfigFirst, ModuleBadges, RemovedNote, StatusBadge, useAction } from './components';
import { dateTime, shortId } from './format';
import { href } from './router';
import { store, useStore } from './store';

const INSTANCE_COLUMNS = ['Instance', 'State', 'Runs', 'Answering', 'Last active', 'Actions'];

export function Instances() {
  const modules = useStore((s) => s.modules);
  const instances = useStore((s) => s.instances);
  if (!modules || !instances) return <p className="muted">Loading…</p>;
  const names = [...new Set([...inConfigFirst(modules).map((m) => m.name), ...instances.map((i) => i.module)])];
  if (!names.length) return <p className="muted">No modules registered. Define them in config.yaml.</p>;
  return (
    <div className="instances">
      {names.map((name) => (
        <ModuleInstances
          key={name}
          name={name}
          module={modules.find((m) => m.name === name)}
          instances={instances.filter((i) => i.module === name)}
        />
      ))}
    </div>
  );
}

function ModuleInstances({
  name,
  module: m,
  instances,
}: {
  name: string;
  module: ModuleView | undefined;
  instances: Instance[];
}) {
  const [busy, error, run] = useAction();
  const removed = Boolean(m?.removedAt);
  return (
    <section className={`card module-instances${removed ? ' removed' : ''}`} data-module={name}>
      <header className="module-instances-header">
        <h2>{name}</h2>
        {m ? <ModuleBadges module={m} /> : null}
        {m && !removed ? (
          <span className="muted">
            {instances.length} of {m.concurrency} live
          </span>
        ) : null}
        {m && !removed ? (
          <button
            type="button"
            disabled={busy}
            onClick={() => run(() => post(`/modules/${encodeURIComponent(name)}/${m.paused ? 'resume' : 'pause'}`))}
          >
            {m.paused ? 'Resume module' : 'Pause module'}
          </button>
        ) : null}
      </header>
      {error ? <ErrorNote>{error}</ErrorNote> : null}
      {m?.removedAt ? <RemovedNote removedAt={m.removedAt} /> : null}
      {m?.healthError && !removed ? <p className="error-text">{m.healthError}</p> : null}
      {instances.length ? (
        <table className="instance-table">
          <ColumnHeads names={INSTANCE_COLUMNS} />
          <tbody>
            {instances.map((i) => (
              <InstanceRow key={i.id} instance={i} removed={removed} />
            ))}
          </tbody>
        </table>
      ) : removed ? null : (
        <p className="muted">No live instances: one starts with the module's next question.</p>
      )}
    </section>
  );
}

/** An instance with its actions; one of a removed module can only be terminated (it would take nothing new). */
function InstanceRow({ instance: i, removed }: { instance: Instance; removed: boolean }) {
  const [busy, error, run] = useAction();
  const act = (action: 'pause' | 'resume' | 'terminate') => run(() => post(`/instances/${i.id}/${action}`));
  const live = i.state !== 'terminated';
  const pausable = live && !removed;
  return (
    <tr data-instance-id={i.id} data-state={i.state}>
      <td>
        <code title={i.id}>{shortId(i.id)}</code>
      </td>
      <td>
        <StatusBadge status={i.state} />
        {i.paused && i.state === 'busy' ? <span className="muted small"> pausing after this reply</span> : null}
      </td>
      <td className="num" data-label="runs">
        {i.runs}
      </td>
      <td data-label="answering">{i.messageId ? <Answering messageId={i.messageId} /> : '—'}</td>
      <td className="muted">
        <time dateTime={i.lastActiveAt}>{dateTime(i.lastActiveAt)}</time>
      </td>
      <td className="actions">
        {pausable && !i.paused ? (
          <button type="button" disabled={busy} onClick={() => act('pause')}>
            Pause
          </button>
        ) : null}
        {pausable && i.paused ? (
          <button type="button" disabled={busy} onClick={() => act('resume')}>
            Resume
          </button>
        ) : null}
        {live ? (
          <button type="button" className="danger" disabled={busy} onClick={() => act('terminate')}>
            Terminate
          </button>
        ) : null}
        {error ? <span className="error-text small">{error}</span> : null}
      </td>
    </tr>
  );
}

/** The reply an instance is answering, linked to its task's control panel once the task is known. */
function Answering({ messageId }: { messageId: string }) {
  const taskId = useStore((s) => s.taskOf[messageId]);
  useEffect(() => void store.findTask(messageId), [messageId]);
  const id = <code title={`reply ${messageId}`}>{shortId(messageId)}</code>;
  return taskId ? <a href={href.task(taskId)}>{id}</a> : id;
}
