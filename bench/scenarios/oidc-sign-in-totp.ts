import { Secret, TOTP } from 'otpauth';
import type { DatasetPlan, TenantPlan } from '../dataset.js';
import { measureOperations, type SignInPlan, signIn, UnexpectedStatus } from '../drive.js';
import type { Scenario } from '../scenario.js';
import { BENCH_USER_PASSWORD, benchTotpSecret, signInUsers } from '../seed.js';

interface TotpPlan extends SignInPlan {
  users: { email: string; secret: string }[];
}

function totpPlan(baseUrl: string, dataset: DatasetPlan): TotpPlan {
  const tenant = dataset.tenants[0] as TenantPlan;
  return {
    baseUrl,
    issuer: `${baseUrl}/api/v1/auth/tenants/${tenant.slug}`,
    clientId: tenant.webApp.id,
    clientSecret: tenant.webApp.secret,
    redirectUri: tenant.webApp.redirectUri,
    users: signInUsers(dataset).totp.map((user) => ({ email: user.email, secret: benchTotpSecret(user.id) })),
  };
}

/**
 * Issue 13: complete sign-ins with a password and a TOTP code per second, browserless: authorize,
 * the login page, the password (argon2id), the two-step verification page, the code (computed
 * here from the seeded secret, as an authenticator app does), the redirects, the code exchange.
 * Users with a TOTP factor in turn (a time step is accepted once per user; bench/seed.ts seeds
 * enough users that none signs in twice within 30 s). Against the argon2id ceiling: the second
 * factor should cost little beside the password hash.
 */
export const scenario: Scenario = {
  name: 'oidc.sign-in-totp',
  description: 'authorize -> password -> TOTP page -> code -> token, whole flow per sign-in',
  reference: () => ({ kind: 'machine', name: 'argon2id-hash' }),
  async prepare({ baseUrl, dataset }) {
    const plan = totpPlan(baseUrl, dataset);
    if (plan.users.length === 0) throw new Error('the dataset has no users with TOTP (too small)');
    return { method: 'GET', paths: [plan.issuer], expectedStatus: 200, custom: plan };
  },
  async drive({ plan, connections, durationSeconds, amount, warmupSeconds }) {
    const totp = plan.custom as TotpPlan;
    // The last time step each user gave: the next sign-in gives a later one (replays are refused),
    // the current step or the next (accepted for clock drift).
    const lastStep = new Map<string, number>();
    let turn = 0;
    const nextUser = () => {
      const now = Math.floor(Date.now() / 30_000);
      for (let tries = 0; tries < totp.users.length; tries++) {
        const user = totp.users[turn++ % totp.users.length] as TotpPlan['users'][number];
        const step = Math.max(now, (lastStep.get(user.email) ?? now - 1) + 1);
        if (step <= now + 1) {
          lastStep.set(user.email, step);
          return { user, step };
        }
      }
      throw new Error('every TOTP user has given the codes of this time step and the next');
    };
    const operation = async () => {
      const { user, step } = nextUser();
      const tokens = await signIn(totp, user.email, BENCH_USER_PASSWORD, async (browser, page) => {
        if (page.status !== 200 || !page.body.includes('name="code"')) {
          throw new UnexpectedStatus(page.status, `no code form: ${page.location ?? page.body}`);
        }
        const code = TOTP.generate({ secret: Secret.fromBase32(user.secret), timestamp: step * 30_000 });
        return browser.submitForm(page, { code });
      });
      if (!tokens.access_token) throw new Error('no access token');
    };
    // A fixed amount (the smoke test's tiny dataset) stays within two sign-ins per user.
    const bounded = amount === null ? null : Math.min(amount, totp.users.length * 2);
    if (warmupSeconds > 0) {
      await measureOperations(
        { concurrency: connections, seconds: warmupSeconds, amount: null, warmup: true },
        operation,
      );
    }
    return measureOperations(
      { concurrency: connections, seconds: durationSeconds, amount: bounded },
      operation,
    );
  },
};
