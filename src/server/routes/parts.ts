/**
 * What every route of the API is built from: its OpenAPI route (Bearer security, optional on loopback), JSON
 * responses and bodies, and the errors every route may answer.
 */
import { createRoute, type RouteConfig, type z } from '@hono/zod-openapi';
import type { Principal } from '../auth.js';
import { Problem } from '../responses.js';

/** What every request carries through the API's middleware: who is asking. */
export type Env = { Variables: { principal: Principal } };

const ok = (schema: z.ZodType, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

export const routeParts = {
  route: <R extends RouteConfig>(config: R) => createRoute({ ...config, security: [{ Bearer: [] }, {}] }) as R,
  ok,
  errors: {
    400: ok(Problem, 'invalid input'),
    404: ok(Problem, 'unknown id'),
  },
  json: <T extends z.ZodType>(schema: T) => ({
    body: { content: { 'application/json': { schema } }, required: true },
  }),
};

/** A JSON body that may be left out. */
export function optionalJson<T extends z.ZodType>(schema: T) {
  return { body: { content: { 'application/json': { schema } }, required: false } };
}
