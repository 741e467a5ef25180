/**
 * A structured reply's checking, under its content on the thread view: the schema its answer must satisfy
 * (linked to that version on the Schemas page), whether it is valid yet, each round's answer and issues, and the
 * value once the reply completes. It follows the reply live: each `message.validated` adds a round. Answers,
 * issues and values are agent output: rendered as text, never as HTML.
 */
import type { ReplyValidation, ValidationIssue, ValidationRound } from './api';
import { isTerminal, type LiveMessage } from './apply';
import { dateTime } from './format';
import { href } from './router';

/** Where the checking stands: `unchecked` when the reply ended (failed, cancelled) before an answer was judged. */
export type Verdict = 'valid' | 'invalid' | 'checking' | 'unchecked';

export function verdictOf(v: ReplyValidation, status: LiveMessage['status']): Verdict {
  if (v.valid === true) return 'valid';
  if (v.valid === false) return 'invalid';
  return isTerminal(status) ? 'unchecked' : 'checking';
}

/** The badge's words: "checking (round 2 of 3)" counts the round being answered among those it may have. */
export function verdictText(verdict: Verdict, v: ReplyValidation): string {
  if (verdict !== 'checking') return verdict === 'unchecked' ? 'not checked' : verdict;
  const rounds = v.maxRepairs + 1;
  return `checking (round ${Math.min(v.rounds.length + 1, rounds)} of ${rounds})`;
}

/** Status colours the badge borrows: valid as complete, invalid as failed, checking as running. */
const BADGE_CLASS: Record<Verdict, string> = {
  valid: 'status-complete',
  invalid: 'status-failed',
  checking: 'status-processing',
  unchecked: 'status-cancelled',
};

/** `name@version` as a link to that version on the Schemas page; an inline schema is named as such. */
function SchemaLink({ schema }: { schema: string }) {
  const at = schema.lastIndexOf('@');
  if (schema === 'inline' || at <= 0) return <span data-testid="validation-schema">an inline schema</span>;
  return (
    <a data-testid="validation-schema" href={href.schema(schema.slice(0, at), schema.slice(at + 1))}>
      {schema}
    </a>
  );
}

export function Validation({ message: m }: { message: LiveMessage }) {
  const v = m.validation;
  if (!v) return null;
  const verdict = verdictOf(v, m.status);
  const repairs = v.maxRepairs === 1 ? '1 repair round' : `${v.maxRepairs} repair rounds`;
  return (
    <section className="validation" data-testid="validation" data-validity={verdict}>
      <div className="validation-head">
        <span className="muted">answer checked against</span>
        <SchemaLink schema={v.schema} />
        <span className={`status ${BADGE_CLASS[verdict]}`} data-testid="validation-badge" data-validity={verdict}>
          {verdictText(verdict, v)}
        </span>
        <span className="muted small">up to {repairs}</span>
      </div>
      {v.rounds.length ? (
        <ol className="validation-rounds">
          {[...v.rounds]
            .sort((a, b) => a.round - b.round)
            .map((r) => (
              <Round key={r.round} round={r} />
            ))}
        </ol>
      ) : null}
      {m.status === 'complete' && m.value !== null && m.value !== undefined ? (
        <div className="validation-value">
          <h4>Value</h4>
          <pre className="json" data-testid="validation-value">
            {JSON.stringify(m.value, null, 2)}
          </pre>
        </div>
      ) : null}
    </section>
  );
}

/** One round, collapsed: its verdict in the summary; opened, its issues and the answer as the agent wrote it. */
function Round({ round: r }: { round: ValidationRound }) {
  const issues = r.issues.length === 1 ? '1 issue' : `${r.issues.length} issues`;
  return (
    <li className="validation-round" data-testid="validation-round" data-round={r.round} data-valid={String(r.valid)}>
      <details>
        <summary>
          <strong>{r.round === 0 ? 'First answer' : `Repair round ${r.round}`}</strong>
          <span className={`status ${r.valid ? 'status-complete' : 'status-failed'}`}>
            {r.valid ? 'valid' : `invalid: ${issues}`}
          </span>
          <time className="muted small" dateTime={r.at}>
            {dateTime(r.at)}
          </time>
        </summary>
        {r.issues.length ? (
          <ul className="issues">
            {r.issues.map((issue, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: a round's issues never change or move
              <Issue key={i} issue={issue} />
            ))}
          </ul>
        ) : null}
        <h4>Answer</h4>
        <pre className="round-answer">{r.answer || '(empty)'}</pre>
      </details>
    </li>
  );
}

function Issue({ issue: i }: { issue: ValidationIssue }) {
  return (
    <li className="issue" data-testid="validation-issue" data-path={i.path} data-rule={i.rule}>
      <div>
        <code className="issue-path">{i.path || '(the whole value)'}</code> <span>{i.message}</span>
      </div>
      <dl className="issue-facts">
        <dt>expected</dt>
        <dd>{i.expected}</dd>
        <dt>found</dt>
        <dd>
          <code>{i.found}</code>
        </dd>
        {i.suggestion ? (
          <>
            <dt>suggestion</dt>
            <dd data-testid="issue-suggestion">{i.suggestion}</dd>
          </>
        ) : null}
      </dl>
    </li>
  );
}
