import createClient from 'openapi-fetch';
import { accessToken, sessionEnded } from '../auth/session';
import { texts } from '../texts';
import type { paths } from './schema';

/**
 * The API client, typed from docs/openapi.json (src/api/schema.d.ts, `npm run api-types -w console`):
 * a route or schema change there breaks the console's typecheck. Same origin: the CSP's
 * `connect-src 'self'`.
 */
export const api = createClient<paths>({ baseUrl: window.location.origin });

api.use({
  async onRequest({ request }) {
    request.headers.set('authorization', `Bearer ${await accessToken()}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) sessionEnded();
    return response;
  },
});

/** One entry of a 422's `detail` (FastAPI shape, docs/api-contract.md "Errors"). */
interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
}

/** An API error: the status, the error code, the message, and per-field messages of a 422. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null,
    /** `loc` without its first element ("body", "query", "path"), joined with dots → message. */
    readonly fields: Readonly<Record<string, string>>,
  ) {
    super(message);
  }
}

export function toApiError(status: number, body: unknown): ApiError {
  const detail = (body as { detail?: unknown } | null)?.detail;
  const code = (body as { code?: unknown } | null)?.code;
  if (Array.isArray(detail)) {
    const fields: Record<string, string> = {};
    for (const issue of detail as ValidationIssue[]) {
      const key = issue.loc.slice(1).join('.');
      fields[key || '_'] ??= issue.msg;
    }
    return new ApiError(status, texts.common.invalidInput, null, fields);
  }
  const message = typeof detail === 'string' ? detail : texts.common.unexpectedError(status);
  return new ApiError(status, message, typeof code === 'string' ? code : null, {});
}

/** The data of an openapi-fetch answer, or its error thrown as an ApiError. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<NonNullable<T>> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) throw toApiError(response.status, error ?? null);
  return data as NonNullable<T>;
}
