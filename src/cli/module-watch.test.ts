import { describe, expect, it } from 'vitest';
import type { HubEvent } from '../domain/types.js';
import { applyModuleEvent, type ModuleCondition, moduleNotice } from './module-watch.js';

const ok: ModuleCondition = { name: 'marker', health: 'healthy', healthError: null, paused: false };
const sick: ModuleCondition = { ...ok, health: 'unhealthy', healthError: 'pdftotext is not installed' };
const paused: ModuleCondition = { ...ok, paused: true };

function updated(data: Record<string, unknown>): HubEvent {
  return {
    seq: 1,
    cursor: 'c',
    at: '2026-01-01T00:00:00.000Z',
    type: 'module.updated',
    threadId: null,
    messageId: null,
    taskId: null,
    runId: null,
    module: 'marker',
    data,
  };
}

describe('what a watch says about the module to answer', () => {
  it('says nothing of a module that is fine', () => {
    expect(moduleNotice(ok, ok, 'pending')).toBeUndefined();
  });

  it('names an unhealthy module, why, and that the reply waits for it', () => {
    expect(moduleNotice(ok, sick, 'pending')).toBe(
      'module marker is unhealthy (pdftotext is not installed): the reply waits until it is healthy again (the service checks it again by itself)',
    );
  });

  it('names a paused module with the command that resumes it; a reply under way goes on', () => {
    expect(moduleNotice(ok, paused, 'pending')).toBe(
      'module marker is paused: the reply waits until it is resumed (claude-comms modules resume marker)',
    );
    expect(moduleNotice(ok, paused, 'processing')).toBe(
      'module marker is paused: the answer under way goes on; a reply waiting for it waits until it is resumed (claude-comms modules resume marker)',
    );
  });

  it('says it again only when something changed, and when the module is ready again', () => {
    expect(moduleNotice(sick, sick, 'pending')).toBeUndefined();
    expect(moduleNotice(sick, { ...sick, paused: true }, 'pending')).toMatch(
      /is unhealthy \(.*\) and paused: .* and it/,
    );
    expect(moduleNotice(sick, ok, 'pending')).toBe('module marker is healthy again: the reply can be answered');
    expect(moduleNotice(paused, ok, 'pending')).toBe('module marker is resumed: the reply can be answered');
  });

  it('follows module.updated events: paused, or health with its error', () => {
    expect(applyModuleEvent(ok, updated({ paused: true }))).toEqual(paused);
    expect(applyModuleEvent(ok, updated({ health: 'unhealthy', error: 'pdftotext is not installed' }))).toEqual(sick);
    expect(applyModuleEvent(sick, updated({ health: 'healthy' }))).toEqual(ok);
    expect(applyModuleEvent(ok, updated({ description: 'new words' }))).toEqual(ok);
  });
});
