// Two hubs over A2A, end to end, on every backend: hub B's service serves its modules as A2A skills; hub A has a
// module with `backend: a2a` pointing at B. A question to that module goes over A2A to B, is asked there of B's
// module (a command agent), and B's answer comes back as the reply in A — streamed, in the thread, with B's task and
// thread holding the same question. A follow-up in A's thread continues the same context (thread) in B.
import { afterEach, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service/service.js';
import { BACKENDS, hubFactory } from '../support/backends.js';
import { commandModule } from '../support/modules.js';
import { startBareService } from '../support/service.js';

const services: Service[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

/** B's agent: answers with the question it was asked, word for word after "B read:". */
const ECHO = `let q = ''; process.stdin.on('data', (d) => (q += d)).on('end', () => {
  for (const part of ['B read: ', q.trim().split('\\n').pop()]) process.stdout.write(part);
});`;

describe.each(BACKENDS)('one hub asking another over A2A on $name', (backend) => {
  const hubs = hubFactory(backend);
  afterEach(() => hubs.closeAll());
  it.skipIf(!backend.available)(
    "answers a question to a remote hub's module, and continues the thread there",
    async () => {
      const b = await startBareService(await backend.freshDatabase());
      services.push(b);
      await commandModule(b.hub, 'pdfinfo', ECHO);
      const hub = await hubs.open();
      await hub.modules.register({
        name: 'remote-pdfinfo',
        description: "hub B's pdfinfo",
        config: { backend: 'a2a', cwd: process.cwd(), url: b.url, skill: 'pdfinfo' },
      });
      await hub.startWorker();

      const asked = await hub.ask({ from: 'marker', to: 'remote-pdfinfo', prompt: 'How many pages?' });
      const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 30_000 });
      expect(done.status, done.message.error ?? '').toBe('complete');
      expect(done.message.content).toContain('B read: How many pages?');
      // B asked its own module the same question, in a thread of its own.
      const [bTask] = await b.hub.tasks.list({ module: 'pdfinfo' });
      expect(bTask?.status).toBe('complete');
      const bThreads = await b.hub.threads.list();
      expect(bThreads).toHaveLength(1);

      // A follow-up in A's thread continues B's thread (the A2A context), not a new one.
      const again = await hub.ask({
        from: 'marker',
        to: 'remote-pdfinfo',
        prompt: 'And tables?',
        threadId: asked.threadId,
      });
      const second = await hub.waitForCompletion(again.messageId, { timeoutMs: 30_000 });
      expect(second.status, second.message.error ?? '').toBe('complete');
      expect(second.message.content).toContain('B read: And tables?');
      expect(await b.hub.threads.list()).toHaveLength(1);
      expect(await b.hub.tasks.list({ module: 'pdfinfo' })).toHaveLength(2);
    },
  );
});
