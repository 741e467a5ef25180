import { describe, expect, it } from 'vitest';
import { SseParser } from './sse.js';

describe('SseParser', () => {
  it('reads messages split anywhere across chunks, with ids, event names and comments', () => {
    const parser = new SseParser();
    const stream =
      ': heartbeat\n\nevent: ready\nid: c1.4\ndata: {"cursor":"c1.4"}\n\nid: c1.5\nevent: task.logged\ndata: {"a":1}\n\n';
    const messages = [];
    for (let i = 0; i < stream.length; i += 7) messages.push(...parser.push(stream.slice(i, i + 7)));
    expect(messages).toEqual([
      { event: 'ready', id: 'c1.4', data: '{"cursor":"c1.4"}' },
      { event: 'task.logged', id: 'c1.5', data: '{"a":1}' },
    ]);
  });

  it('joins multi-line data, accepts CRLF (even split between chunks) and defaults the event to message', () => {
    const parser = new SseParser();
    expect(parser.push('data: one\r')).toEqual([]);
    expect(parser.push('\ndata:two\r\n\r\n')).toEqual([{ event: 'message', data: 'one\ntwo' }]);
  });

  it('dispatches nothing for a message without data, or one not yet ended by a blank line', () => {
    const parser = new SseParser();
    expect(parser.push('event: overflow\n\n')).toEqual([]);
    expect(parser.push('data: half')).toEqual([]);
    expect(parser.push('\n\n')).toEqual([{ event: 'message', data: 'half' }]);
  });
});
