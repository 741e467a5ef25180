/** The workflow builder and definition types, as `claude-comms/workflows` exports them. */
export {
  approve,
  ask,
  command,
  convert,
  type StepOptions,
  validate,
  WorkflowBuilder,
  workflow,
} from './builder.js';
export { type Condition, evaluateCondition, parseCondition } from './conditions.js';
export { CONVERTERS } from './converters.js';
export type {
  ApproveSpec,
  AskSpec,
  CommandSpec,
  ConvertSpec,
  ForEachSpec,
  RetryPolicy,
  StepDefinition,
  StepKind,
  ValidateSpec,
  WorkflowDefinition,
} from './definition.js';
export { parseDefinition } from './definition.js';
