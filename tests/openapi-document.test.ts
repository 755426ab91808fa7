import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODE_VALUES } from '../src/platform/openapi.js';
import { hasChromium, launchChromium } from './helpers/browser.js';
import { startLiveApp, TEST_CLIENT_ID, TEST_CLIENT_SECRET, useTestApp } from './helpers/test-app.js';

// Issue 11, item 12: the OpenAPI document describes the API exactly, so that a client generated
// from it can call every operation (docs/api-decisions.md, "OpenAPI document").

// biome-ignore lint/suspicious/noExplicitAny: the test walks a JSON document field by field.
type Json = Record<string, any>;
interface Op {
  method: string;
  path: string;
  operation: Json;
}

const t = useTestApp();
let document: Json;
let operations: Op[];
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

beforeAll(async () => {
  const answer = await t.request({ method: 'GET', url: '/openapi.json' });
  expect(answer.status).toBe(200);
  document = answer.body as Json;
  operations = Object.entries(document.paths as Record<string, Json>).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method]).map((method) => ({ method, path, operation: item[method] })),
  );
});

const name = ({ method, path }: Op) => `${method.toUpperCase()} ${path}`;
const medias = (operation: Json): [string, Json][] => [
  ...Object.entries((operation.requestBody?.content ?? {}) as Record<string, Json>),
  ...Object.values((operation.responses ?? {}) as Record<string, Json>).flatMap((response) =>
    Object.entries((response.content ?? {}) as Record<string, Json>),
  ),
];

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(document.openapi).toBe('3.1.0');
  });

  it('gives every operation a unique camelCase operationId', () => {
    expect(operations.length).toBeGreaterThan(90);
    const ids = operations.map((op) => op.operation.operationId);
    for (const op of operations) expect(op.operation.operationId, name(op)).toMatch(/^[a-z][A-Za-z0-9]*$/);
    expect(new Set(ids).size).toBe(ids.length);
    const byId = Object.fromEntries(operations.map((op) => [op.operation.operationId, name(op)]));
    expect(byId.adminListUsers).toBe('GET /api/v1/admin/users/');
    expect(byId.listUsers).toBe('GET /api/v1/tenants/{tenant_id}/users');
    expect(byId.platformToken).toBe('POST /api/v1/platform/oauth/token');
  });

  it('describes every response (no "Default Response")', () => {
    for (const op of operations) {
      for (const [status, response] of Object.entries(op.operation.responses as Record<string, Json>)) {
        expect(response.description, `${name(op)} ${status}`).not.toBe('Default Response');
        expect(response.description.length, `${name(op)} ${status}`).toBeGreaterThan(1);
      }
    }
  });

  it('documents the statuses a route of each kind can answer', () => {
    for (const op of operations) {
      const statuses = Object.keys(op.operation.responses);
      const authenticated = (op.operation.security ?? []).some((entry: Json) => 'bearerAuth' in entry);
      if (authenticated) expect(statuses, name(op)).toEqual(expect.arrayContaining(['401', '403']));
      if (op.path.includes('{')) expect(statuses, name(op)).toContain('404');
      if (op.path.includes('{')) expect(statuses, name(op)).toContain('422');
      if (op.operation.requestBody?.content['application/json']) {
        expect(statuses, name(op)).toEqual(expect.arrayContaining(['400', '413', '415', '422']));
      }
    }
    const authorizeForm = document.paths['/api/v1/platform/oauth/authorize'].post;
    expect(Object.keys(authorizeForm.responses)).toEqual(
      expect.arrayContaining(['200', '303', '400', '422', '429']),
    );
  });

  it('lists the error codes of the error envelope', () => {
    const envelope = document.components.schemas.ErrorResponse;
    expect(envelope.properties.code.enum).toEqual(ERROR_CODE_VALUES);
    expect(envelope.properties.code.enum).toEqual(expect.arrayContaining(['NOT_FOUND', 'RATE_LIMITED']));
    const getTenant = document.paths['/api/v1/admin/tenants/{tenant_id}'].get;
    expect(getTenant.responses['404'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/ErrorResponse',
    });
    expect(getTenant.responses['404'].description).toContain('NOT_FOUND');
  });

  it('has an example for every request body and every response body', () => {
    for (const op of operations) {
      const all = medias(op.operation);
      // CORS preflights carry no body either way.
      if (op.method !== 'options') expect(all.length, name(op)).toBeGreaterThan(0);
      for (const [type, media] of all) expect(media.example, `${name(op)} ${type}`).toBeDefined();
    }
  });

  it('has examples that are valid against their own schemas', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    (addFormatsModule as unknown as (ajv: Ajv2020) => void)(ajv);
    for (const [schemaName, schema] of Object.entries(document.components.schemas as Record<string, Json>)) {
      ajv.addSchema(schema, `#/components/schemas/${schemaName}`);
    }
    const problems: string[] = [];
    for (const op of operations) {
      for (const [type, media] of medias(op.operation)) {
        if (!media.schema || type !== 'application/json') continue;
        const validate = ajv.compile({ ...media.schema, $id: undefined });
        if (!validate(media.example)) problems.push(`${name(op)}: ${ajv.errorsText(validate.errors)}`);
      }
      for (const parameter of op.operation.parameters ?? []) {
        const validate = ajv.compile(parameter.schema);
        if (!validate(parameter.example))
          problems.push(`${name(op)} ${parameter.name}: ${ajv.errorsText(validate.errors)}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('states what the server accepts as an email address', () => {
    const create =
      document.paths['/api/v1/tenants/{tenant_id}/users'].post.requestBody.content['application/json'];
    const email = create.schema.properties.email;
    expect(email).toMatchObject({ format: 'email', maxLength: 320 });
    expect(new RegExp(email.pattern).test('ada@localhost')).toBe(false); // refused by the server too
    expect(new RegExp(email.pattern).test('ada.lovelace@example.com')).toBe(true);
  });

  it('declares no query parameter nullable', () => {
    for (const op of operations) {
      for (const parameter of op.operation.parameters ?? []) {
        if (parameter.in !== 'query') continue;
        expect(JSON.stringify(parameter.schema), `${name(op)} ${parameter.name}`).not.toContain('null');
      }
    }
    expect(document.info.description).toContain('Unknown query parameters are ignored');
  });

  it('keeps validating query filters as before: an empty boolean filter is absent, an empty enum a 422', async () => {
    const token = await t.platformToken();
    const roles = await t.request({ method: 'GET', url: '/api/v1/admin/admin-roles/?is_active=', token });
    expect(roles.status).toBe(200);
    const partners = await t.request({ method: 'GET', url: '/api/v1/admin/partners/?status=', token });
    expect(partners.status).toBe(422);
    expect(partners.body.detail[0]).toMatchObject({ loc: ['query', 'status'], type: 'enum' });
    const search = await t.request({
      method: 'GET',
      url: '/api/v1/admin/partners/?search=&unknown=1',
      token,
    });
    expect(search.status).toBe(200);
  });

  it('gives path ids their fixed shape as a pattern', () => {
    const idParameters = operations.flatMap((op) =>
      (op.operation.parameters ?? []).filter((p: Json) => p.in === 'path' && /_id$/.test(p.name)),
    );
    expect(idParameters.length).toBeGreaterThan(50);
    // Prefixed ids, or the numeric ids of webhook deliveries (X-ScaiKey-Webhook-ID).
    for (const parameter of idParameters)
      expect(parameter.schema.pattern, parameter.name).toMatch(/^\^([a-z]+_|\[0-9\])/);
    const partner = document.paths['/api/v1/admin/partners/{partner_id}'].get.parameters[0];
    expect(new RegExp(partner.schema.pattern).test('prt_0123456789abcdefghij')).toBe(true);
  });

  it('answers 404, not 422, for a path id of the wrong shape (the pattern is documentation)', async () => {
    const token = await t.platformToken();
    const answer = await t.request({ method: 'GET', url: '/api/v1/admin/partners/not-an-id', token });
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ detail: expect.any(String), code: 'NOT_FOUND' });
  });

  it('offers bearer tokens and the client credentials flow of the platform token endpoint', () => {
    const schemes = document.components.securitySchemes;
    expect(schemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemes.oauth2.flows.clientCredentials.tokenUrl).toBe('/api/v1/platform/oauth/token');
    expect(document.paths[schemes.oauth2.flows.clientCredentials.tokenUrl].post).toBeDefined();
    expect(schemes.clientSecretBasic).toMatchObject({ type: 'http', scheme: 'basic' });
    const listTenants = document.paths['/api/v1/admin/tenants/'].get;
    expect(listTenants.security).toEqual([{ bearerAuth: [] }, { oauth2: [] }]);
  });

  it('declares the form bodies, client authentication and responses of the OAuth endpoints', () => {
    const form = 'application/x-www-form-urlencoded';
    const tenant = '/api/v1/auth/tenants/{tenant_slug}';
    for (const path of [
      '/api/v1/platform/oauth/token',
      '/api/v1/platform/oauth/introspect',
      '/api/v1/platform/oauth/revoke',
      `${tenant}/oauth/token`,
      `${tenant}/oauth/introspect`,
      `${tenant}/oauth/revoke`,
    ]) {
      const operation = document.paths[path].post;
      expect(operation.requestBody.content[form].schema.type, path).toBe('object');
      expect(operation.security, path).toContainEqual({ clientSecretBasic: [] });
      expect(operation.responses['200'].content, path).toBeDefined();
    }
    expect(
      document.paths[`${tenant}/oauth/introspect`].post.responses['200'].content['application/json'].schema
        .title,
    ).toBe('IntrospectionResponse');
    expect(
      document.paths[`${tenant}/oauth/userinfo`].get.responses['200'].content['application/json'].schema
        .title,
    ).toBe('UserInfo');
    expect(document.paths[`${tenant}/oauth/userinfo`].get.security).toContainEqual({ bearerAuth: [] });
    expect(document.paths[`${tenant}/oauth/authorize`].get.parameters.map((p: Json) => p.name)).toEqual(
      expect.arrayContaining(['client_id', 'redirect_uri', 'response_type', 'code_challenge']),
    );
    expect(document.paths[`${tenant}/oauth/authorize`].post.requestBody.content[form]).toBeDefined();
    expect(document.paths[`${tenant}/oauth/logout`].get).toBeDefined();
    // Sessions exist only at tenants' issuers: the platform has no logout endpoint to document.
    expect(document.paths['/api/v1/platform/oauth/logout']).toBeUndefined();
    expect(document.paths['/api/v1/platform/oauth/authorize'].post.requestBody.content[form]).toBeDefined();
  });

  it('declares browser pages as text/html', () => {
    const pages = [
      ['get', '/api/v1/platform/oauth/authorize'],
      ['get', '/api/v1/auth/tenants/{tenant_slug}/interaction/{uid}'],
      ['post', '/api/v1/auth/tenants/{tenant_slug}/interaction/{uid}/login'],
      ['get', '/api/v1/auth/tenants/{tenant_slug}/reset-password'],
      ['get', '/api/v1/auth/tenants/{tenant_slug}/oauth/authorize'],
    ];
    for (const [method, path] of pages) {
      const ok = document.paths[path as string][method as string].responses['200'];
      expect(Object.keys(ok.content), `${method} ${path}`).toEqual(['text/html']);
    }
  });

  it('serves a docs page branded ScaiKey, with its own logo and a strict CSP', async () => {
    const page = await t.request({ method: 'GET', url: '/docs/' });
    expect(page.status).toBe(200);
    expect(String(page.body)).toContain('<title>ScaiKey API</title>');
    expect(String(page.body)).not.toContain('Swagger UI</title>');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    const initializer = await t.request({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(String(initializer.body)).toContain('data:image/svg+xml;base64,');
    const favicon = await t.request({ method: 'GET', url: '/docs/static/theme/favicon.svg' });
    expect(favicon.status).toBe(200);
    expect(favicon.headers['content-type']).toContain('image/svg+xml');
  });
});

describe.runIf(hasChromium)('the docs page in chromium', () => {
  it('fetches a token itself through the client credentials flow, under its CSP', async () => {
    const live = await startLiveApp();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const violations: string[] = [];
      page.on('console', (message) => {
        // Swagger UI itself applies one inline style that the framework's CSP refuses (harmless, also
        // without ScaiKey's branding); nothing the page needs may be refused: scripts, images, requests.
        const text = message.text();
        if (/Content Security Policy/i.test(text) && !/inline style/i.test(text)) violations.push(text);
      });
      await page.goto(`${live.origin}/docs/`);
      expect(await page.title()).toBe('ScaiKey API');
      await page.locator('.topbar img[src^="data:image/svg+xml"]').waitFor();
      await page.locator('button.authorize').first().click();
      await page.locator('input[id^="client_id_"]').fill(TEST_CLIENT_ID);
      await page.locator('input[id^="client_secret_"]').fill(TEST_CLIENT_SECRET);
      const tokenAnswer = page.waitForResponse((response) =>
        response.url().endsWith('/api/v1/platform/oauth/token'),
      );
      await page.locator('.auth-container').filter({ hasText: 'oauth2' }).locator('button.authorize').click();
      const answer = await tokenAnswer;
      expect(answer.status()).toBe(200);
      expect((await answer.json()).token_type).toBe('Bearer');
      // Authorized: the dialog offers to log out of the scheme.
      await page
        .locator('.auth-container')
        .filter({ hasText: 'oauth2' })
        .locator('button', { hasText: 'Logout' })
        .waitFor();
      expect(violations).toEqual([]);
    } finally {
      await browser.close();
      await live.close();
    }
  }, 120_000);
});
