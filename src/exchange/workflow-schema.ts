/**
 * The JSON Schema of a workflow definition (`workflow@1.1.0`, published with claude-comms): what a YAML or JSON
 * definition file, or the builder, must produce. Rules a schema cannot state (dependencies exist, no cycles,
 * references only to steps upstream, conditions that parse) are checked by workflows/definition.ts. Version 1.1.0
 * adds `when`, `runIfSkipped`, `forEach`, `approve` steps and asks by capability; `workflow@1.0.0`, published
 * before, stays as it was (a published version never changes), and every definition it accepts 1.1.0 accepts.
 */

const S = 'https://json-schema.org/draft/2020-12/schema';
const id = { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_-]{0,63}$' };
const ms = { type: 'integer', minimum: 1, maximum: 86_400_000 };

export const WORKFLOW_SCHEMA_1_0 = {
  $schema: S,
  title: 'workflow',
  type: 'object',
  required: ['name', 'steps'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[a-z][a-z0-9._-]{0,99}$' },
    version: { type: 'string', maxLength: 100 },
    description: { type: 'string', maxLength: 4000 },
    inputs: { type: 'object', description: 'a JSON Schema of the run inputs (an object)' },
    output: { description: 'the run output: a template over step outputs' },
    maxCostUsd: { type: 'number', minimum: 0, maximum: 1_000_000 },
    concurrency: { type: 'integer', minimum: 1, maximum: 100, description: 'steps of a run running at once' },
    steps: { type: 'array', minItems: 1, maxItems: 1000, items: { $ref: '#/$defs/step' } },
  },
  $defs: {
    step: {
      type: 'object',
      required: ['id'],
      additionalProperties: false,
      properties: {
        id,
        description: { type: 'string', maxLength: 4000 },
        after: { type: 'array', items: id, maxItems: 1000, uniqueItems: true },
        retry: {
          type: 'object',
          additionalProperties: false,
          properties: {
            attempts: { type: 'integer', minimum: 1, maximum: 100 },
            backoffMs: { type: 'integer', minimum: 0, maximum: 3_600_000 },
            factor: { type: 'number', minimum: 1, maximum: 10 },
            notOn: { type: 'array', items: { type: 'string' }, description: 'error codes or reasons not retried' },
          },
        },
        timeoutMs: ms,
        ask: {
          type: 'object',
          required: ['to'],
          additionalProperties: false,
          properties: {
            to: { type: 'string', minLength: 1 },
            prompt: { type: 'string' },
            schema: { anyOf: [{ type: 'string' }, { type: 'object' }] },
            template: { type: 'string' },
            params: { type: 'object' },
            maxRepairs: { type: 'integer', minimum: 0, maximum: 10 },
            maxCostUsd: { type: 'number', minimum: 0 },
            maxIterations: { type: 'integer', minimum: 1 },
          },
        },
        validate: {
          type: 'object',
          required: ['schema', 'value'],
          additionalProperties: false,
          properties: { schema: { anyOf: [{ type: 'string' }, { type: 'object' }] }, value: {} },
        },
        convert: {
          type: 'object',
          required: ['function'],
          additionalProperties: false,
          properties: { function: { type: 'string', minLength: 1 }, args: { type: 'object' } },
        },
        command: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, description: 'a command declared in config.yaml' },
            run: { type: 'array', minItems: 1, items: { type: 'string' }, description: 'argv (unscoped callers only)' },
            input: { description: 'the JSON given on stdin' },
            cwd: { type: 'string' },
          },
        },
      },
      oneOf: [{ required: ['ask'] }, { required: ['validate'] }, { required: ['convert'] }, { required: ['command'] }],
    },
  },
} as const;

const step = WORKFLOW_SCHEMA_1_0.$defs.step;

export const WORKFLOW_SCHEMA = {
  ...WORKFLOW_SCHEMA_1_0,
  $defs: {
    step: {
      ...step,
      properties: {
        ...step.properties,
        when: {
          type: 'string',
          minLength: 1,
          maxLength: 2000,
          description: 'a condition on inputs and earlier outputs; the step is skipped when it does not hold',
        },
        runIfSkipped: {
          type: 'boolean',
          description: 'run even when a step it depends on was skipped (by default it is skipped too)',
        },
        forEach: {
          type: 'object',
          required: ['items'],
          additionalProperties: false,
          properties: {
            items: {
              description: 'the list to run over: a template such as "{{ steps.list.value.files }}", or a list',
            },
            concurrency: { type: 'integer', minimum: 1, maximum: 100, description: 'items running at once (4)' },
            continueOnError: { type: 'boolean', description: 'a failed item gives null instead of failing the step' },
          },
        },
        ask: {
          ...step.properties.ask,
          required: [],
          properties: {
            ...step.properties.ask.properties,
            capability: {
              type: 'string',
              minLength: 1,
              maxLength: 200,
              pattern: '\\S',
              description: 'ask a module that declares it, chosen by load',
            },
          },
          oneOf: [{ required: ['to'] }, { required: ['capability'] }],
        },
        command: {
          ...step.properties.command,
          properties: {
            ...step.properties.command.properties,
            module: { type: 'string', minLength: 1, maxLength: 200, description: "run in this module's directory" },
          },
        },
        approve: {
          type: 'object',
          additionalProperties: false,
          properties: {
            message: { type: 'string', maxLength: 4000 },
            timeoutMs: ms,
            approvers: {
              type: 'array',
              // Module names as they are: a template here could name anything, or nothing, once resolved.
              items: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[^{}\\s]+$' },
              minItems: 1,
              maxItems: 100,
              uniqueItems: true,
              description: 'modules whose tokens may decide (besides unscoped callers)',
            },
          },
        },
      },
      oneOf: [
        { required: ['ask'] },
        { required: ['validate'] },
        { required: ['convert'] },
        { required: ['command'] },
        { required: ['approve'] },
      ],
    },
  },
} as const;
