import { createHash, randomBytes } from 'node:crypto';
import { countTokens, startWindow } from './meter.js';
import type { DriveResult } from './scenario.js';
import { LatencyRecorder } from './stats.js';

/**
 * Helpers for scenarios with their own driver (Scenario.drive): operations that autocannon cannot
 * express (multi-step sign-in flows, single timed writes). They run in the load process.
 */

/** Thrown by an operation for an answer other than the expected one: counted, not measured. */
export class UnexpectedStatus extends Error {
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(`unexpected status ${status}: ${detail.slice(0, 300)}`);
  }
}

/**
 * Runs `operation` on `concurrency` loops, for `amount` operations or `seconds`; each latency
 * recorded. A measurement (not `warmup`) also reads what its window used (bench/meter.ts: the
 * server's CPU, the database's work, …) into `usage`.
 */
export async function measureOperations(
  options: { concurrency: number; seconds: number; amount: number | null; warmup?: boolean },
  operation: (index: number) => Promise<void>,
): Promise<DriveResult> {
  const window = options.warmup ? null : await startWindow();
  const recorder = new LatencyRecorder();
  const statusCodes: Record<string, number> = {};
  let unexpected = 0;
  let errors = 0;
  let firstError: unknown = null;
  let next = 0;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  let last = started;
  const more = () => (options.amount !== null ? next < options.amount : performance.now() < deadline);
  const loop = async () => {
    while (more()) {
      const index = next++;
      const before = performance.now();
      try {
        await operation(index);
        last = performance.now();
        recorder.add(last - before);
        statusCodes.ok = (statusCodes.ok ?? 0) + 1;
      } catch (error) {
        last = performance.now();
        firstError ??= error;
        if (error instanceof UnexpectedStatus) {
          unexpected++;
          statusCodes[error.status] = (statusCodes[error.status] ?? 0) + 1;
        } else errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, loop));
  const usage = window ? await window.end(recorder.count) : undefined;
  if (recorder.count === 0 && firstError) throw firstError;
  const seconds = (last - started) / 1000;
  return {
    ...recorder.summarize(recorder.count, seconds),
    unexpected,
    errors,
    timeouts: 0,
    statusCodes,
    ...(usage ? { usage } : {}),
  };
}

/** fetch, JSON in and out, status checked. */
export async function call(
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: unknown; expect: number },
): Promise<unknown> {
  const response = await fetch(url, {
    method: init.method,
    headers: {
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(init.headers ?? {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  if (response.status !== init.expect) throw new UnexpectedStatus(response.status, text);
  return text ? JSON.parse(text) : null;
}

function decode(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

export interface Page {
  status: number;
  location: string | null;
  body: string;
  url: string;
}

/** A browser without a browser: a cookie jar and manual redirects (as tests/helpers/browser.ts). */
export class CookieBrowser {
  readonly cookies = new Map<string, string>();

  constructor(readonly origin: string) {}

  async request(url: string, form?: Record<string, string>): Promise<Page> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0)
      headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      headers,
      redirect: 'manual',
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const index = (pair as string).indexOf('=');
      const name = (pair as string).slice(0, index);
      const value = (pair as string).slice(index + 1);
      if (/expires=Thu, 01 Jan 1970/i.test(cookie) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return {
      status: response.status,
      location: response.headers.get('location'),
      body: await response.text(),
      url,
    };
  }

  /** Follows redirects on ScaiKey's origin; returns a page, or a redirect elsewhere (not fetched). */
  async follow(url: string, form?: Record<string, string>): Promise<Page> {
    let current = await this.request(url, form);
    for (let hops = 0; hops < 10 && current.location; hops++) {
      const next = new URL(current.location, current.url).toString();
      if (!next.startsWith(this.origin)) return { ...current, location: next };
      current = await this.request(next);
    }
    return current;
  }

  /** Submits the page's (login) form with its hidden fields and `fields`. */
  async submitForm(page: Page, fields: Record<string, string>): Promise<Page> {
    const action = /<form method="post"(?: action="([^"]*)")?/.exec(page.body);
    if (!action) throw new UnexpectedStatus(page.status, `no form on page: ${page.body.slice(0, 300)}`);
    const hidden = Object.fromEntries(
      [...page.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [
        m[1],
        decode(m[2] as string),
      ]),
    );
    return this.follow(new URL(decode(action[1] ?? ''), page.url).toString(), { ...hidden, ...fields });
  }
}

export interface SignInPlan {
  baseUrl: string;
  /** The tenant's issuer: {baseUrl}/api/v1/auth/tenants/{slug} */
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

export interface Tokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** POST to the tenant's token endpoint with HTTP Basic client auth. */
export async function tokenRequest(plan: SignInPlan, form: Record<string, string>): Promise<Tokens> {
  const response = await fetch(`${plan.issuer}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: basic(plan.clientId, plan.clientSecret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(form).toString(),
  });
  const text = await response.text();
  if (response.status !== 200) throw new UnexpectedStatus(response.status, text);
  const tokens = JSON.parse(text) as Tokens;
  countTokens(tokens as unknown as Record<string, unknown>);
  return tokens;
}

/**
 * The whole authorization code flow with PKCE (S256) from a fresh browser: authorize, the hosted
 * login page, the login form (password checked with argon2id), the redirects to the callback,
 * then the code exchanged at the token endpoint.
 */
export async function signIn(
  plan: SignInPlan,
  email: string,
  password: string,
  /** What follows the password form (a second factor): given the page after it, returns the next. */
  afterPassword?: (browser: CookieBrowser, page: Page) => Promise<Page>,
): Promise<Tokens> {
  const browser = new CookieBrowser(plan.baseUrl);
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(12).toString('base64url');
  const authorize = new URL(`${plan.issuer}/oauth/authorize`);
  for (const [key, value] of Object.entries({
    client_id: plan.clientId,
    redirect_uri: plan.redirectUri,
    response_type: 'code',
    scope: 'openid offline_access',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    nonce: randomBytes(12).toString('base64url'),
  })) {
    authorize.searchParams.set(key, value);
  }
  const loginPage = await browser.follow(authorize.href);
  if (loginPage.status !== 200) throw new UnexpectedStatus(loginPage.status, loginPage.body);
  const passwordAnswer = await browser.submitForm(loginPage, { email, password });
  const after = afterPassword ? await afterPassword(browser, passwordAnswer) : passwordAnswer;
  const callback = after.location ? new URL(after.location) : null;
  const code = callback?.searchParams.get('code');
  if (!callback || !code || !callback.href.startsWith(plan.redirectUri)) {
    throw new UnexpectedStatus(after.status, `no code: ${after.location ?? after.body}`);
  }
  return tokenRequest(plan, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: plan.redirectUri,
    code_verifier: verifier,
  });
}

/**
 * `count` operations one at a time, each timed alone, with an untimed `restore` after each (to
 * undo a write so that every repetition measures the same change).
 */
export async function measureOneByOne(
  count: number,
  operation: (index: number) => Promise<void>,
  restore: (index: number) => Promise<void>,
): Promise<DriveResult> {
  const recorder = new LatencyRecorder();
  let timed = 0;
  const window = await startWindow();
  for (let index = 0; index < count; index++) {
    const before = performance.now();
    await operation(index);
    const ms = performance.now() - before;
    recorder.add(ms);
    timed += ms;
    await restore(index);
  }
  const usage = await window.end(count, 'the window holds the untimed restores too');
  return {
    ...recorder.summarize(recorder.count, timed / 1000),
    unexpected: 0,
    errors: 0,
    timeouts: 0,
    statusCodes: { ok: count },
    usage,
  };
}
