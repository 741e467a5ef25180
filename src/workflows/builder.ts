/**
 * The TypeScript builder: the same definition a YAML file gives, written in code —
 * `workflow('pdf-to-graph').step('requirements', ask({ to: 'arangodb', template: 'pdf-structure' }))
 *   .step('convert', convert('convertToRequiredFormat', { … }), { after: ['requirements'] }).build()`.
 * `build()` checks it as a loaded file is checked. The original design's `create_workflow`, `add_workflow_step`
 * and `execute_workflow` are `workflow()`, `.step()` and `hub.workflows.start()`.
 */
import {
  type ApproveSpec,
  type AskSpec,
  type CommandSpec,
  type ConvertSpec,
  checkDefinition,
  type ForEachSpec,
  type RetryPolicy,
  type StepDefinition,
  type ValidateSpec,
  type WorkflowDefinition,
} from './definition.js';

type Kind = Pick<StepDefinition, 'ask' | 'validate' | 'convert' | 'command' | 'approve'>;

export const ask = (spec: AskSpec): Kind => ({ ask: spec });
export const validate = (schema: ValidateSpec['schema'], value: unknown): Kind => ({ validate: { schema, value } });
export const convert = (fn: string, args?: ConvertSpec['args']): Kind => ({
  convert: { function: fn, ...(args ? { args } : {}) },
});
export const command = (spec: CommandSpec): Kind => ({ command: spec });
export const approve = (spec: ApproveSpec = {}): Kind => ({ approve: spec });

export interface StepOptions {
  after?: string[];
  retry?: RetryPolicy;
  timeoutMs?: number;
  description?: string;
  /** A condition (see conditions.ts): the step is skipped when it does not hold. */
  when?: string;
  runIfSkipped?: boolean;
  forEach?: ForEachSpec;
}

export class WorkflowBuilder {
  private readonly def: WorkflowDefinition;

  constructor(name: string, options: Omit<WorkflowDefinition, 'name' | 'steps'> = {}) {
    this.def = { name, ...options, steps: [] };
  }

  step(id: string, kind: Kind, options: StepOptions = {}): this {
    this.def.steps.push({ id, ...options, ...kind });
    return this;
  }

  /** The run output: a template over step outputs. */
  output(template: unknown): this {
    this.def.output = template;
    return this;
  }

  /** The definition, checked (a `validation` error lists every problem). */
  build(): WorkflowDefinition {
    return checkDefinition(structuredClone(this.def), `workflow ${this.def.name}`);
  }
}

export function workflow(name: string, options?: Omit<WorkflowDefinition, 'name' | 'steps'>): WorkflowBuilder {
  return new WorkflowBuilder(name, options);
}
