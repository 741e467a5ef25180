/** How the dashboard writes money, times, durations, ids and one-line summaries of events. */
import type { HubEvent } from './api';

/** "$0.42"; small amounts keep four decimals ("$0.0031") so a cheap run does not read as free. */
export function usd(value: number): string {
  return value > 0 && value < 0.01 ? `$${value.toFixed(4)}` : `$${value.toFixed(2)}`;
}

/** "2 of 5", or "2" without a limit. */
export function iterationOf(v: { iteration: number; maxIterations: number | null }): string {
  return `${v.iteration}${v.maxIterations ? ` of ${v.maxIterations}` : ''}`;
}

/** "$0.42 of $2.00", or "$0.42" without a limit. */
export function costOf(v: { costUsd: number; maxCostUsd: number | null }): string {
  return `${usd(v.costUsd)}${v.maxCostUsd !== null ? ` of ${usd(v.maxCostUsd)}` : ''}`;
}

/** "14:03:27", local time. */
export function clock(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString(undefined, { hour12: false });
}

/** "2025-06-01 14:03:27", local time; today's times without the date. */
export function dateTime(iso: string, now = Date.now()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  if (new Date(now).toDateString() === d.toDateString()) return clock(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(iso)}`;
}

/** "850 ms", "12.3 s", "4 min 05 s", "2 h 10 min". */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** The time between two ISO times (to now when `to` is null). */
export function between(from: string | null, to: string | null, now = Date.now()): number {
  if (!from) return Number.NaN;
  return (to ? Date.parse(to) : now) - Date.parse(from);
}

/** The last 8 characters of an id: a UUIDv7's first ones are its time, alike for ids made together. */
export function shortId(id: string): string {
  return id.slice(-8);
}

/** One line saying what an event changed; `merged` counts content appends shown as one. */
export function describeEvent(
  e: HubEvent,
  merged = { appends: 1, added: e.type === 'message.content_updated' ? e.data.delta.length : 0 },
): string {
  switch (e.type) {
    case 'message.created':
      return `${e.data.author} wrote a ${e.data.role === 'user' ? 'question' : 'message'} (${e.data.status})`;
    case 'message.status_changed':
    case 'task.status_changed':
    case 'workflow_run.status_changed': {
      const { from, to, reason, error } = e.data;
      return `${from} → ${to}${reason ? ` (${reason})` : ''}${error ? `: ${error}` : ''}`;
    }
    case 'message.content_updated': {
      if (e.data.reset) return 'content cleared: the run was lost and starts again';
      const appends = merged.appends > 1 ? ` in ${merged.appends} appends` : '';
      return `+${merged.added} characters${appends} (${e.data.length} in all)`;
    }
    case 'thread.created':
      return `${e.data.title || 'untitled'}${e.data.createdBy ? ` by ${e.data.createdBy}` : ''}`;
    case 'task.created':
      return e.data.name;
    case 'task.progressed': {
      const { progress, iteration, costUsd, changed } = e.data;
      return `${progress} %, iteration ${iteration}, ${usd(costUsd)}${changed.length ? ` (${changed.join(', ')})` : ''}`;
    }
    case 'task.criterion_verified':
      return `✓ ${e.data.text} (${e.data.verified} of ${e.data.total})`;
    case 'task.logged':
      return `${e.data.level !== 'info' ? `${e.data.level}: ` : ''}${e.data.text}`;
    case 'instance.created':
      return `${shortId(e.data.instanceId)}: ${e.data.state}`;
    case 'instance.updated':
      return `${shortId(e.data.instanceId)}: ${e.data.from} → ${e.data.state}`;
    case 'module.updated': {
      const { paused, health, error, removed } = e.data;
      return [
        paused === true ? 'paused' : paused === false ? 'resumed' : '',
        health ? `${health}${error ? `: ${error}` : ''}` : '',
        removed === true ? 'removed from the configuration' : removed === false ? 'back in the configuration' : '',
      ]
        .filter(Boolean)
        .join(', ');
    }
    case 'module.registered':
      return e.data.description;
    case 'message.validated': {
      const { round, valid, issueCount, repairing } = e.data;
      const what = round === 0 ? 'answer' : `repair round ${round}`;
      if (valid) return `${what} valid`;
      return `${what} invalid (${issueCount} issue${issueCount === 1 ? '' : 's'})${repairing ? ': asking again' : ''}`;
    }
    case 'schema.published':
      return `${e.data.name}@${e.data.version} (${e.data.compatibility})`;
    case 'workflow_run.created':
      return `${e.data.workflow}: ${e.data.steps.length} step${e.data.steps.length === 1 ? '' : 's'}`;
    case 'step_run.status_changed': {
      const { stepId, from, to, attempt, reason, error } = e.data;
      const tried = attempt > 1 ? `, attempt ${attempt}` : '';
      return `${stepId}: ${from} → ${to}${tried}${reason ? ` (${reason})` : ''}${error ? `: ${error}` : ''}`;
    }
    case 'template.published':
      return `${e.data.name}@${e.data.version}, answers with ${e.data.answerSchema}`;
    default:
      return '';
  }
}
