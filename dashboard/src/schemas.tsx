/**
 * Schemas: the exchange schemas agents answer structured questions with, and the query templates that ask them.
 * Each schema with its latest version, how many it has, its compatibility mode and owner; a selected one
 * (`#/schemas/<name>[/<version>]`) with its versions, newest first, and a version's JSON Schema. The lists are
 * loaded again when a schema or template is published. Descriptions, bodies and prompts are whatever their
 * publishers wrote: rendered as text.
 */
import { useEffect } from 'react';
import type { QueryTemplate, SchemaSummary, SchemaVersion } from './api';
import { ColumnHeads, ErrorNote, Section } from './components';
import { dateTime } from './format';
import { href } from './router';
import { store, useStore } from './store';

const SCHEMA_COLUMNS = ['Schema', 'Latest', 'Versions', 'Mode', 'Owner', 'Description'];

export function Schemas({ name, version }: { name?: string | undefined; version?: string | undefined }) {
  useEffect(() => store.openExchange(), []);
  const error = useStore((s) => s.exchange?.error);
  return (
    <div className={`columns schemas${name ? ' has-open' : ''}`}>
      <div className="column">
        {error ? <ErrorNote>Could not load the schemas: {error}</ErrorNote> : null}
        <SchemaList selected={name} />
        <Templates />
      </div>
      <div className="column">
        {name ? (
          <SchemaDetail key={name} name={name} version={version} />
        ) : (
          <p className="muted thread-placeholder">Pick a schema to read its versions.</p>
        )}
      </div>
    </div>
  );
}

function SchemaList({ selected }: { selected?: string | undefined }) {
  const schemas = useStore((s) => s.exchange?.schemas);
  return (
    <Section title="Schemas" extra={<span className="muted">what structured answers must satisfy</span>}>
      {!schemas ? (
        <p className="muted">Loading…</p>
      ) : schemas.length === 0 ? (
        <p className="muted">No schemas published yet.</p>
      ) : (
        <table className="schema-table">
          <ColumnHeads names={SCHEMA_COLUMNS} />
          <tbody>
            {schemas.map((s) => (
              <SchemaRow key={s.name} schema={s} selected={s.name === selected} />
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

function SchemaRow({ schema: s, selected }: { schema: SchemaSummary; selected: boolean }) {
  return (
    <tr data-testid="schema-row" data-schema={s.name} aria-current={selected ? 'true' : undefined}>
      <td className="schema-name">
        <a href={href.schema(s.name)}>{s.name}</a>
      </td>
      <td data-label="latest">
        <code data-testid="schema-latest">{s.latest}</code>
      </td>
      <td className="num" data-label="versions" data-testid="schema-version-count">
        {s.versions.length}
      </td>
      <td data-label="mode">{s.compatibility}</td>
      <td data-label="owner">{s.owner ?? <span className="muted">—</span>}</td>
      <td className="schema-description">{s.description}</td>
    </tr>
  );
}

/** A schema's versions, newest first, and the JSON Schema of the one chosen (the newest unless one is named). */
function SchemaDetail({ name, version }: { name: string; version?: string | undefined }) {
  useEffect(() => store.openSchema(name), [name]);
  const slot = useStore((s) => s.schema);
  const loaded = slot?.name === name ? slot.versions : undefined;
  const versions = loaded ? [...loaded].reverse() : [];
  const shown = version ? versions.find((v) => v.version === version) : versions[0];
  return (
    <section className="card schema-detail" data-testid="schema-detail" data-schema={name}>
      <header className="thread-header">
        <a className="back" href={href.schemas}>
          ← schemas
        </a>
        <h2>{name}</h2>
        {versions[0]?.description ? <p className="schema-description">{versions[0].description}</p> : null}
      </header>
      {slot?.name === name && slot.error ? (
        <ErrorNote>
          Could not load {name}: {slot.error}
        </ErrorNote>
      ) : null}
      {!loaded ? (
        slot?.error ? null : (
          <p className="muted">Loading…</p>
        )
      ) : (
        <>
          <h3>
            Versions <span className="heading-extra muted">newest first</span>
          </h3>
          <ol className="schema-versions">
            {versions.map((v, i) => (
              <VersionItem key={v.version} version={v} latest={i === 0} selected={v === shown} />
            ))}
          </ol>
          {shown ? (
            <SchemaBody version={shown} />
          ) : (
            <p className="muted">
              {name} has no version {version}. <a href={href.schema(name)}>Show the latest</a>
            </p>
          )}
        </>
      )}
    </section>
  );
}

function VersionItem({ version: v, latest, selected }: { version: SchemaVersion; latest: boolean; selected: boolean }) {
  return (
    <li data-testid="schema-version" data-version={v.version}>
      <a href={href.schema(v.name, v.version)} aria-current={selected ? 'page' : undefined}>
        <code>{v.version}</code>
      </a>
      {latest ? <span className="status status-complete">latest</span> : null}
      <span className="muted small">
        {v.compatibility}
        {v.owner ? ` · ${v.owner}` : ''} · <time dateTime={v.createdAt}>{dateTime(v.createdAt)}</time>
      </span>
    </li>
  );
}

function SchemaBody({ version: v }: { version: SchemaVersion }) {
  return (
    <div className="schema-version-shown" data-testid="schema-shown" data-version={v.version}>
      <h3>
        {v.name}@{v.version}
        <span className="heading-extra muted" title={`sha-256 ${v.hash}`}>
          {v.hash.slice(0, 12)}
        </span>
      </h3>
      {v.description ? <p>{v.description}</p> : null}
      <pre className="json" data-testid="schema-body">
        {JSON.stringify(v.body, null, 2)}
      </pre>
    </div>
  );
}

function Templates() {
  const templates = useStore((s) => s.exchange?.templates);
  return (
    <Section title="Query templates" extra={<span className="muted">latest versions</span>}>
      {!templates ? (
        <p className="muted">Loading…</p>
      ) : templates.length === 0 ? (
        <p className="muted">No query templates published yet.</p>
      ) : (
        <ul className="templates">
          {templates.map((t) => (
            <Template key={t.name} template={t} />
          ))}
        </ul>
      )}
    </Section>
  );
}

/** `name@version` as a link to that version; anything else as text. */
function SchemaRef({ value: text }: { value: string }) {
  const at = text.lastIndexOf('@');
  if (at <= 0) return <code>{text}</code>;
  return (
    <a data-testid="template-answer-schema" href={href.schema(text.slice(0, at), text.slice(at + 1))}>
      {text}
    </a>
  );
}

/** A parameter's type as its JSON Schema gives it: `string`, `integer | null`, or an enum's values. */
function typeOf(property: Record<string, unknown>): string {
  const { type } = property;
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) return type.filter((t) => typeof t === 'string').join(' | ');
  if (Array.isArray(property.enum)) return property.enum.map((v) => JSON.stringify(v)).join(' | ');
  return '';
}

function Template({ template: t }: { template: QueryTemplate }) {
  const required = new Set(t.params.required ?? []);
  const params = Object.entries(t.params.properties ?? {});
  return (
    <li className="template" data-testid="template" data-template={t.name}>
      <div className="template-head">
        <strong>{t.name}</strong>
        <code>{t.version}</code>
        <span className="muted small">
          {t.versions.length === 1 ? '1 version' : `${t.versions.length} versions`}
          {t.owner ? ` · ${t.owner}` : ''}
        </span>
      </div>
      {t.description ? <p className="template-description">{t.description}</p> : null}
      <p className="small">
        answers with <SchemaRef value={t.answerSchema} />
      </p>
      {params.length ? (
        <ul className="template-params">
          {params.map(([name, property]) => (
            <li key={name} data-testid="template-param" data-param={name} data-required={String(required.has(name))}>
              <code>{name}</code>
              {typeOf(property) ? <span className="muted small">{typeOf(property)}</span> : null}
              {required.has(name) ? (
                <span className="required">required</span>
              ) : (
                <span className="muted small">optional</span>
              )}
              {typeof property.description === 'string' ? <span className="small">{property.description}</span> : null}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted small">No parameters.</p>
      )}
      <details className="template-prompt">
        <summary className="small">prompt</summary>
        <pre className="round-answer">{t.prompt}</pre>
      </details>
    </li>
  );
}
