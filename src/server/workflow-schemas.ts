/** The workflow routes' requests and answers, as zod schemas for the OpenAPI document (checked like the rest). */
import { z } from '@hono/zod-openapi';
import { STATUSES, STEP_STATUSES } from '../domain/status.js';
import type { StepRun as StepRunRecord, WorkflowRun as WorkflowRunRecord } from '../domain/workflow-types.js';
import type { StoredDefinition as StoredDefinitionRecord } from '../store/workflow-runs.js';
import { answers } from './responses.js';

const status = z.enum(STATUSES);
const definition = z
  .record(z.string(), z.unknown())
  .openapi({ description: 'a workflow definition (see docs/workflows.md)' });

export const StepRun = answers<StepRunRecord>()(
  z
    .object({
      stepId: z.string(),
      kind: z.string(),
      after: z.array(z.string()).openapi({ description: 'the steps it waits for' }),
      status: z.enum(STEP_STATUSES).openapi({
        description: 'the shared statuses without paused, and waiting (for an approval) and skipped',
      }),
      attempt: z.number().int(),
      output: z.unknown().openapi({ description: 'the step output once complete' }),
      error: z.string().nullable(),
      reason: z.string().nullable(),
      taskId: z.string().nullable(),
      messageId: z.string().nullable(),
      costUsd: z.number(),
      notBefore: z.string().nullable(),
      startedAt: z.string().nullable(),
      completedAt: z.string().nullable(),
      updatedAt: z.string(),
      detail: z
        .object({
          skipped: z.string().optional().openapi({ description: 'why the step was skipped' }),
          approval: z
            .object({
              message: z.string(),
              approvers: z.array(z.string()).nullable(),
              timeoutAt: z.string().nullable(),
              decision: z.enum(['approved', 'rejected', 'timed_out']).optional(),
              by: z.string().optional(),
              note: z.string().optional(),
              at: z.string().optional(),
            })
            .optional()
            .openapi({ description: 'an approve step: what it asks, and who decided what' }),
          routing: z
            .object({
              capability: z.string(),
              chosen: z.string(),
              considered: z.array(
                z.object({
                  module: z.string(),
                  busy: z.number(),
                  queued: z.number(),
                  chosen: z.boolean(),
                  why: z.string().optional(),
                }),
              ),
            })
            .optional()
            .openapi({ description: 'an ask step naming a capability: the module chosen, and why' }),
          items: z
            .object({ total: z.number(), complete: z.number(), failed: z.number(), running: z.number() })
            .optional()
            .openapi({ description: 'a forEach step: its items by status' }),
        })
        .nullable(),
    })
    .openapi('StepRun'),
);
export const WorkflowRun = answers<WorkflowRunRecord>()(
  z
    .object({
      id: z.string(),
      workflow: z.string(),
      hash: z.string(),
      inputs: z.record(z.string(), z.unknown()),
      status,
      output: z.unknown(),
      error: z.string().nullable(),
      costUsd: z.number(),
      createdBy: z.string().nullable(),
      createdAt: z.string(),
      startedAt: z.string().nullable(),
      completedAt: z.string().nullable(),
      updatedAt: z.string(),
      steps: z.array(StepRun),
    })
    .openapi('WorkflowRun'),
);
export const RunList = z.object({ runs: z.array(WorkflowRun) });
export const StoredWorkflow = answers<StoredDefinitionRecord>()(
  z
    .object({
      name: z.string(),
      definition: z.unknown(),
      hash: z.string(),
      createdBy: z.string().nullable(),
      createdAt: z.string(),
      updatedAt: z.string(),
    })
    .openapi('Workflow'),
);
export const WorkflowList = z.object({ workflows: z.array(StoredWorkflow) });

const fileName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[^\n\r\0]+$/, 'one line')
  .optional()
  .openapi({ description: 'the file the yaml came from: its name in errors (file:line: path)' });
export const DefineBody = z
  .object({
    definition: definition.optional(),
    yaml: z.string().max(1_000_000).optional().openapi({ description: 'the definition as YAML (or JSON) text' }),
    file: fileName,
  })
  .strict()
  .openapi('DefineWorkflow');
export const StartBody = z
  .object({
    workflow: z.string().max(100).optional().openapi({ description: 'the name of a saved definition' }),
    definition: definition.optional(),
    yaml: z.string().max(1_000_000).optional(),
    file: fileName,
    inputs: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .openapi('StartRun');
export const DecisionBody = z
  .object({
    note: z.string().max(4000).optional().openapi({ description: 'why: kept with the decision' }),
  })
  .strict()
  .openapi('ApprovalDecision');
export const RunsQuery = z.object({
  status: status.optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  before: z.string().max(64).optional(),
});
export const StepParams = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' } }),
  step: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'step', in: 'path' } }),
});
