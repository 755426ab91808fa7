import type { onRequestHookHandler } from 'fastify';
import { AppError } from '../../platform/errors.js';
import { describeWait, type RateLimits } from '../../platform/rate-limit/limits.js';

/**
 * The set-password POST behind mailed links (each accepted password costs an argon2id hash):
 * every POST per IP. Over the limit: 429 with Retry-After, as `{detail, code: "RATE_LIMITED"}`
 * to a JSON client, as the tenant's page to a form post (the hosted pages' error handler).
 */
export function passwordLinkRateLimit(limits: RateLimits): onRequestHookHandler {
  const perIp = limits.perIp('passwordLinkPerIp');
  return async (request, reply) => {
    const wait = await perIp(request);
    if (wait === 0) return;
    reply.header('retry-after', String(wait));
    throw new AppError('RATE_LIMITED', `Too many attempts. Wait ${describeWait(wait)}, then try again.`, {
      'retry-after': String(wait),
    });
  };
}
