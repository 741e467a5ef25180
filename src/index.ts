/**
 * claude-comms: the public library API. Everything not exported here is internal.
 */

export { dataHome, defaultDatabase } from './config/paths.js';
export type { HubErrorCode } from './domain/errors.js';
export { HubError, isHubError, isStorageFault } from './domain/errors.js';
export type { SearchOptions } from './domain/inputs.js';
export type { ObservedStatus, Status } from './domain/status.js';
export { canTransition, isTerminal, STATUSES, TERMINAL_STATUSES } from './domain/status.js';
export type {
  Criterion,
  EventFilter,
  EventType,
  FailureReason,
  HubEvent,
  Instance,
  InstanceState,
  Message,
  MessageRole,
  Module,
  ReplyStatus,
  ReplyValidation,
  SearchField,
  SearchHit,
  SearchKind,
  SnippetPart,
  StatusChange,
  Task,
  TaskKind,
  Thread,
  ThreadSummary,
  UnknownMessage,
  ValidationIssue,
  ValidationRound,
} from './domain/types.js';
export { EVENT_TYPES, FAILURE_REASONS, REPLY_STATUSES, SEARCH_KINDS } from './domain/types.js';
export type { WatchEvent } from './domain/watch-events.js';
export { WATCH_EVENTS } from './domain/watch-events.js';
export type { StepRun, WorkflowRun } from './domain/workflow-types.js';
export type { EventPage, SubscribeOptions, Subscription } from './events/event-log.js';
export type {
  MessageMonitor,
  MonitorCallbacks,
  MonitorEntryInfo,
  MonitorOptions,
  MonitorUpdate,
} from './events/message-monitor.js';
export type { Completion, WaitOptions } from './events/watch.js';
export type { CompatibilityMode, CompatibilityReport, SchemaChange } from './exchange/compat.js';
export { COMPATIBILITY_MODES } from './exchange/compat.js';
export type { Conversion, PdfDocument, PdfRequirements } from './exchange/pdf/index.js';
export {
  convertToRequiredFormat,
  DOCUMENT_SCHEMA,
  EXAMPLE_REQUIREMENTS,
  PDF_REQUIREMENTS_SCHEMA,
  validatePdfFormat,
} from './exchange/pdf/index.js';
export type { ValidationResult } from './exchange/validator.js';
export type { HookNotification, NotifiedMessage } from './hooks/notification.js';
export type { HookOptions, HookRunner } from './hooks/runner.js';
export type { CreateWatchInput, Watch, WatchStore } from './hooks/watches.js';
export type { Hub, HubEvents, HubOptions } from './hub.js';
export { openHub } from './hub.js';
export { type ExtractPdfOptions, extractPdf } from './pdf-extract/index.js';
export type { AgentControl, LogLine, ProgressTracker, StartTaskInput } from './progress/tracker.js';
export { toAgentControl } from './progress/tracker.js';
export { type PdfRequirementsQuery, queryPdfRequirements } from './registry/pdf-requirements.js';
export type { RouteCandidate, RouteDecision } from './registry/routing.js';
export type { PublishSchemaInput, SchemaRegistry, SchemaSummary, SchemaVersion } from './registry/schema-registry.js';
export type { PublishTemplateInput, TemplateRegistry, TemplateVersion } from './registry/template-registry.js';
export type { Worker } from './runtime/worker.js';
export type { WorkerOptions } from './runtime/worker-options.js';
export type { AskInput, AskResult } from './store/asks.js';
export type { ConfigSyncResult } from './store/config-sync.js';
export type { InstanceStore, ListInstancesOptions } from './store/instances.js';
export type { CreateMessageInput, MessageStore, TransitionOptions } from './store/messages.js';
export type { ModuleLoad, ModuleStore, RegisterModuleInput } from './store/modules.js';
export type { RetryOptions, RetryResult } from './store/retries.js';
export type { Durability } from './store/sqlite.js';
export type { StorageState } from './store/storage-health.js';
export type { CreateTaskInput, TaskLogEntry, TaskStore, TaskUpdate } from './store/tasks.js';
export type { CreateThreadInput, ListThreadsOptions, ThreadStore } from './store/threads.js';
export type { WorkflowCaller, Workflows } from './workflows/workflows.js';
