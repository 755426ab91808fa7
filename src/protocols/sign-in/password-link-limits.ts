import type { onRequestHookHandler } from 'fastify';
import { errorParagraph, htmlPage } from '../../lib/html-page.js';
import { findLiveTenantBySlug, pageBranding } from '../../modules/tenants/index.js';
import type { Db } from '../../platform/db/database.js';
import { AppError } from '../../platform/errors.js';
import { htmlPageHeaders } from '../../platform/http.js';
import { describeWait, type RateLimits } from '../../platform/rate-limit/limits.js';

/**
 * The set-password POST behind mailed links (each accepted password costs an argon2id hash):
 * every POST per IP. Over the limit: 429 with Retry-After, as `{detail, code: "RATE_LIMITED"}`
 * to a JSON client, as the tenant's page to a form post (the route answers both).
 */
export function passwordLinkRateLimit(limits: RateLimits, db: Db): onRequestHookHandler {
  const perIp = limits.perIp('passwordLinkPerIp');
  return async (request, reply) => {
    const wait = await perIp(request);
    if (wait === 0) return;
    const message = `Too many attempts. Wait ${describeWait(wait)}, then try again.`;
    if (String(request.headers['content-type'] ?? '').includes('json')) {
      throw new AppError('RATE_LIMITED', message, { 'retry-after': String(wait) });
    }
    const { tenant_slug } = request.params as { tenant_slug: string };
    const tenant = (await findLiveTenantBySlug(db, tenant_slug)) ?? null;
    htmlPageHeaders(reply)
      .code(429)
      .header('retry-after', String(wait))
      .send(htmlPage(pageBranding(tenant), 'Choose a new password', errorParagraph(message)));
    return reply;
  };
}
