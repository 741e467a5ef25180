/**
 * Workflows as callers use them (`hub.workflows`): definitions saved by name, runs started (each keeping the
 * definition and hash it started with, its steps as tasks), read, and controlled — pause, resume, cancel, retry a
 * failed step with what depends on it, a new run from a given step with earlier outputs reused, and the decision on
 * a waiting approval. Control actions write the run; the engine (engine.ts), wherever it runs, hears their events
 * and acts.
 */
import { HubError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { isTerminal, type Status } from '../domain/status.js';
import { assertDepth } from '../domain/validate.js';
import type { StepRun, WorkflowRun } from '../domain/workflow-types.js';
import { formatIssues, validateValue } from '../exchange/validator.js';
import type { WriteTx } from '../store/database.js';
import type { MessageStore } from '../store/messages.js';
import type { TaskStore } from '../store/tasks.js';
import type { StoredDefinition, WorkflowStore } from '../store/workflow-runs.js';
import { converter } from './converters.js';
import {
  ancestors,
  checkDefinition,
  definitionHash,
  kindOf,
  parseDefinition,
  type WorkflowDefinition,
} from './definition.js';
import type { DeclaredCommand } from './steps.js';

/** Who starts or controls a run: a module token acts as its module; `unscoped` may run any program. */
export interface WorkflowCaller {
  module?: string;
}

export interface WorkflowsDeps {
  store: WorkflowStore;
  tasks: TaskStore;
  messages: MessageStore;
  commands(): Record<string, DeclaredCommand>;
  /** Told of a run to look at now (the engine in this hub, if it runs). */
  poke(runId: string): void;
}

export class Workflows {
  constructor(private readonly deps: WorkflowsDeps) {}

  /** A definition given as an object (checked) or as YAML/JSON text (`file` names it in errors). */
  private load(definition: WorkflowDefinition | string, file = 'workflow'): WorkflowDefinition {
    if (typeof definition === 'string') return parseDefinition(definition, file);
    assertDepth(definition, 'the workflow definition');
    return checkDefinition(structuredClone(definition));
  }

  /** Checks what `by` may run: declared commands by name for anyone; a program's argv only for an unscoped caller. */
  private admit(def: WorkflowDefinition, by: WorkflowCaller): void {
    const commands = this.deps.commands();
    for (const s of def.steps) {
      if (s.convert) converter(s.convert.function);
      if (s.command?.name && !Object.hasOwn(commands, s.command.name))
        throw new HubError(
          'validation',
          `step ${s.id}: no command named ${s.command.name} is declared in config.yaml (commands: ${Object.keys(commands).join(', ') || 'none'})`,
        );
      if (s.command?.run && by.module)
        throw new HubError(
          'forbidden',
          `step ${s.id} runs a program of its own (command.run); a token of module ${by.module} may run only commands declared in config.yaml`,
        );
    }
  }

  /** Saves a definition under its name (replacing the one there; runs keep the one they started with). */
  async define(
    definition: WorkflowDefinition | string,
    by: WorkflowCaller = {},
    options: { file?: string } = {},
  ): Promise<StoredDefinition> {
    const def = this.load(definition, options.file);
    this.admit(def, by);
    const saved = await this.deps.store.definition(def.name).catch(() => undefined);
    if (saved && by.module && saved.createdBy !== by.module)
      throw new HubError(
        'forbidden',
        `workflow ${def.name} was saved by ${saved.createdBy ?? 'an unscoped caller'}; a token of module ${by.module} cannot replace it`,
      );
    return this.deps.store.saveDefinition(def.name, def, definitionHash(def), by.module ?? null);
  }

  definitions(): Promise<StoredDefinition[]> {
    return this.deps.store.definitions();
  }

  /** Starts a run of a definition, or of the one saved under a name; answers the run as created. */
  async start(
    definition: WorkflowDefinition | string,
    inputs: Record<string, unknown> = {},
    by: WorkflowCaller = {},
    options: { file?: string } = {},
  ): Promise<WorkflowRun> {
    const def =
      typeof definition === 'string' && !/[\n:{]/.test(definition)
        ? (checkDefinition((await this.deps.store.definition(definition)).definition) as WorkflowDefinition)
        : this.load(definition, options.file);
    this.admit(def, by);
    if (!inputs || typeof inputs !== 'object' || Array.isArray(inputs))
      throw new HubError('validation', 'inputs must be an object');
    assertDepth(inputs, 'the inputs');
    if (def.inputs) {
      const checked = validateValue(def.inputs, inputs, `the inputs of ${def.name}`);
      if (!checked.valid)
        throw new HubError('validation', `the inputs of ${def.name} are not valid:\n${formatIssues(checked.issues)}`);
    }
    const id = await this.create(def, inputs, by.module ?? null);
    this.deps.poke(id);
    return this.get(id);
  }

  /** Creates the run, each step's task (kind `workflow_step`, depending on its upstream steps' tasks), and its steps. */
  private create(
    def: WorkflowDefinition,
    inputs: Record<string, unknown>,
    createdBy: string | null,
    done: Map<string, unknown> = new Map(),
  ): Promise<string> {
    const id = newId();
    return this.deps.store.write(async (tx) => {
      const taskOf = new Map<string, string>();
      const steps = [];
      for (const s of def.steps) {
        const reused = done.has(s.id);
        let taskId: string | null = null;
        if (!reused) {
          const task = await this.deps.tasks.create(
            {
              name: `${def.name} › ${s.id}`,
              kind: 'workflow_step',
              // A module named by a template is known only when the step starts.
              module: s.ask?.to && !s.ask.to.includes('{{') ? s.ask.to : null,
              workflowRunId: id,
              dependsOn: (s.after ?? []).flatMap((d) => (taskOf.has(d) ? [taskOf.get(d) as string] : [])),
            },
            tx,
          );
          taskId = task.id;
          taskOf.set(s.id, task.id);
        }
        steps.push({ stepId: s.id, kind: kindOf(s), taskId, ...(reused ? { done: { output: done.get(s.id) } } : {}) });
      }
      return this.deps.store.createRun(
        tx,
        { workflow: def.name, definition: def, hash: definitionHash(def), inputs, createdBy },
        steps,
        id,
      );
    });
  }

  /** The run with its steps in the definition's order. */
  get(id: string): Promise<WorkflowRun> {
    return this.deps.store.run(id);
  }

  private async definitionOf(id: string): Promise<WorkflowDefinition> {
    return (await this.deps.store.runDefinition(id)) as WorkflowDefinition;
  }

  /** Runs, newest first; `createdBy` only those a module started. */
  list(options: { status?: Status; limit?: number; before?: string; createdBy?: string } = {}): Promise<WorkflowRun[]> {
    return this.deps.store.list(options);
  }

  /** Running steps finish; no new one starts until `resume`. */
  pause(id: string): Promise<WorkflowRun> {
    return this.move(id, ['pending', 'processing'], 'paused', 'paused by request');
  }

  resume(id: string): Promise<WorkflowRun> {
    return this.move(id, ['paused'], 'processing', 'resumed');
  }

  private async move(id: string, from: Status[], to: Status, reason: string): Promise<WorkflowRun> {
    await this.deps.store.write(async (tx) => {
      const { run } = await this.deps.store.lockRun(tx, id);
      if (!from.includes(run.status))
        throw new HubError(
          'invalid_transition',
          `run ${id} is ${run.status}; it can be ${to === 'paused' ? 'paused' : 'resumed'} only when ${from.join(' or ')}`,
        );
      await this.deps.store.changeRun(tx, run, { status: to, reason });
    });
    this.deps.poke(id);
    return this.get(id);
  }

  /** Ends the run `cancelled`: its unfinished steps too, their replies cancelled and programs stopped. */
  async cancel(id: string, reason = 'cancelled by request'): Promise<WorkflowRun> {
    const replies: string[] = [];
    await this.deps.store.write(async (tx) => {
      const { run } = await this.deps.store.lockRun(tx, id);
      if (isTerminal(run.status))
        throw new HubError('invalid_transition', `run ${id} has already finished (${run.status})`);
      for (const s of run.steps) {
        if (s.status !== 'pending' && s.status !== 'processing' && s.status !== 'waiting') continue;
        if (s.status === 'processing' && s.messageId) replies.push(s.messageId);
        let items = s.detail?.items;
        if (s.status !== 'waiting') {
          for (const item of await this.deps.store.items.withStatus(tx, id, s.stepId, 'processing'))
            if (item.messageId) replies.push(item.messageId);
          await this.deps.store.items.cancelOpen(tx, id, s.stepId);
          if (items) items = { ...items, running: 0 };
        }
        await this.moveTask(tx, s, s.status === 'waiting' ? 'processing' : s.status, 'cancelled');
        await this.deps.store.changeStep(
          tx,
          id,
          s,
          {
            status: 'cancelled',
            reason: 'cancelled',
            completedAt: new Date().toISOString(),
            ...(items ? { detail: { ...s.detail, items } } : {}),
          },
          run.createdBy,
        );
      }
      await this.deps.store.changeRun(tx, run, { status: 'cancelled', completedAt: new Date().toISOString(), reason });
    });
    for (const m of replies) await this.deps.messages.cancel(m, reason).catch(() => undefined);
    this.deps.poke(id);
    return this.get(id);
  }

  /**
   * Runs a failed (or cancelled) step again, with every step downstream of it that did not complete; what
   * completed stays as it is. The run goes on (`processing`). Attempts keep counting (each has its own attempt id):
   * a step whose retry policy is spent gets one more attempt.
   */
  async retry(id: string, stepId: string): Promise<WorkflowRun> {
    await this.deps.store.write(async (tx) => {
      const { run, definition } = await this.deps.store.lockRun(tx, id);
      const def = definition as WorkflowDefinition;
      const target = run.steps.find((s) => s.stepId === stepId);
      if (!target)
        throw new HubError(
          'not_found',
          `run ${id} has no step ${stepId} (steps: ${def.steps.map((s) => s.id).join(', ')})`,
        );
      if (target.status !== 'failed' && target.status !== 'cancelled')
        throw new HubError(
          'invalid_transition',
          `step ${stepId} is ${target.status}; only a failed or cancelled step is retried`,
        );
      const up = ancestors(def);
      // The target, what depends on it, and every step the run's end cancelled: all must run for it to complete.
      const again = run.steps.filter(
        (s) =>
          (s.stepId === stepId || up.get(s.stepId)?.has(stepId) || s.status === 'cancelled') &&
          (s.status === 'failed' || s.status === 'cancelled'),
      );
      for (const s of again) {
        const stepDef = def.steps.find((d) => d.id === s.stepId);
        // A forEach step keeps its completed items, unless a step it depends on runs again: then its list may be
        // another, and it runs over it afresh.
        if (stepDef?.forEach) {
          if (again.some((x) => up.get(s.stepId)?.has(x.stepId))) await this.deps.store.items.clear(tx, id, s.stepId);
          else await this.deps.store.items.reset(tx, id, s.stepId);
        }
        const task = await this.deps.tasks.create(
          {
            name: `${def.name} › ${s.stepId}`,
            kind: 'workflow_step',
            module: stepDef?.ask?.to && !stepDef.ask.to.includes('{{') ? stepDef.ask.to : null,
            workflowRunId: id,
            ...(s.taskId ? { retryOf: s.taskId } : {}),
          },
          tx,
        );
        await this.deps.store.changeStep(
          tx,
          id,
          s,
          {
            status: 'pending',
            error: null,
            reason: null,
            messageId: null,
            notBefore: null,
            taskId: task.id,
            completedAt: null,
            detail: null,
          },
          run.createdBy,
        );
      }
      await this.deps.store.changeRun(tx, run, {
        status: 'processing',
        error: null,
        completedAt: null,
        reason: `step ${stepId} retried`,
      });
    });
    this.deps.poke(id);
    return this.get(id);
  }

  /** A new run of the same definition and inputs from `stepId`: the steps not downstream of it keep their outputs. */
  async startFrom(id: string, stepId: string, by: WorkflowCaller = {}): Promise<WorkflowRun> {
    const old = await this.get(id);
    const def = await this.definitionOf(id);
    if (!def.steps.some((s) => s.id === stepId)) throw new HubError('not_found', `run ${id} has no step ${stepId}`);
    this.admit(def, by);
    const up = ancestors(def);
    const done = new Map<string, unknown>();
    for (const s of old.steps)
      if (s.status === 'complete' && s.stepId !== stepId && !up.get(s.stepId)?.has(stepId))
        done.set(s.stepId, s.output);
    const next = await this.create(def, old.inputs, by.module ?? old.createdBy, done);
    this.deps.poke(next);
    return this.get(next);
  }

  /** Approves a waiting approve step: it completes, its output saying who approved, when, and their note. */
  approve(id: string, stepId: string, options: { note?: string } = {}, by: WorkflowCaller = {}): Promise<WorkflowRun> {
    return this.decide(id, stepId, 'approved', options.note, by);
  }

  /** Rejects a waiting approve step: it fails (`rejected`), and the run with it unless the step is retried. */
  reject(id: string, stepId: string, options: { note?: string } = {}, by: WorkflowCaller = {}): Promise<WorkflowRun> {
    return this.decide(id, stepId, 'rejected', options.note, by);
  }

  private async decide(
    id: string,
    stepId: string,
    decision: 'approved' | 'rejected',
    note: string | undefined,
    by: WorkflowCaller,
  ): Promise<WorkflowRun> {
    if (note !== undefined && (typeof note !== 'string' || note.length > 4000))
      throw new HubError('validation', 'note must be text of at most 4000 characters');
    await this.deps.store.write(async (tx) => {
      const { run } = await this.deps.store.lockRun(tx, id);
      const s = run.steps.find((x) => x.stepId === stepId);
      const approval = s?.detail?.approval;
      const approvers = approval?.approvers ?? (run.createdBy ? [run.createdBy] : []);
      // A module token that neither started the run nor may decide on it does not learn that it exists.
      if (by.module && run.createdBy !== by.module && !approvers.includes(by.module))
        throw new HubError('not_found', `no workflow run with id ${id}`);
      if (!s)
        throw new HubError(
          'not_found',
          `run ${id} has no step ${stepId} (steps: ${run.steps.map((x) => x.stepId).join(', ')})`,
        );
      if (s.status !== 'waiting' || !approval)
        throw new HubError(
          'invalid_transition',
          `step ${stepId} is ${s.status}; only a step waiting for an approval is approved or rejected`,
        );
      // Past its time no decision counts, whether or not the engine has failed it yet.
      if (approval.timeoutAt && Date.parse(approval.timeoutAt) <= Date.now()) {
        this.deps.poke(id);
        throw new HubError(
          'invalid_transition',
          `step ${stepId} waited for a decision until ${approval.timeoutAt}; it is too late to approve or reject it`,
        );
      }
      if (by.module && !approvers.includes(by.module))
        throw new HubError(
          'forbidden',
          `step ${stepId} is decided by ${approvers.length ? approvers.join(', ') : 'unscoped callers'}${approval.approvers ? '' : ' (the module that started the run)'}, not by a token of module ${by.module}`,
        );
      const at = new Date().toISOString();
      const who = by.module ?? 'user';
      const record = { ...approval, decision, by: who, at, ...(note ? { note } : {}) };
      await this.deps.store.changeStep(tx, id, s, { detail: { ...s.detail, approval: record } }, run.createdBy);
      if (decision === 'approved') {
        await this.deps.store.changeStep(
          tx,
          id,
          s,
          { status: 'complete', output: { approved: true, by: who, at, note: note ?? null }, completedAt: at },
          run.createdBy,
        );
        if (s.taskId) await this.deps.tasks.moveFrom(tx, { id: s.taskId }, 'processing', 'complete');
      } else {
        const error = `rejected by ${who}${note ? `: ${note}` : ''}`;
        await this.deps.store.changeStep(
          tx,
          id,
          s,
          { status: 'failed', error, reason: 'rejected', completedAt: at },
          run.createdBy,
        );
        if (s.taskId)
          await this.deps.tasks.moveFrom(tx, { id: s.taskId }, 'processing', 'failed', { error, reason: 'rejected' });
      }
    });
    this.deps.poke(id);
    const run = await this.get(id);
    // An approver that did not start the run learns the decision, not the run's inputs, outputs or other steps.
    if (by.module && run.createdBy !== by.module)
      return { ...run, inputs: {}, output: null, error: null, steps: run.steps.filter((s) => s.stepId === stepId) };
    return run;
  }

  private async moveTask(tx: WriteTx, s: StepRun, from: Status, to: Status): Promise<void> {
    if (s.taskId) await this.deps.tasks.moveFrom(tx, { id: s.taskId }, from, to, { reason: 'cancelled' });
  }
}
