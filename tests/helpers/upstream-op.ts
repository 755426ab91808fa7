import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('../fixtures/upstream-op.mjs', import.meta.url));

/** The accounts of tests/fixtures/upstream-op.mjs, with what the OP says about them. */
export const UPSTREAM_ACCOUNTS = {
  alice: {
    password: 'alice-upstream-password',
    sub: 'upstream-alice-0001',
    email: 'alice@upstream.example',
    emailVerified: true,
    givenName: 'Alice',
    familyName: 'Anders',
    name: 'Alice Anders',
    groups: ['engineering', 'platform-admins'],
    amr: ['pwd', 'mfa'],
    /** Only in the userinfo response, never in the ID token. */
    department: 'Research',
  },
  bob: {
    password: 'bob-upstream-password',
    sub: 'upstream-bob-0002',
    email: 'bob@upstream.example',
    emailVerified: false,
    givenName: 'Bob',
    familyName: 'Brown',
    name: 'Bob Brown',
    groups: ['sales'],
    amr: ['pwd'],
    department: 'Sales',
  },
} as const;
export type UpstreamAccount = keyof typeof UPSTREAM_ACCOUNTS;

export interface UpstreamOp {
  /** http://127.0.0.1:<port> (no trailing slash). */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /**
   * Drives the OP's pages from `authorizationUrl` as a browser would (manual cookie jar): signs in
   * as `account`, then approves (or, with `consent: false`, denies) the consent page. Resolves with
   * the URL the OP finally redirects to — the client's redirect URI with `code` and `state`, or
   * with `error` when denied.
   */
  login(
    authorizationUrl: string | URL,
    account: UpstreamAccount,
    options?: { consent?: boolean },
  ): Promise<URL>;
  stop(): Promise<void>;
}

export interface UpstreamOpOptions {
  redirectUris: string[];
  clientId?: string;
  clientSecret?: string;
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
}

/**
 * Starts tests/fixtures/upstream-op.mjs (an `oidc-provider` instance) in a separate process on a
 * free loopback port; resolves once its discovery document answers. Stop it in afterAll.
 */
export async function startUpstreamOp(options: UpstreamOpOptions): Promise<UpstreamOp> {
  const clientId = options.clientId ?? 'scaikey-upstream-client';
  const clientSecret = options.clientSecret ?? 'upstream-client-secret-0123456789abcdef';
  const child = fork(FIXTURE, [], {
    env: {
      ...process.env,
      UPSTREAM_OP_CLIENTS: JSON.stringify([
        {
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uris: options.redirectUris,
          token_endpoint_auth_method: options.tokenEndpointAuthMethod ?? 'client_secret_basic',
        },
      ]),
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk;
  });
  const exited = once(child, 'exit');
  const first = await Promise.race([
    once(child, 'message').then(([message]) => message as { issuer: string }),
    exited.then(() => null),
  ]);
  if (!first) throw new Error(`the upstream OP exited before it listened:\n${output}`);
  const { issuer } = first;
  await waitForDiscovery(issuer, child, () => output);
  return {
    issuer,
    clientId,
    clientSecret,
    login: (authorizationUrl, account, loginOptions = {}) =>
      driveLogin(issuer, new URL(authorizationUrl), account, loginOptions.consent ?? true),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Polls the discovery document every 50 ms, for at most 30 s. */
async function waitForDiscovery(issuer: string, child: ChildProcess, output: () => string): Promise<void> {
  const url = `${issuer}/.well-known/openid-configuration`;
  for (let attempt = 0; attempt < 600; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`the upstream OP exited:\n${output()}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not answering yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the upstream OP did not answer ${url} within 30 s:\n${output()}`);
}

/** A browser's cookies for one origin, by name (the OP's paths all lie under its origin). */
class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = header.split(';');
      const separator = pair.indexOf('=');
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      const expired = attributes.some((attribute) => {
        const [key = '', attributeValue = ''] = attribute.split('=').map((part) => part.trim());
        if (key.toLowerCase() === 'max-age') return Number(attributeValue) <= 0;
        if (key.toLowerCase() === 'expires') return Date.parse(attributeValue) <= Date.now();
        return false;
      });
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

async function driveLogin(
  issuer: string,
  start: URL,
  account: UpstreamAccount,
  consent: boolean,
): Promise<URL> {
  const origin = new URL(issuer).origin;
  const jar = new CookieJar();
  const request = async (url: URL, init: RequestInit = {}) => {
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: jar.header() },
    });
    jar.store(response);
    return response;
  };
  let response = await request(start);
  let current = start;
  for (let step = 0; step < 20; step += 1) {
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      const next = new URL(location, current);
      // Leaving the OP: this is the answer to the client's redirect URI.
      if (next.origin !== origin) return next;
      current = next;
      response = await request(next);
      continue;
    }
    const html = await response.text();
    if (response.status !== 200) throw new Error(`the upstream OP answered ${response.status}: ${html}`);
    const actions = [...html.matchAll(/<form method="post" action="([^"]+)"/g)].map(
      (match) => match[1] ?? '',
    );
    const loginAction = actions.find((action) => action.endsWith('/login'));
    let action: string | undefined;
    let body = new URLSearchParams();
    if (loginAction) {
      action = loginAction;
      body = new URLSearchParams({ login: account, password: UPSTREAM_ACCOUNTS[account].password });
    } else {
      action = actions.find((candidate) => candidate.endsWith(consent ? '/confirm' : '/abort'));
    }
    if (!action) throw new Error(`no form to submit on the upstream OP's page: ${html}`);
    current = new URL(action, current);
    response = await request(current, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }
  throw new Error('the upstream OP sign-in did not end within 20 steps');
}
