import type { FastifyReply, FastifyRequest } from 'fastify';
import { HTML_PAGE_HEADERS } from '../lib/html-page.js';
import type { PaginationMeta } from '../lib/pagination.js';
import { auditActor, type Principal } from './auth/principal.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the management context's authentication hook; absent on public routes. */
    principal: Principal;
  }
}

function meta(request: FastifyRequest) {
  return { request_id: request.id, timestamp: new Date().toISOString() };
}

/** `{ data, meta }` */
export function ok<T>(request: FastifyRequest, data: T) {
  return { data, meta: meta(request) };
}

/** `{ data: [...], pagination, meta }` */
export function paged<T, P extends PaginationMeta>(request: FastifyRequest, data: T[], pagination: P) {
  return { data, pagination, meta: meta(request) };
}

/** Who made a change and from where: the facts every audit entry carries. */
export interface AuditOrigin {
  actorType: string;
  actorId: string | null;
  ipAddress: string | null;
  requestId: string | null;
}

/** The caller and request facts every audited service call needs. */
export interface CallContext {
  principal: Principal;
  origin: AuditOrigin;
}

export function callContext(request: FastifyRequest): CallContext {
  const actor = auditActor(request.principal);
  return {
    principal: request.principal,
    origin: {
      actorType: actor.actor_type,
      actorId: actor.actor_id,
      ipAddress: request.ip,
      requestId: request.id,
    },
  };
}

/**
 * The audit facts of a self-service call (`/api/v1/me…`): the signed-in user acting on their own
 * account (actor type `user`, not `admin` as a user token on the management API).
 */
export function selfServiceOrigin(request: FastifyRequest): AuditOrigin {
  return {
    actorType: 'user',
    actorId: request.principal.subject,
    ipAddress: request.ip,
    requestId: request.id,
  };
}

/** ISO 8601 UTC with milliseconds, or null. */
export function iso(value: Date | null | undefined): string | null {
  return value ? value.toISOString() : null;
}

/**
 * Marks a response that carries a secret shown once (a client secret) as never to be stored by a
 * browser or proxy cache (RFC 9111 §5.2.2.5; Pragma for HTTP/1.0 caches, as RFC 6749 §5.1 does).
 */
export function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}

/** Headers of hosted HTML pages (lib/html-page.ts): no framing, no referrer, no caching, no script. */
export function htmlPageHeaders(reply: FastifyReply): FastifyReply {
  return reply.headers(HTML_PAGE_HEADERS);
}
