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

const text = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

/** One line saying what an event changed; `merged` counts content appends shown as one. */
export function describeEvent(e: HubEvent, merged = { appends: 1, added: text(e.data.delta).length }): string {
  const d = e.data;
  switch (e.type) {
    case 'message.created':
      return `${text(d.author)} wrote a ${text(d.role) === 'user' ? 'question' : 'message'} (${text(d.status)})`;
    case 'message.status_changed':
    case 'task.status_changed':
      return `${text(d.from)} → ${text(d.to)}${d.reason ? ` (${text(d.reason)})` : ''}${d.error ? `: ${text(d.error)}` : ''}`;
    case 'message.content_updated': {
      if (d.reset === true) return 'content cleared: the run was lost and starts again';
      const appends = merged.appends > 1 ? ` in ${merged.appends} appends` : '';
      return `+${merged.added} characters${appends} (${text(d.length)} in all)`;
    }
    case 'thread.created':
      return `${text(d.title) || 'untitled'}${d.createdBy ? ` by ${text(d.createdBy)}` : ''}`;
    case 'task.created':
      return text(d.name);
    case 'task.progressed': {
      const changed = Array.isArray(d.changed) ? (d.changed as string[]).join(', ') : '';
      return `${text(d.progress)} %, iteration ${text(d.iteration)}, ${usd(Number(d.costUsd ?? 0))}${changed ? ` (${changed})` : ''}`;
    }
    case 'task.criterion_verified':
      return `✓ ${text(d.text)} (${text(d.verified)} of ${text(d.total)})`;
    case 'task.logged':
      return `${d.level && d.level !== 'info' ? `${text(d.level)}: ` : ''}${text(d.text)}`;
    case 'instance.created':
    case 'instance.updated':
      return `${shortId(text(d.instanceId))}: ${d.from ? `${text(d.from)} → ` : ''}${text(d.state)}`;
    case 'module.updated':
      return [
        d.paused === true ? 'paused' : d.paused === false ? 'resumed' : '',
        d.health ? `${text(d.health)}${d.error ? `: ${text(d.error)}` : ''}` : '',
      ]
        .filter(Boolean)
        .join(', ');
    case 'module.registered':
      return text(d.description);
    default:
      return '';
  }
}
