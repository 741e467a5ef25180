/**
 * The command backend's stdout protocol: answer text streams through, lines starting with a marker carry
 * progress, criteria, log lines and cost as JSON. Also how a failed program is explained (its exit and the last
 * line of its stderr), shared with hook commands. Pure (no I/O), so it is tested on strings.
 */

import { errorText } from '../process/exit.js';
import type { AgentEvent } from './types.js';

/** A stdout line starting with this is a control message (JSON after the marker), not answer text. */
export const CONTROL_MARKER = '@@claude-comms ';

/**
 * Splits a program's stdout into answer text and control messages. Text is passed on as soon as it cannot be the
 * start of a control line, so an answer streams while it is written; only a line that starts (or may start) with
 * `CONTROL_MARKER` is held until its newline. Usage totals are kept here because control messages may report
 * cost without tokens, and `usage` events carry absolute values.
 */
export class CommandOutputParser {
  private buffer = '';
  private atLineStart = true;
  private usage = { costUsd: 0, tokensIn: 0, tokensOut: 0 };

  /** The events for the next piece of decoded stdout. */
  push(chunk: string): AgentEvent[] {
    this.buffer += chunk;
    const events: AgentEvent[] = [];
    let answer = '';
    const flushAnswer = () => {
      if (answer) events.push({ type: 'text', text: answer });
      answer = '';
    };
    while (this.buffer) {
      const newline = this.buffer.indexOf('\n');
      if (this.atLineStart && this.buffer.startsWith(CONTROL_MARKER)) {
        if (newline < 0) break;
        flushAnswer();
        events.push(...this.control(this.buffer.slice(CONTROL_MARKER.length, newline)));
        this.buffer = this.buffer.slice(newline + 1);
      } else if (this.atLineStart && CONTROL_MARKER.startsWith(this.buffer)) {
        break;
      } else {
        const end = newline < 0 ? this.buffer.length : newline + 1;
        answer += this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end);
        this.atLineStart = newline >= 0;
      }
    }
    flushAnswer();
    return events;
  }

  /** The events for whatever is held when stdout ends: a last control line without a newline, or text. */
  end(): AgentEvent[] {
    const rest = this.buffer;
    this.buffer = '';
    if (!rest) return [];
    if (rest.startsWith(CONTROL_MARKER)) return this.control(rest.slice(CONTROL_MARKER.length));
    return [{ type: 'text', text: rest }];
  }

  private control(json: string): AgentEvent[] {
    let message: unknown;
    try {
      message = JSON.parse(json);
    } catch (err) {
      return [warn(`malformed control line (${errorText(err)}): ${clip(json)}`)];
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      return [warn(`control line must be a JSON object: ${clip(json)}`)];
    }
    const fields = message as Record<string, unknown>;
    const events: AgentEvent[] = [];
    const problems: string[] = [];

    const progress: Extract<AgentEvent, { type: 'progress' }> = { type: 'progress' };
    if ('progress' in fields) {
      const percent = fields.progress;
      if (typeof percent === 'number' && percent >= 0 && percent <= 100) progress.percent = percent;
      else problems.push(`progress must be a number from 0 to 100, got ${clip(JSON.stringify(percent))}`);
    }
    if ('iteration' in fields) {
      const n = fields.iteration;
      if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 1e9) progress.iteration = n;
      else problems.push(`iteration must be a whole number of at least 0, got ${clip(JSON.stringify(n))}`);
    }
    if ('criterion' in fields) {
      if (typeof fields.criterion === 'string') progress.criterion = fields.criterion;
      else problems.push('criterion must be a string');
    }
    if (progress.percent !== undefined || progress.iteration !== undefined || progress.criterion !== undefined) {
      events.push(progress);
    }

    if ('log' in fields) {
      const level = fields.level ?? 'info';
      if (typeof fields.log !== 'string') problems.push('log must be a string');
      else if (level === 'info' || level === 'warn' || level === 'error') {
        events.push({ type: 'log', level, text: fields.log });
      } else {
        problems.push(`level must be info, warn or error, got ${clip(JSON.stringify(level))}`);
        events.push({ type: 'log', level: 'info', text: fields.log });
      }
    }

    if ('cost_usd' in fields) {
      const next = { ...this.usage };
      const read = (key: string, into: keyof typeof next) => {
        const value = fields[key];
        if (value === undefined) return true;
        if (typeof value === 'number' && Number.isFinite(value) && value >= 0) {
          next[into] = value;
          return true;
        }
        problems.push(`${key} must be a number of at least 0, got ${clip(JSON.stringify(value))}`);
        return false;
      };
      if (
        [read('cost_usd', 'costUsd'), read('tokens_in', 'tokensIn'), read('tokens_out', 'tokensOut')].every(Boolean)
      ) {
        this.usage = next;
        events.push({ type: 'usage', ...next });
      }
    }

    if (events.length === 0 && problems.length === 0) {
      problems.push('expected one of progress, iteration, criterion, log or cost_usd');
    }
    if (problems.length > 0) events.push(warn(`control line ignored in part: ${problems.join('; ')}: ${clip(json)}`));
    return events;
  }
}

/** A warning for the task log. */
export function warn(text: string): AgentEvent {
  return { type: 'log', level: 'warn', text };
}

/** `value`, cut to `max` characters for a message. */
export function clip(value: string, max = 200): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}
