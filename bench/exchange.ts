/**
 * Row 12: exchange formats. (a) Checking a 5 MB structured document against `document@1.0.0` with Ajv and (b) against
 * a requirements value with `validatePdfFormat` (its schema check and the cross-reference rules), each timed after a
 * first call that compiles the schemas. (c) What a repair round costs the hub: a command agent (`/bin/sh`) prints the
 * wall clock first and last; its first answer fails the schema, its second passes. From the first run's last stamp to
 * the second run's first is the hub's work between them — reading and checking the answer, recording the round,
 * clearing the content, starting the agent again — the same hops as a follow-up ask's 6b (done → reply recorded) and
 * 6a (asked → agent started), whose targets it is held to together.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import {
  DOCUMENT_SCHEMA,
  EXAMPLE_REQUIREMENTS,
  syntheticDocument,
  validatePdfFormat,
} from '../src/exchange/pdf/index.js';
import { validateValue } from '../src/exchange/validator.js';
import { openHub } from '../src/index.js';
import { type Backend, type Cell, now, scratch, spread, stats } from './support.js';

const RUNS = 40;
const REPAIRS = 60;
const TARGET_MS = 50;
const TARGET_REPAIR_P99 = 40;
const SIZE = 5 * 1024 * 1024;

/** A document of 5 MB, made once for both backends' rows. */
let doc: unknown;

function timed(fn: () => void): number[] {
  fn(); // compiles
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = now();
    fn();
    samples.push(now() - t);
  }
  return samples;
}

export async function exchange(backend: Backend): Promise<Cell[]> {
  doc ??= syntheticDocument(SIZE);
  const bytes = Buffer.byteLength(JSON.stringify(doc));
  const mb = `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  let valid = true;
  const ajv = stats(
    timed(() => {
      valid &&= validateValue(DOCUMENT_SCHEMA, doc).valid;
    }),
  );
  const rules = stats(
    timed(() => {
      valid &&= validatePdfFormat(doc, EXAMPLE_REQUIREMENTS).valid;
    }),
  );
  const repair = await repairRounds(backend);
  const wrong = valid ? '' : ' (the document was found invalid!)';
  return [
    {
      row: `12a Checking a ${mb} document against document@1.0.0 (Ajv), compiled: p50 / p99 / max`,
      target: `p99 ≤ ${TARGET_MS} ms`,
      value: `${spread(ajv)}${wrong}`,
      ok: ajv.p99 <= TARGET_MS && valid,
    },
    {
      row: `12b validatePdfFormat on it (schema and cross-reference rules): p50 / p99 / max`,
      target: `p99 ≤ ${TARGET_MS} ms`,
      value: `${spread(rules)}${wrong}`,
      ok: rules.p99 <= TARGET_MS && valid,
    },
    {
      row: '12c Repair round: invalid answer done→agent asked again: p50 / p99 / max',
      target: `p99 ≤ ${TARGET_REPAIR_P99} ms (6a + 6b)`,
      value: `${spread(stats(repair.gaps))}${repair.wrong ? ` (${repair.wrong} wrong!)` : ''}`,
      ok: stats(repair.gaps).p99 <= TARGET_REPAIR_P99 && !repair.wrong,
    },
  ];
}

/** Stamp, read the question, answer (valid once told what was wrong), stamp. */
const SCRIPT = `date +%s%N; q=$(cat); case "$q" in *"does not satisfy"*) echo '{"n": 1}';; *) echo '{"m": 1}';; esac; date +%s%N`;

const stampMs = (line: string | undefined): number =>
  /^\d+$/.test(line ?? '') ? Number(BigInt(line as string) / 1000n) / 1000 : Number.NaN;

async function repairRounds(backend: Backend): Promise<{ gaps: number[]; wrong: number }> {
  const hub = await openHub({ database: await backend.fresh(), retentionDays: 0, config: false });
  try {
    const cwd = mkdtempSync(join(scratch(), 'repair-'));
    await hub.modules.register({
      name: 'repairer',
      config: { backend: 'command', cwd, command: '/bin/sh', args: ['-c', SCRIPT], concurrency: 1 },
    });
    await hub.schemas.publish({
      name: 'bench-n',
      version: '1.0.0',
      schema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'], additionalProperties: false },
    });
    await hub.startWorker();
    const gaps: number[] = [];
    let wrong = 0;
    for (let i = 0; i < REPAIRS + 5; i++) {
      const asked = await hub.ask({
        from: 'bench',
        to: 'repairer',
        prompt: `q${i}`,
        schema: 'bench-n@1.0.0',
        maxRepairs: 1,
      });
      const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 30_000 });
      const reply = await hub.messages.require(asked.messageId);
      const first = reply.validation?.rounds[0]?.answer.trim().split('\n');
      const second = reply.content.trim().split('\n');
      const gap = stampMs(second[0]) - stampMs(first?.at(-1));
      if (done.status !== 'complete' || reply.validation?.rounds.length !== 2 || !Number.isFinite(gap)) wrong++;
      else if (i >= 5) gaps.push(gap);
    }
    return { gaps, wrong };
  } finally {
    await hub.close();
  }
}
