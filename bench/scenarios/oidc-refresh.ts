import { measureOperations, signIn, tokenRequest } from '../drive.js';
import type { Scenario } from '../scenario.js';
import { BENCH_USER_PASSWORD } from '../seed.js';
import { signInPlan } from './oidc-sign-in.js';

/**
 * Issue 7: refresh-token grants per second at the tenant's token endpoint (HTTP Basic client
 * auth; each grant rotates the refresh token and signs new tokens), 50 in flight on 50 sessions
 * signed in before the measurement. Against the raw RS256 signing rate of one core.
 */
export const scenario: Scenario = {
  name: 'oidc.refresh',
  description: 'POST .../oauth/token grant_type=refresh_token (rotating), 50 sessions',
  reference: () => ({ kind: 'machine', name: 'rs256-sign' }),
  target: 0.5, // issue 17: refresh grants >= 50% of the RS256 ceiling
  async prepare({ baseUrl, dataset }) {
    const plan = signInPlan(baseUrl, dataset);
    return { method: 'POST', paths: [`${plan.issuer}/oauth/token`], expectedStatus: 200, custom: plan };
  },
  async drive({ plan, connections, durationSeconds, amount, warmupSeconds }) {
    const signIns = plan.custom as ReturnType<typeof signInPlan>;
    const pool: string[] = [];
    await Promise.all(
      Array.from({ length: connections }, async (_, i) => {
        const email = signIns.emails[i % signIns.emails.length] as string;
        const tokens = await signIn(signIns, email, BENCH_USER_PASSWORD);
        if (!tokens.refresh_token) throw new Error('the sign-in gave no refresh token');
        pool.push(tokens.refresh_token);
      }),
    );
    const operation = async () => {
      const current = pool.shift() as string;
      try {
        const tokens = await tokenRequest(signIns, { grant_type: 'refresh_token', refresh_token: current });
        if (!tokens.refresh_token) throw new Error('no rotated refresh token');
        pool.push(tokens.refresh_token);
      } catch (error) {
        pool.push(current);
        throw error;
      }
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
