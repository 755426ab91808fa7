import type { DatasetPlan, TenantPlan } from '../dataset.js';
import { measureOperations, type SignInPlan, signIn } from '../drive.js';
import type { Scenario } from '../scenario.js';
import { BENCH_USER_PASSWORD, signInUsers } from '../seed.js';

export function signInPlan(baseUrl: string, dataset: DatasetPlan): SignInPlan & { emails: string[] } {
  const tenant = dataset.tenants[0] as TenantPlan;
  // Distinct active users (200, without a second factor) signing in, in turn.
  const emails = signInUsers(dataset).password.map((user) => user.email);
  return {
    baseUrl,
    issuer: `${baseUrl}/api/v1/auth/tenants/${tenant.slug}`,
    clientId: tenant.webApp.id,
    clientSecret: tenant.webApp.secret,
    redirectUri: tenant.webApp.redirectUri,
    emails,
  };
}

/**
 * Issue 7: complete authorization-code sign-ins per second, browserless: authorize, the hosted
 * login page, the login form (the password checked with argon2id), the redirects to the callback,
 * the code exchanged with PKCE (S256) and HTTP Basic client auth at the tenant's token endpoint
 * (ID, access and refresh token signed). 50 flows in flight, seeded users in turn. Against the
 * machine's argon2id hash rate (each sign-in verifies one hash: its ceiling on one core).
 */
export const scenario: Scenario = {
  name: 'oidc.sign-in',
  description: 'authorize -> login form -> code -> token (PKCE, Basic), whole flow per sign-in',
  reference: () => ({ kind: 'machine', name: 'argon2id-hash' }),
  target: 0.7, // issue 17: sign-in >= 70% of the argon2id ceiling
  async prepare({ baseUrl, dataset }) {
    const plan = signInPlan(baseUrl, dataset);
    return { method: 'GET', paths: [plan.issuer], expectedStatus: 200, custom: plan };
  },
  async drive({ plan, connections, durationSeconds, amount, warmupSeconds }) {
    const signIns = plan.custom as ReturnType<typeof signInPlan>;
    const operation = async (index: number) => {
      const email = signIns.emails[index % signIns.emails.length] as string;
      const tokens = await signIn(signIns, email, BENCH_USER_PASSWORD);
      if (!tokens.access_token) throw new Error('no access token');
    };
    if (warmupSeconds > 0) {
      await measureOperations(
        { concurrency: connections, seconds: warmupSeconds, amount: null, warmup: true },
        operation,
      );
    }
    return measureOperations({ concurrency: connections, seconds: durationSeconds, amount }, operation);
  },
};
