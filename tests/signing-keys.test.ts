import { calculateJwkThumbprint, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/test-app.js';

describe('signing keys', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('are published under their RFC 7638 thumbprint as key id', async () => {
    const jwks = await t.request({ method: 'GET', url: '/api/v1/platform/.well-known/jwks.json' });
    expect(jwks.status).toBe(200);
    const keys = jwks.body.keys as JWK[];
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key.kid).toBe(await calculateJwkThumbprint(key, 'sha256'));
  });
});
