/**
 * The exchange routes of the API: schemas (publish, list, versions, fetch, validate, check, TypeScript types) and
 * query templates (publish, list, fetch, render). Every token may read them; a module token publishes as its
 * module, and only the owner of a name (or an unscoped token) publishes its next versions.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Hub } from '../../hub.js';
import * as X from '../exchange-schemas.js';
import * as R from '../responses.js';
import { type Env, routeParts } from './parts.js';

const ref = (name: string, version: string) => (version === 'latest' ? name : `${name}@${version}`);

/** Adds the schema and template routes to the API app. */
export function registerSchemaRoutes(app: OpenAPIHono<Env>, hub: Hub): void {
  const { route, ok, errors, json } = routeParts;
  const publisher = (module: string | null) => (module === null ? {} : { module });

  app.openapi(
    route({
      method: 'get',
      path: '/schemas',
      tags: ['exchange'],
      summary: 'List the schemas with their versions',
      responses: { 200: ok(X.SchemaList, 'the schemas') },
    }),
    async (c) => c.json({ schemas: await hub.schemas.list() }, 200),
  );
  app.openapi(
    route({
      method: 'post',
      path: '/schemas',
      tags: ['exchange'],
      summary: 'Publish a schema version',
      description:
        "Versions are immutable: the same name and version again with the same content answers 200 and the stored version; with other content 409 `conflict`. A version that breaks the name's compatibility mode is refused with 409 `conflict` and the report in `details.report`.",
      request: json(X.PublishSchemaBody),
      responses: {
        201: ok(X.PublishResult, 'published'),
        200: ok(X.PublishResult, 'already published with this content'),
        ...errors,
        403: ok(R.Problem, 'the name belongs to another module'),
        409: ok(R.Problem, 'another content under this version, an older version, or a compatibility break'),
      },
    }),
    async (c) => {
      const result = await hub.schemas.publish(c.req.valid('json'), publisher(c.get('principal').module));
      return c.json(result, result.created ? 201 : 200);
    },
  );
  app.openapi(
    route({
      method: 'post',
      path: '/schemas/check',
      tags: ['exchange'],
      summary: 'Check a draft version against the published ones without publishing it',
      request: json(X.PublishSchemaBody),
      responses: { 200: ok(X.CheckResult, 'the compatibility report'), ...errors },
    }),
    async (c) => c.json(await hub.schemas.check(c.req.valid('json')), 200),
  );
  app.openapi(
    route({
      method: 'get',
      path: '/schemas/{name}',
      tags: ['exchange'],
      summary: "A schema's versions, oldest first",
      request: { params: X.NameParam },
      responses: { 200: ok(X.SchemaVersions, 'the versions'), ...errors },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      return c.json({ name, versions: await hub.schemas.versions(name) }, 200);
    },
  );
  app.openapi(
    route({
      method: 'get',
      path: '/schemas/{name}/{version}',
      tags: ['exchange'],
      summary: 'A schema version (`latest` for the newest)',
      request: { params: X.SchemaParams },
      responses: { 200: ok(X.SchemaVersion, 'the version'), ...errors },
    }),
    async (c) => {
      const { name, version } = c.req.valid('param');
      return c.json(await hub.schemas.get(ref(name, version)), 200);
    },
  );
  app.openapi(
    route({
      method: 'post',
      path: '/schemas/{name}/{version}/validate',
      tags: ['exchange'],
      summary: 'Validate a value against a schema version',
      description:
        'Answers 200 whether or not the value is valid: `valid` and every issue (JSON pointer, expected, found, suggestion).',
      request: { params: X.SchemaParams, ...json(X.ValidateBody) },
      responses: { 200: ok(X.ValidationResult, 'the result'), ...errors },
    }),
    async (c) => {
      const { name, version } = c.req.valid('param');
      return c.json(await hub.schemas.validate(ref(name, version), c.req.valid('json').value), 200);
    },
  );
  app.openapi(
    route({
      method: 'get',
      path: '/schemas/{name}/{version}/types',
      tags: ['exchange'],
      summary: 'TypeScript declarations generated from a schema version',
      request: { params: X.SchemaParams },
      responses: {
        200: { content: { 'text/plain': { schema: { type: 'string' } } }, description: 'TypeScript' },
        ...errors,
      },
    }),
    async (c) => {
      const { name, version } = c.req.valid('param');
      // A text answer, which the typed handler of a JSON API does not describe.
      return c.text(await hub.schemas.types(ref(name, version)), 200) as never;
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/templates',
      tags: ['exchange'],
      summary: 'List the query templates (latest versions)',
      responses: { 200: ok(X.TemplateList, 'the templates') },
    }),
    async (c) => c.json({ templates: await hub.templates.list() }, 200),
  );
  app.openapi(
    route({
      method: 'post',
      path: '/templates',
      tags: ['exchange'],
      summary: 'Publish a query template version',
      request: json(X.PublishTemplateBody),
      responses: {
        201: ok(X.TemplateVersion, 'published'),
        200: ok(X.TemplateVersion, 'already published with this content'),
        ...errors,
        403: ok(R.Problem, 'the name belongs to another module'),
        409: ok(R.Problem, 'another content under this version'),
      },
    }),
    async (c) => {
      const { template, created } = await hub.templates.publish(
        c.req.valid('json'),
        publisher(c.get('principal').module),
      );
      return c.json(template, created ? 201 : 200);
    },
  );
  app.openapi(
    route({
      method: 'get',
      path: '/templates/{name}/{version}',
      tags: ['exchange'],
      summary: 'A query template version (`latest` for the newest)',
      request: { params: X.SchemaParams },
      responses: { 200: ok(X.TemplateVersion, 'the template'), ...errors },
    }),
    async (c) => {
      const { name, version } = c.req.valid('param');
      return c.json(await hub.templates.get(ref(name, version)), 200);
    },
  );
  app.openapi(
    route({
      method: 'post',
      path: '/templates/{name}/{version}/render',
      tags: ['exchange'],
      summary: 'The question a template asks with the given parameters (checked), without asking it',
      request: { params: X.SchemaParams, ...json(X.RenderBody) },
      responses: { 200: ok(X.Rendered, 'the question and its answer schema'), ...errors },
    }),
    async (c) => {
      const { name, version } = c.req.valid('param');
      return c.json(await hub.templates.render(ref(name, version), c.req.valid('json').params ?? {}), 200);
    },
  );
}
