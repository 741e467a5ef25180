import { type Message, type Part, Role, type StreamResponse, TaskState } from '@a2a-js/sdk';
import { describe, expect, it } from 'vitest';
import { cardUrl } from './a2a-backend.js';
import { A2aReplyReader, partText, stateName } from './a2a-reply.js';

const AGENT = 'A2A agent https://agents.example.com/';
const text = (value: string): Part => ({
  content: { $case: 'text', value },
  metadata: undefined,
  filename: '',
  mediaType: '',
});
const said = (value: string): Message => ({
  messageId: 'm',
  contextId: 'ctx',
  taskId: 't',
  role: Role.ROLE_AGENT,
  parts: [text(value)],
  metadata: undefined,
  extensions: [],
  referenceTaskIds: [],
});
const status = (state: TaskState, message?: string): StreamResponse => ({
  payload: {
    $case: 'statusUpdate',
    value: {
      taskId: 't',
      contextId: 'ctx',
      status: { state, message: message === undefined ? undefined : said(message), timestamp: undefined },
      metadata: undefined,
    },
  },
});
const chunk = (artifactId: string, value: string): StreamResponse => ({
  payload: {
    $case: 'artifactUpdate',
    value: {
      taskId: 't',
      contextId: 'ctx',
      artifact: { artifactId, name: '', description: '', parts: [text(value)], metadata: undefined, extensions: [] },
      append: true,
      lastChunk: false,
      metadata: undefined,
    },
  },
});

/** Reads every response, answering the events and how the run ended. */
function readAll(...responses: StreamResponse[]) {
  const reader = new A2aReplyReader(AGENT);
  const events = responses.flatMap((r) => reader.read(r));
  const outcome = reader.outcome();
  return { events: [...events, ...(outcome?.events ?? [])], done: outcome?.done, reader };
}

describe('reading a remote A2A agent’s stream', () => {
  it('passes artifact text on as the answer, a new artifact on a new paragraph, and names the context once', () => {
    const { events, done } = readAll(
      status(TaskState.TASK_STATE_WORKING, 'Looking it up'),
      chunk('a', 'The answer '),
      chunk('a', 'is 42.'),
      chunk('b', 'Sources: none.'),
      status(TaskState.TASK_STATE_COMPLETED, 'Done'),
    );
    expect(events).toEqual([
      { type: 'session', sessionId: 'ctx' },
      { type: 'log', level: 'info', text: 'Looking it up' },
      { type: 'text', text: 'The answer ' },
      { type: 'text', text: 'is 42.' },
      { type: 'text', text: '\n\nSources: none.' },
    ]);
    expect(done).toEqual({ type: 'done', ok: true });
  });

  it('takes the final status message as the answer when no artifact came', () => {
    const { events, done } = readAll(status(TaskState.TASK_STATE_COMPLETED, 'Use a B-tree.'));
    expect(events.at(-1)).toEqual({ type: 'text', text: 'Use a B-tree.' });
    expect(done?.ok).toBe(true);
  });

  it('adds nothing for a task snapshot repeating artifacts already streamed', () => {
    const reader = new A2aReplyReader(AGENT);
    reader.read(chunk('a', 'once'));
    const snapshot = reader.read({
      payload: {
        $case: 'task',
        value: {
          id: 't',
          contextId: 'ctx',
          status: { state: TaskState.TASK_STATE_COMPLETED, message: undefined, timestamp: undefined },
          artifacts: [
            { artifactId: 'a', name: '', description: '', parts: [text('once')], metadata: undefined, extensions: [] },
          ],
          history: [],
          metadata: undefined,
        },
      },
    });
    expect(snapshot).toEqual([]);
    expect(reader.outcome()?.done).toEqual({ type: 'done', ok: true });
  });

  it.each([
    [TaskState.TASK_STATE_FAILED, 'disk full', 'agent_error', 'the task failed: disk full'],
    [TaskState.TASK_STATE_FAILED, undefined, 'agent_error', 'the task failed (no reason given)'],
    [TaskState.TASK_STATE_REJECTED, 'not my job', 'agent_error', 'the agent rejected the task: not my job'],
    [TaskState.TASK_STATE_CANCELED, undefined, 'cancelled', 'the agent cancelled the task'],
    [
      TaskState.TASK_STATE_INPUT_REQUIRED,
      'Which one?',
      'agent_error',
      'the agent asks for more input, which the hub cannot give for the asker: Which one?',
    ],
    [
      TaskState.TASK_STATE_AUTH_REQUIRED,
      undefined,
      'agent_error',
      "the agent asks for authentication (check the module's token or tokenEnv)",
    ],
    [TaskState.TASK_STATE_COMPLETED, undefined, 'no_result', 'the task completed without an answer'],
  ] as const)('ends a run whose task is %s (said: %s) failed with %s', (state, message, reason, error) => {
    expect(readAll(status(state, message)).done).toEqual({
      type: 'done',
      ok: false,
      reason,
      error: `${AGENT}: ${error}`,
    });
  });

  it('keeps waiting while the task works, and knows it is still open', () => {
    const { done, reader } = readAll(status(TaskState.TASK_STATE_WORKING));
    expect(done).toBeUndefined();
    expect(reader.open).toBe(true);
    reader.read(status(TaskState.TASK_STATE_FAILED));
    expect(reader.open).toBe(false);
  });

  it('ends with a message answered without a task', () => {
    const { events, done } = readAll({ payload: { $case: 'message', value: said('Hello.') } });
    expect(events).toEqual([
      { type: 'session', sessionId: 'ctx' },
      { type: 'text', text: 'Hello.' },
    ]);
    expect(done?.ok).toBe(true);
  });

  it('shows data as JSON and a file by name, and names states as the protocol does', () => {
    expect(
      partText({ content: { $case: 'data', value: { a: 1 } }, metadata: undefined, filename: '', mediaType: '' }),
    ).toBe('{"a":1}');
    expect(
      partText({
        content: { $case: 'raw', value: Buffer.from('abc') },
        metadata: undefined,
        filename: 'x.pdf',
        mediaType: 'application/pdf',
      }),
    ).toBe('[file x.pdf, application/pdf, 3 bytes]');
    expect(stateName(TaskState.TASK_STATE_INPUT_REQUIRED)).toBe('input-required');
  });
});

describe('the agent card’s URL', () => {
  it.each([
    ['https://agents.example.com', 'https://agents.example.com/.well-known/agent-card.json'],
    ['https://agents.example.com/', 'https://agents.example.com/.well-known/agent-card.json'],
    ['http://host:8080/agents/x/', 'http://host:8080/agents/x/.well-known/agent-card.json'],
    ['https://agents.example.com/cards/x.json', 'https://agents.example.com/cards/x.json'],
  ])('of %s is %s', (url, card) => {
    expect(cardUrl(url)).toBe(card);
  });
});
