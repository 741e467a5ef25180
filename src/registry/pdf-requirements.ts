/**
 * `queryPdfRequirements`: asks a module what structure it needs from PDF documents — the `pdf-structure` query
 * template, answered in `pdf-requirements@1.0.0`, checked and repaired like any structured answer — and answers
 * the validated requirements.
 */
import { HubError } from '../domain/errors.js';
import type { AskInput, AskResult } from '../domain/inputs.js';
import type { Message } from '../domain/types.js';
import type { PdfRequirements } from '../exchange/pdf/index.js';

/** What it needs of a hub. */
export interface Asker {
  ask(input: AskInput): Promise<AskResult>;
  waitForCompletion(messageId: string, options?: { timeoutMs?: number }): Promise<{ status: string }>;
  messages: { require(id: string): Promise<Message> };
}

export interface PdfRequirementsQuery {
  /** The asking module (default `marker`). */
  from?: string;
  /** What the documents are for, and what kind of PDFs they are: the template's parameters. */
  purpose?: string;
  documentKind?: string;
  /** How long to wait for the answer (default 10 minutes). */
  timeoutMs?: number;
  maxRepairs?: number;
  threadId?: string;
}

export async function queryPdfRequirements(
  hub: Asker,
  module: string,
  query: PdfRequirementsQuery = {},
): Promise<{ requirements: PdfRequirements; messageId: string; threadId: string }> {
  const params = {
    ...(query.purpose ? { purpose: query.purpose } : {}),
    ...(query.documentKind ? { documentKind: query.documentKind } : {}),
  };
  const asked = await hub.ask({
    from: query.from ?? 'marker',
    to: module,
    template: 'pdf-structure',
    params,
    ...(query.maxRepairs === undefined ? {} : { maxRepairs: query.maxRepairs }),
    ...(query.threadId ? { threadId: query.threadId } : {}),
  });
  const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: query.timeoutMs ?? 600_000 });
  const reply = await hub.messages.require(asked.messageId);
  if (done.status !== 'complete' || reply.value == null)
    throw new HubError(
      'unavailable',
      `${module} did not answer with its PDF requirements (${done.status}): ${reply.error ?? 'no value'}`,
      {
        details: { messageId: asked.messageId },
      },
    );
  return { requirements: reply.value as PdfRequirements, messageId: asked.messageId, threadId: asked.threadId };
}
