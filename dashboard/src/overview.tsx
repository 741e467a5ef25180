/** The overview: totals, modules with their instances, the work under way and the live event feed. */
import type { HubEvent, Instance, ModuleView } from './api';
import { ErrorNote, inConfigFirst, ModuleBadges, RemovedNote, Section } from './components';
import type { FeedEntry } from './feed';
import { clock, describeEvent, shortId, usd } from './format';
import { href } from './router';
import { useStore } from './store';
import { TASK_STATUSES, TaskTable } from './tasks';

export function Overview() {
  const loadError = useStore((s) => s.loadError);
  return (
    <div className="overview">
      {loadError ? <ErrorNote>Could not load the overview: {loadError}</ErrorNote> : null}
      <Totals />
      <div className="columns">
        <div className="column">
          <Modules />
          <ActiveWork />
        </div>
        <EventFeed />
      </div>
    </div>
  );
}

function Totals() {
  const stats = useStore((s) => s.stats);
  const tile = (key: string, label: string, value: number | undefined, shown = String(value)) => (
    <div className={`tile tile-${key}${value ? ' nonzero' : ''}`} data-total={key} key={key}>
      <span className="tile-value">{value === undefined ? '…' : shown}</span>
      <span className="tile-label">{label}</span>
    </div>
  );
  return (
    <section className="totals" aria-label="Totals">
      {tile('total', 'tasks', stats?.total)}
      {TASK_STATUSES.map((s) => tile(s, s, stats ? (stats.byStatus[s] ?? 0) : undefined))}
      {tile('today', 'tasks today', stats?.createdSince)}
      {tile('cost', 'cost today', stats?.costSinceUsd, usd(stats?.costSinceUsd ?? 0))}
    </section>
  );
}

function Modules() {
  const modules = useStore((s) => s.modules);
  const instances = useStore((s) => s.instances);
  return (
    <Section title="Modules" extra={<a href={href.instances}>instances</a>}>
      {!modules ? (
        <p className="muted">Loading…</p>
      ) : modules.length === 0 ? (
        <p className="muted">No modules registered. Define them in config.yaml.</p>
      ) : (
        <div className="module-grid">
          {inConfigFirst(modules).map((m) => (
            <ModuleCard key={m.name} module={m} instances={(instances ?? []).filter((i) => i.module === m.name)} />
          ))}
        </div>
      )}
    </Section>
  );
}

function ModuleCard({ module: m, instances }: { module: ModuleView; instances: Instance[] }) {
  return (
    <article className={`module${m.removedAt ? ' removed' : ''}`} data-module={m.name}>
      <header>
        <h3>{m.name}</h3>
        <ModuleBadges module={m} />
      </header>
      {m.removedAt ? <RemovedNote removedAt={m.removedAt} /> : null}
      {m.description ? <p className="module-description">{m.description}</p> : null}
      {m.healthError ? <p className="error-text">{m.healthError}</p> : null}
      <p className="muted">
        {m.backend ?? 'no backend'} · up to {m.concurrency} at once · {m.instances.busy} busy, {m.instances.idle} idle
        {m.instances.paused ? `, ${m.instances.paused} paused` : ''}
      </p>
      {instances.length ? (
        <ul className="chips" aria-label={`instances of ${m.name}`}>
          {instances.map((i) => (
            <li key={i.id} className={`chip chip-${i.state}`} data-state={i.state} title={`instance ${i.id}`}>
              {shortId(i.id)} {i.state}
            </li>
          ))}
        </ul>
      ) : m.removedAt ? null : (
        <p className="muted small">No instance yet: one starts with the module's next question.</p>
      )}
    </article>
  );
}

function ActiveWork() {
  const active = useStore((s) => s.active);
  return (
    <Section title="Active work" extra={<a href={href.tasks}>all tasks</a>}>
      {!active ? (
        <p className="muted">Loading…</p>
      ) : active.length === 0 ? (
        <p className="muted">Nothing under way.</p>
      ) : (
        <TaskTable tasks={active} />
      )}
    </Section>
  );
}

function EventFeed() {
  const feed = useStore((s) => s.feed);
  return (
    <Section title="Live events" extra={<span className="muted">newest first</span>}>
      {feed.length === 0 ? (
        <p className="muted">Waiting for the next change…</p>
      ) : (
        <ol className="feed">
          {feed.map((entry) => (
            <FeedItem key={entry.event.seq} entry={entry} />
          ))}
        </ol>
      )}
    </Section>
  );
}

/** Where an event of the feed leads: its run (a run's and its steps' events), task, thread or schema. */
function feedLink(e: HubEvent): string | undefined {
  if (e.runId && !e.type.startsWith('task.')) return href.run(e.runId);
  if (e.taskId) return href.task(e.taskId);
  if (e.threadId) return href.thread(e.threadId);
  if (e.type === 'schema.published') return href.schema(e.data.name, e.data.version);
  return e.type === 'template.published' ? href.schemas : undefined;
}

function FeedItem({ entry }: { entry: FeedEntry }) {
  const e = entry.event;
  const link = feedLink(e);
  return (
    <li className="feed-item" data-type={e.type} data-seq={e.seq}>
      <time dateTime={e.at}>{clock(e.at)}</time>
      <span className="feed-type">{link ? <a href={link}>{e.type}</a> : e.type}</span>
      {e.module ? <span className="feed-module">{e.module}</span> : null}
      <span className="feed-text">{describeEvent(e, entry)}</span>
    </li>
  );
}
