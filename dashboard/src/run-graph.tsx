/**
 * A run's steps drawn as their graph (SVG, laid out by dag-layout.ts): each step a box with its id, status, how
 * long it took or has been running, its kind, its items done (a `forEach` step) and the module it was routed to,
 * and while it runs what its program reports — its latest log line and its progress, as a number and a thin bar;
 * an arrow for each `after`. Once the run has ended, the critical path — the chain of steps that decided when it
 * ended — is marked, and named below the graph. It is drawn from the run the view holds, so it changes as the
 * run is read again on its events, and from its steps' reports as they arrive. A step opens its task panel. Ids,
 * reasons, errors and log lines are text, never markup.
 */
import type { StepRun, StepStatus, WorkflowRun } from './api';
import { isTerminal } from './apply';
import { Elapsed } from './components';
import { criticalPath, DAG_SIZES, layoutDag } from './dag-layout';
import { href } from './router';
import { type ProgressOf, percent, type StepProgress, shownProgress } from './step-progress';

/** What a status reads as in a box: `waiting` is for someone's decision. */
const STATUS_TEXT: Record<StepStatus, string> = {
  pending: 'pending',
  processing: 'processing',
  waiting: 'awaiting approval',
  complete: 'complete',
  failed: 'failed',
  cancelled: 'cancelled',
  skipped: 'skipped',
};

/** A step's status as its box says it (a status this page does not know yet, as it is). */
function statusText(step: StepRun): string {
  return STATUS_TEXT[step.status] ?? step.status;
}

/** Characters that fit a box's width: its id (bold, 13 px) and its small lines (11.5 px), in the system font. */
const ID_CHARS = 23;
const LINE_CHARS = 29;
/** A log line beside its progress ("100 %" and a gap take eight). */
const LOG_CHARS = LINE_CHARS - 8;
/** Width of a log line beside its progress, which ends 10 from the box's right edge and is at most 30 wide. */
const LOG_WIDTH_BESIDE = DAG_SIZES.stepWidth - 20 - 36;
/** Characters of a log line the box's title shows (a program may log 2,000). */
const TITLE_LOG_CHARS = 300;

/** `text` cut to `chars` characters with an ellipsis (the full text is in the box's title and label). */
function shorten(text: string, chars: number): string {
  const all = Array.from(text);
  return all.length > chars ? `${all.slice(0, chars - 1).join('')}…` : text;
}

/** "3/10" for a `forEach` step: its items complete of all. */
function itemsDone(step: StepRun): string | null {
  const items = step.detail?.items;
  return items ? `${items.complete}/${items.total}` : null;
}

/** What a box says after its status: its kind, its items done, and the module it was routed to. */
function kindLine(step: StepRun): string {
  const items = itemsDone(step);
  const chosen = step.detail?.routing?.chosen;
  return [step.kind, items ? `${items} items` : null, chosen ? `→ ${chosen}` : null].filter(Boolean).join(' · ');
}

/** A log line on one line: a program's line breaks and tabs are spaces in a box. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * What the box's title adds to its id: why it was skipped, what it asks approval for, its error, the latest line
 * its program logged while it runs.
 */
function boxTitle(step: StepRun, report: StepProgress | undefined): string {
  const d = step.detail;
  return [
    step.stepId,
    d?.skipped ? `skipped: ${d.skipped}` : null,
    d?.approval ? `approval: ${d.approval.message}` : null,
    step.error,
    report?.log ? `latest: ${shorten(oneLine(report.log), TITLE_LOG_CHARS)}` : null,
  ]
    .filter(Boolean)
    .join('\n');
}

/** The box's accessible name: what it is and where it leads (its duration, which ticks, is left to the list). */
function boxLabel(step: StepRun, report: StepProgress | undefined, critical: boolean): string {
  const items = itemsDone(step);
  const chosen = step.detail?.routing?.chosen;
  return [
    `step ${step.stepId}`,
    step.kind,
    statusText(step),
    report && percent(report) ? `${percent(report)} % done` : null,
    items ? `${items} items complete` : null,
    chosen ? `routed to ${chosen}` : null,
    critical ? 'on the critical path' : null,
    step.taskId ? 'opens its task' : 'reused from an earlier run: no task',
  ]
    .filter(Boolean)
    .join(', ');
}

/**
 * A running step's latest log line, cut to fit (whole, up to 300 characters, on hover), and its progress as a
 * number and a thin bar, under its kind. The line is cut by count, as an id is, and clipped to its room too: a
 * line of wide letters stays inside its box.
 */
function ReportLines({ report }: { report: StepProgress }) {
  const { stepWidth } = DAG_SIZES;
  const done = percent(report);
  const track = stepWidth - 20;
  return (
    <>
      {report.log ? (
        <svg className="dag-log-room" x="10" y="60" width={done ? LOG_WIDTH_BESIDE : track} height="15">
          <title>{shorten(oneLine(report.log), TITLE_LOG_CHARS)}</title>
          <text className="dag-log" x="0" y="11">
            {shorten(oneLine(report.log), done ? LOG_CHARS : LINE_CHARS)}
          </text>
        </svg>
      ) : null}
      {done ? (
        <>
          <text className="dag-percent" x={stepWidth - 10} y="71" textAnchor="end">
            {done} %
          </text>
          <rect className="dag-bar" x="10" y="75" width={track} height="3" rx="1.5" />
          <rect className="dag-bar-done" x="10" y="75" width={(track * done) / 100} height="3" rx="1.5" />
        </>
      ) : null}
    </>
  );
}

/**
 * The run's steps as a graph, with its critical path once it has ended, and what its running steps' tasks have
 * reported (`progress`, by task id; see the file's comment).
 */
export function RunGraph({ run, progress }: { run: WorkflowRun; progress: ProgressOf }) {
  const layout = layoutDag(run.steps.map((s) => ({ id: s.stepId, after: s.after })));
  const critical = isTerminal(run.status)
    ? criticalPath(run.steps.map((s) => ({ ...s, id: s.stepId })))
    : { steps: [], edges: [] };
  const onPath = new Set(critical.steps);
  const onPathEdge = new Set(critical.edges.map((e) => `${e.from}\n${e.to}`));
  const byId = new Map(run.steps.map((s) => [s.stepId, s]));
  const { stepWidth, stepHeight } = DAG_SIZES;
  return (
    <figure className="dag">
      <div className="dag-scroll">
        <svg
          className="dag-graph"
          aria-label={`The run's ${run.steps.length} steps as a graph, each after the steps it waits for`}
          width={layout.width}
          height={layout.height}
          viewBox={`0 0 ${layout.width} ${layout.height}`}
        >
          <title>The run's {run.steps.length} steps as a graph, each after the steps it waits for</title>
          <defs>
            {/* Sized in the graph's units, not by the edge's width: a thick critical edge keeps a fitting head. */}
            <marker
              id="dag-arrow"
              viewBox="0 0 8 8"
              refX="8"
              refY="4"
              markerUnits="userSpaceOnUse"
              markerWidth="8"
              markerHeight="8"
              orient="auto"
            >
              <path className="dag-arrow" d="M0,0 L8,4 L0,8 z" />
            </marker>
            <marker
              id="dag-arrow-critical"
              viewBox="0 0 8 8"
              refX="8"
              refY="4"
              markerUnits="userSpaceOnUse"
              markerWidth="11"
              markerHeight="11"
              orient="auto"
            >
              <path className="dag-arrow critical" d="M0,0 L8,4 L0,8 z" />
            </marker>
          </defs>
          {layout.edges.map((e) => {
            const marked = onPathEdge.has(`${e.from}\n${e.to}`);
            return (
              <path
                key={`${e.from}\n${e.to}`}
                className={marked ? 'dag-edge critical' : 'dag-edge'}
                d={e.path}
                data-from={e.from}
                data-to={e.to}
                data-critical={marked ? 'true' : undefined}
                markerEnd={marked ? 'url(#dag-arrow-critical)' : 'url(#dag-arrow)'}
              />
            );
          })}
          {layout.steps.map((placed) => {
            const step = byId.get(placed.id);
            if (!step) return null;
            const marked = onPath.has(step.stepId);
            const running = step.status === 'processing' || step.status === 'waiting';
            const report = shownProgress(step, progress);
            const box = (
              <>
                <title>{boxTitle(step, report)}</title>
                <rect className="dag-box" width={stepWidth} height={stepHeight} rx="8" />
                <text className="dag-id" x="10" y="20">
                  {shorten(step.stepId, ID_CHARS)}
                </text>
                <text className="dag-state" x="10" y="38">
                  {statusText(step)}
                </text>
                <text className="dag-took" x={stepWidth - 10} y="38" textAnchor="end">
                  <Elapsed from={step.startedAt} to={step.completedAt} running={running} />
                </text>
                <text className="dag-meta" x="10" y="55">
                  {shorten(kindLine(step), LINE_CHARS)}
                </text>
                {report ? <ReportLines report={report} /> : null}
              </>
            );
            const common = {
              className: marked ? 'dag-step critical' : 'dag-step',
              'data-step-id': step.stepId,
              'data-status': step.status,
              'data-critical': marked ? 'true' : undefined,
              'aria-label': boxLabel(step, report, marked),
            };
            return (
              <g key={step.stepId} transform={`translate(${placed.x},${placed.y})`}>
                {step.taskId ? (
                  <a href={href.task(step.taskId)} {...common}>
                    {box}
                  </a>
                ) : (
                  <g {...common}>{box}</g>
                )}
              </g>
            );
          })}
        </svg>
      </div>
      {critical.steps.length ? (
        <figcaption className="muted small" data-testid="critical-path">
          Critical path: {critical.steps.join(' → ')}
        </figcaption>
      ) : null}
    </figure>
  );
}
