import { type Static, type TSchema, Type } from 'typebox';

/**
 * `T | null` as one JSON Schema type list (`type: ["string", "null"]`) rather than anyOf, so that a
 * wrong value yields one clear validation error and OpenAPI 3.1 shows a plain nullable field.
 */
export function Nullable<T extends TSchema>(schema: T, options: Record<string, unknown> = {}) {
  const raw = schema as unknown as Record<string, unknown>;
  const base = { ...raw, ...options };
  if (Array.isArray(raw.enum)) base.enum = [...raw.enum, null];
  return Type.Unsafe<Static<T> | null>({ ...base, type: [raw.type, 'null'] });
}

/**
 * An email address, the same everywhere one is accepted: the `email` format (one @, a dot in the
 * domain, no spaces) and at most 320 characters (RFC 5321's 64 + 1 + 255).
 */
/** A user's status (the users API (docs/openapi.json)), as the users table stores it; shared by every schema that shows users. */
export const UserStatusEnum = Type.Unsafe<
  'ACTIVE' | 'PENDING_EMAIL_VERIFICATION' | 'PENDING_APPROVAL' | 'DISABLED' | 'LOCKED'
>({
  type: 'string',
  enum: ['ACTIVE', 'PENDING_EMAIL_VERIFICATION', 'PENDING_APPROVAL', 'DISABLED', 'LOCKED'],
});

export const EmailAddress = Type.String({ format: 'email', maxLength: 320 });

export const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601 UTC with milliseconds' });

export const MetaSchema = Type.Object({
  request_id: Nullable(Type.String()),
  timestamp: Timestamp,
});

export const PaginationSchema = Type.Object({
  page: Type.Integer(),
  per_page: Type.Integer(),
  total_items: Type.Integer(),
  total_pages: Type.Integer(),
});

/** `{ data, meta }`: the envelope of every single-object response. */
export function Envelope<T extends TSchema>(data: T, title?: string) {
  return Type.Object({ data, meta: MetaSchema }, title ? { title } : {});
}

/** `{ data: [...], pagination, meta }`: the envelope of every list response. */
export function PaginatedEnvelope<T extends TSchema>(item: T, title?: string) {
  return Type.Object(
    { data: Type.Array(item), pagination: PaginationSchema, meta: MetaSchema },
    title ? { title } : {},
  );
}

export const ErrorSchema = Type.Object(
  { detail: Type.String(), code: Type.String() },
  // The document's component ErrorResponse (src/platform/openapi.ts) describes it and lists the codes.
  { title: 'ErrorResponse' },
);

export const ValidationErrorSchema = Type.Object(
  {
    detail: Type.Array(
      Type.Object({
        loc: Type.Array(Type.Union([Type.String(), Type.Integer()])),
        msg: Type.String(),
        type: Type.String(),
      }),
    ),
  },
  { title: 'HTTPValidationError' },
);

/**
 * The highest `page` a list accepts: (page - 1) × per_page stays far inside the range of an SQL
 * offset and of a JavaScript integer (docs/api-decisions.md, "Wire format").
 */
export const MAX_PAGE = 1_000_000;

/** page / per_page query parameters (docs/api-contract.md, "Pagination"). */
export const PageQuery = {
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 })),
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
};

/** Error responses every management route may give. */
export const managementErrors = {
  401: ErrorSchema,
  403: ErrorSchema,
  404: ErrorSchema,
  422: ValidationErrorSchema,
} as const;

/** A JSON object of free-form attributes (custom_attributes, branding). */
export const FreeObject = Type.Record(Type.String(), Type.Unknown());

/**
 * A browser page answered as HTML (a response with its own content type: OpenAPI shows
 * `text/html`, not untyped JSON). Fastify sends the page string as it is.
 */
export function HtmlPage(description: string) {
  return {
    description,
    content: { 'text/html': { schema: Type.String({ description: 'A complete HTML page' }) } },
  };
}

/**
 * Responses of a hosted page's form post whose body the handler reads itself: a wrong field is
 * answered on the page, while the body parser's own refusals are JSON errors.
 */
export const pageFormErrors = {
  413: ErrorSchema,
  415: ErrorSchema,
} as const;

/** A response of a route that answers a form post from its page with HTML and a JSON client with JSON. */
export function JsonOrHtml<T extends TSchema>(description: string, json: T) {
  return {
    description,
    content: {
      'application/json': { schema: json },
      'text/html': { schema: Type.String({ description: 'A complete HTML page' }) },
    },
  };
}
