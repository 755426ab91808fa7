import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import view from '@fastify/view';
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  preHandlerHookHandler,
} from 'fastify';
import { Type } from 'typebox';
import { type PageBranding, SCRIPT_PAGE_CSP } from '../../lib/html-page.js';
import { AppError } from '../../platform/errors.js';
import { htmlPageHeaders } from '../../platform/http.js';
import { HtmlPage } from '../../platform/schemas.js';
import { eta, type PageView, pageData, VIEWS } from './pages.js';

/** The CSRF token field of a hosted page's form (form posts only; JSON clients send none). */
export const CsrfField = Type.String({
  maxLength: 256,
  description: "The CSRF token of the form's page (a form post needs it, with the page's cookie)",
});

/** How large a hosted page's form may be (a sign-in form is a few hundred bytes). */
export const PAGE_FORM_LIMIT = 64 * 1024;

/** The cookie holding the CSRF secret of a browser (signed; its tokens are in the pages' forms). */
export const CSRF_COOKIE = 'scaikey_csrf';

declare module 'fastify' {
  interface FastifyReply {
    /** Sends a hosted page: `view` in the branded layout, with the hosted pages' headers. */
    page(
      status: number,
      view: PageView,
      branding: PageBranding,
      title: string,
      data?: Record<string, unknown>,
    ): Promise<FastifyReply>;
  }
  interface FastifyContextConfig {
    /** The title of the error page of a hosted page route (default "Sign-in problem"). */
    pageTitle?: string;
    /** The route answers with pages only, also to a JSON body (the platform email step). */
    pagesOnly?: boolean;
  }
}

export interface HostedPagesOptions {
  /** Signs the CSRF secret cookie (the instance's cookie signing key). */
  cookieSecret: string;
  /** Whether cookies are sent over https only (SCAIKEY_PUBLIC_URL is https). */
  secureCookies: boolean;
  /** The branding of a request's page where known (its tenant's), else the platform's. */
  brandingOf: (request: FastifyRequest) => Promise<PageBranding>;
}

const isJson = (request: FastifyRequest) => String(request.headers['content-type'] ?? '').includes('json');

/** Whether a request is answered with pages (a browser's GET or form post), not the JSON error model. */
export const wantsPage = (request: FastifyRequest) =>
  request.routeOptions.config.pagesOnly === true || !isJson(request);

/**
 * The hosted pages' plugin, applied to the context the page routes are registered in
 * (docs/adr/0011-sign-in-step-pipeline.md):
 *
 * - views: eta through @fastify/view, auto-escaping, templates in ./views (`reply.page`);
 * - forms: @fastify/formbody, 64 KiB, parsed like URLSearchParams (the last of repeated fields);
 *   malformed and oversized bodies keep the app's JSON error answers (413/415/400);
 * - CSRF: @fastify/csrf-protection with a signed secret cookie; every POST route of the context
 *   gets the check as its last preHandler (after its own guards, e.g. rate limits), for form
 *   posts: a JSON body cannot be sent by a foreign page without a CORS preflight, which these
 *   routes never allow;
 * - one HTML error handler: every error of a page request (400/403/404/429/500) is the error
 *   template with the tenant's branding where known; JSON requests and body parser refusals go
 *   on to the app's error handler.
 */
export async function registerHostedPages(app: FastifyInstance, options: HostedPagesOptions): Promise<void> {
  await app.register(view, { engine: { eta }, root: VIEWS, production: true });
  await app.register(formbody, {
    bodyLimit: PAGE_FORM_LIMIT,
    parser: (body: string) => Object.fromEntries(new URLSearchParams(body)),
  });
  await app.register(cookie, { secret: options.cookieSecret });
  await app.register(csrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: CSRF_COOKIE,
    cookieOpts: {
      path: '/api/v1/',
      sameSite: 'strict',
      httpOnly: true,
      signed: true,
      secure: options.secureCookies,
    },
    getToken: (request) => (request.body as Record<string, string> | undefined)?.csrf,
  });

  app.decorateReply(
    'page',
    async function page(
      this: FastifyReply,
      status: number,
      template: PageView,
      branding: PageBranding,
      title: string,
      data: Record<string, unknown> = {},
    ) {
      const html = await this.viewAsync(template, pageData(branding, title, data));
      htmlPageHeaders(this);
      // A page with a script of ours (data.scripts, passkeys) allows exactly that: SCRIPT_PAGE_CSP.
      if (Array.isArray(data.scripts) && data.scripts.length > 0) {
        this.header('content-security-policy', SCRIPT_PAGE_CSP);
      }
      return this.code(status).send(html);
    },
  );

  const csrfCheck: preHandlerHookHandler = function csrfCheck(request, reply, done) {
    if (isJson(request)) return done();
    return app.csrfProtection(request, reply, done);
  };
  app.addHook('onRoute', (route) => {
    if ([route.method].flat().includes('POST')) {
      route.preHandler = [...[route.preHandler ?? []].flat(), csrfCheck];
      const responses = (route.schema?.response ?? {}) as Record<string, unknown>;
      route.schema = {
        ...route.schema,
        response: {
          ...responses,
          403: responses[403] ?? HtmlPage("The form's CSRF token is missing or wrong (a page)"),
        },
      };
    }
  });

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (!wantsPage(request) || error.code?.startsWith('FST_ERR_CTP_') || error.validation) throw error;
    let status = 500;
    let message = 'Something went wrong on our side. Try again later.';
    if (error instanceof AppError) {
      status = error.status;
      message = error.detail;
      reply.headers(error.headers);
    } else if (error.code === 'FST_CSRF_MISSING_SECRET' || error.code === 'FST_CSRF_INVALID_TOKEN') {
      status = 403;
      message = 'This form has expired. Go back, reload the page and try again.';
    } else {
      request.log.error({ err: error }, 'a hosted page failed');
    }
    const branding = await options.brandingOf(request).catch(() => ({ name: 'ScaiKey' }));
    return reply.page(status, 'error', branding, request.routeOptions.config.pageTitle ?? 'Sign-in problem', {
      message,
    });
  });
}
