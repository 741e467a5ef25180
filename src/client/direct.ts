/**
 * The client on a hub opened in this process: the same operations as over HTTP, straight on the hub's
 * repositories. Used when no service runs (or it serves another database), and for tokens, which only the
 * database itself hands out.
 */
import type { HubError } from '../domain/errors.js';
import type {
  AnswerInput,
  AskInput,
  AskResult,
  InboxItem,
  ListInstancesOptions,
  ListTasksOptions,
  SearchOptions,
  TaskLogEntry,
} from '../domain/inputs.js';
import {
  type HubEvent,
  type Instance,
  type Message,
  type ModuleView,
  moduleView,
  type SearchHit,
  type Task,
  type Thread,
} from '../domain/types.js';
import type { EventPage, SubscribeOptions } from '../events/event-log.js';
import type { Hub } from '../hub.js';
import { directExchange } from './exchange.js';
import type {
  CommsClient,
  Connection,
  ExchangeClient,
  InstanceAction,
  LiveFeed,
  MessageWithTask,
  NewTask,
  TaskEdit,
  ThreadWithMessages,
} from './types.js';
import { directWorkflows, type WorkflowClient } from './workflows.js';

/** Why the service was not used, as a direct connection records it. */
export type DirectReason = Omit<Extract<Connection, { kind: 'direct' }>, 'kind' | 'database'>;

/** The client on a hub opened in this process. */
export class DirectClient implements CommsClient {
  readonly exchange: ExchangeClient;
  readonly workflows: WorkflowClient;

  constructor(
    readonly hub: Hub,
    readonly connection: Connection,
  ) {
    this.exchange = directExchange(hub);
    this.workflows = directWorkflows(hub);
  }

  ask(input: AskInput): Promise<AskResult> {
    return this.hub.ask(input);
  }

  retry(id: string, kind: 'message' | 'task'): Promise<Omit<AskResult, 'replayed'>> {
    return this.hub.retry(id, kind);
  }

  inbox(module: string, options: { limit?: number } = {}): Promise<InboxItem[]> {
    return this.hub.inbox(module, options);
  }

  answer(replyId: string, input: AnswerInput): Promise<Message> {
    return this.hub.answer(replyId, input);
  }

  async message(id: string): Promise<MessageWithTask> {
    const message = await this.hub.messages.require(id);
    const task = await this.hub.tasks.forMessage(id);
    return { ...message, taskId: task?.id ?? null };
  }

  cancel(messageId: string, reason?: string): Promise<Message> {
    return this.hub.messages.cancel(messageId, reason);
  }

  threads(limit?: number): Promise<Thread[]> {
    return this.hub.threads.list(limit === undefined ? {} : { limit });
  }

  search(options: SearchOptions): Promise<SearchHit[]> {
    return this.hub.search(options);
  }

  async thread(id: string): Promise<ThreadWithMessages> {
    const thread = await this.hub.threads.get(id);
    return { ...thread, messages: await this.hub.messages.list({ threadId: id, limit: 1000 }) };
  }

  async modules(options: { capability?: string } = {}): Promise<ModuleView[]> {
    const [modules, instances] = await Promise.all([this.hub.modules.list(options), this.hub.instances.list()]);
    return modules.map((m) => moduleView(m, instances));
  }

  instances(options: ListInstancesOptions = {}): Promise<Instance[]> {
    return this.hub.instances.list(options);
  }

  changeInstance(id: string, action: InstanceAction): Promise<Instance> {
    return this.hub.instances[action](id);
  }

  async setModulePaused(name: string, paused: boolean): Promise<ModuleView> {
    const module = await this.hub.modules.setPaused(name, paused);
    return moduleView(module, await this.hub.instances.list({ module: name }));
  }

  createTask(input: NewTask): Promise<Task> {
    return this.hub.tasks.create({ ...input, kind: 'manual' });
  }

  task(id: string): Promise<Task> {
    return this.hub.tasks.get(id);
  }

  tasks(options: ListTasksOptions = {}): Promise<Task[]> {
    return this.hub.tasks.list(options);
  }

  updateTask(id: string, change: TaskEdit): Promise<Task> {
    return this.hub.tasks.change(id, change);
  }

  verifyCriterion(id: string, criterion: number | string): Promise<Task> {
    return this.hub.tasks.verifyCriterion(id, criterion);
  }

  logTask(id: string, entry: TaskLogEntry): Promise<void> {
    return this.hub.tasks.log(id, entry);
  }

  events(options: SubscribeOptions & { limit?: number } = {}): Promise<EventPage> {
    return this.hub.events.list(options);
  }

  async follow(filter: SubscribeOptions, handler: (event: HubEvent) => void): Promise<LiveFeed> {
    const subscription = await this.hub.events.subscribe(filter, handler);
    return { failed: new Promise<never>(() => undefined), close: () => subscription.close() };
  }

  close(): Promise<void> {
    return this.hub.close();
  }
}

/** Who hears about the config.yaml a hub opened in this process reads. */
export interface ConfigListeners {
  /**
   * Hears about a config.yaml that cannot be used; the hub then opens with the modules as they were. Without it,
   * such a file fails the open.
   */
  onConfigError?: (err: HubError) => void;
  /** Hears each warning about the file (an old name of a setting, with file and line). */
  onConfigWarning?: (warning: string) => void;
}

/** Opens the hub on `database` (default: the data home's) in this process, telling `listeners` of its config.yaml. */
export async function openDirect(
  database: string | undefined,
  reason: DirectReason,
  listeners: ConfigListeners = {},
): Promise<DirectClient> {
  // Loaded here: the hub brings in the store and its drivers, which a client of a running service need not pay.
  const { openHub } = await import('../hub.js');
  const hub = await openHub({ ...(database ? { database } : {}), ...listeners });
  return new DirectClient(hub, { kind: 'direct', database: hub.database, ...reason });
}
