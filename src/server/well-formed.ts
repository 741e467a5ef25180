/**
 * Refuses input the hub could only store as something other than what was sent. A JSON string may escape a lone
 * UTF-16 surrogate (`"\ud800"`), which has no UTF-8 form; bytes that are not UTF-8, in a body or percent-encoded in
 * a query or path, would be read as U+FFFD or kept as literal `%ED%A0%80`. Each is a 400 naming where it is, checked
 * once here for every route, so no route and no store sees it.
 */
import type { MiddlewareHandler } from 'hono';
import { describeLoneSurrogate, findLoneSurrogate } from '../domain/validate.js';
import { problem } from './problem.js';

/** The media types Hono's validator reads as JSON. */
const JSON_MEDIA = /^application\/([\w.-]+\+)?json$/i;
/** A JSON escape of a surrogate half. Most bodies hold none, and then nothing needs parsing here. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodes(component: string): boolean {
  try {
    decodeURIComponent(component.replaceAll('+', ' '));
    return true;
  } catch {
    return false;
  }
}

/** Where the URL holds percent-encoding that is not UTF-8 (`path`, `query.NAME`), or undefined. */
function badUrlPart(url: string): string | undefined {
  const pathStart = url.indexOf('/', url.indexOf('//') + 2);
  const queryStart = url.indexOf('?', pathStart);
  const path = queryStart < 0 ? url.slice(pathStart) : url.slice(pathStart, queryStart);
  if (!decodes(path)) return `path: '${path.slice(0, 200)}' is not valid percent-encoded UTF-8`;
  if (queryStart < 0) return undefined;
  for (const pair of url.slice(queryStart + 1).split('&')) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (!decodes(name)) return `query: the parameter name '${name.slice(0, 100)}' is not valid percent-encoded UTF-8`;
    if (eq >= 0 && !decodes(pair.slice(eq + 1))) {
      return `query.${decodeURIComponent(name.replaceAll('+', ' '))}: the value is not valid percent-encoded UTF-8`;
    }
  }
  return undefined;
}

/** The middleware: 400 `validation` for a URL or JSON body the hub would not store as sent. */
export function wellFormedInput(): MiddlewareHandler {
  return async (c, next) => {
    const url = badUrlPart(c.req.url);
    if (url) return problem(c, 'validation', url);
    const media = c.req.header('content-type')?.split(';')[0]?.trim() ?? '';
    if (c.req.method === 'GET' || c.req.method === 'HEAD' || !JSON_MEDIA.test(media)) return next();
    const bytes = await c.req.arrayBuffer();
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      return problem(c, 'validation', 'body: not valid UTF-8 (such bytes would be read as U+FFFD); send UTF-8 text');
    }
    // The validator decodes the same bytes again (Hono keeps them): valid UTF-8 now, so to the same text.
    if (SURROGATE_ESCAPE.test(text)) {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return next(); // the validator answers malformed JSON
      }
      const lone = findLoneSurrogate(body, 'body');
      if (lone) return problem(c, 'validation', describeLoneSurrogate(lone));
    }
    return next();
  };
}
