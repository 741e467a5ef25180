/** The workflow builder and definition types, as `claude-comms/workflows` exports them. */
export { ask, command, convert, type StepOptions, validate, WorkflowBuilder, workflow } from './builder.js';
export { CONVERTERS } from './converters.js';
export type {
  AskSpec,
  CommandSpec,
  ConvertSpec,
  RetryPolicy,
  StepDefinition,
  StepKind,
  ValidateSpec,
  WorkflowDefinition,
} from './definition.js';
export { parseDefinition } from './definition.js';
