import type { FastifyInstance } from 'fastify';
import { jsonNestedDeeperThan } from '../lib/json-depth.js';
import { RequestValidationError } from './errors.js';

/** How deep a JSON body may nest objects and arrays (docs/api-decisions.md, "Wire format"). */
export const MAX_JSON_DEPTH = 64;

/**
 * Replaces Fastify's JSON body parser with one that refuses bodies nested deeper than
 * {@link MAX_JSON_DEPTH} before parsing them (422 `json_invalid`): later recursive steps (schema
 * validation, the text check, JSON.stringify of audit rows) then never meet a body deep enough
 * to overflow the stack. Parsing itself stays Fastify's (prototype-poisoning checks included).
 *
 * JSON is the only media type of the API: Fastify's `text/plain` parser is removed, so a body of
 * any other type is a 415 (routes that take forms add their parser in their own plugin). An
 * empty body labelled JSON on a route that takes no body (a DELETE sent by a generic client) is
 * no body, not a 422.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if ((body as string).length === 0 && !request.routeOptions.schema?.body) {
      done(null, undefined);
      return;
    }
    if (jsonNestedDeeperThan(body as string, MAX_JSON_DEPTH)) {
      done(
        new RequestValidationError([
          { loc: ['body'], msg: `JSON is nested deeper than ${MAX_JSON_DEPTH} levels`, type: 'json_invalid' },
        ]),
        undefined,
      );
      return;
    }
    parse(request, body as string, done);
  });
}
