/**
 * Reading a Server-Sent Events stream (https://html.spec.whatwg.org/multipage/server-sent-events.html) from
 * text chunks as they arrive. Pure: the HTTP client feeds it what `fetch` reads.
 */

/** One dispatched message: `event` defaults to `message`; `id` is absent when the message set none. */
export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/** Turns chunks of an event stream into messages; a message may span chunks, a chunk many messages. */
export class SseParser {
  private rest = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;

  /** The messages completed by `chunk`. */
  push(chunk: string): SseMessage[] {
    this.rest += chunk;
    const messages: SseMessage[] = [];
    for (;;) {
      const end = this.rest.search(/\r\n|\r|\n/);
      // A lone \r at the end of a chunk may be the first half of \r\n: wait for the next chunk.
      if (end < 0 || (end === this.rest.length - 1 && this.rest[end] === '\r')) break;
      const line = this.rest.slice(0, end);
      this.rest = this.rest.slice(end + (this.rest.startsWith('\r\n', end) ? 2 : 1));
      if (line === '') {
        if (this.data.length) {
          messages.push({
            event: this.event || 'message',
            data: this.data.join('\n'),
            ...(this.id === undefined ? {} : { id: this.id }),
          });
        }
        this.event = '';
        this.data = [];
        this.id = undefined;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') this.event = value;
      else if (field === 'data') this.data.push(value);
      else if (field === 'id' && !value.includes('\u0000')) this.id = value;
    }
    return messages;
  }
}
