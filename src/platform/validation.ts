import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/** One entry of a FastAPI-shaped 422 body (docs/api-contract.md, "Errors"). */
export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/**
 * What `format: "email"` accepts here (one @, a dot in the domain, no spaces): the OpenAPI document
 * states it as the `pattern` of every email field, so clients check what the server checks.
 */
export const EMAIL_PATTERN = '^[^\\s@]+@[^\\s@]+\\.[^\\s@.]+$';

/** The keyword of the errors for strings holding a NUL character or an unpaired surrogate. */
export const UNSTORABLE_TEXT_KEYWORD = 'storableText';

function makeAjv(coerceTypes: boolean | 'array'): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    coerceTypes,
    // Unknown body fields are an error (422), never silently dropped.
    removeAdditional: false,
    useDefaults: true,
    strict: false,
    // Errors carry the offending value, so a missing body can be told from a wrong one.
    verbose: true,
  });
  addFormats(ajv);
  // An email as Pydantic's EmailStr accepts it in practice: one @, a dot in the domain, no spaces.
  ajv.addFormat('email', new RegExp(EMAIL_PATTERN));
  ajv.addFormat('uri', { type: 'string', validate: isHttpUrl });
  ajv.addFormat('date-time', { type: 'string', validate: isStorableDateTime });
  return ajv;
}

/**
 * The `uri` format of every schema: what a browser or a mailer can open, so exactly what the code
 * behind it can use. RFC 3986 allows `http://` (no host) or `foo:bar`, which `new URL()` then
 * refuses or which no page can link to; the format parses with the WHATWG URL parser (the one
 * `new URL()` uses) and requires http or https and a host.
 */
export function isHttpUrl(value: string): boolean {
  if (!/^https?:\/\//i.test(value)) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

const RFC3339_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;
const EARLIEST = Date.parse('0001-01-01T00:00:00Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * The `date-time` format of every schema: an RFC 3339 date-time that JavaScript's Date and both
 * databases read as the same instant. Beyond the grammar: the date exists (no 30 February), no
 * leap second (Date cannot hold one), a UTC offset of at most 14 hours (the widest in use;
 * PostgreSQL refuses some the grammar allows), at most nanosecond digits, and an instant within
 * the years 1 to 9999. Anything else is a 422 `date-time_parsing`, never a database error.
 */
export function isStorableDateTime(value: string): boolean {
  const match = RFC3339_DATE_TIME.exec(value);
  if (!match) return false;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = match
    .slice(1, 7)
    .map(Number) as number[];
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return false;
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate();
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day < 1 || day > (month === 2 && !leap ? 28 : daysInMonth)) return false;
  if (match[8]) {
    const offsetHours = Number(match[9]);
    const offsetMinutes = Number(match[10]);
    if (offsetMinutes > 59 || offsetHours * 60 + offsetMinutes > 14 * 60) return false;
  }
  const instant = Date.parse(value);
  return Number.isFinite(instant) && instant >= EARLIEST && instant <= LATEST;
}

// Bodies are JSON and keep their types; query strings, path and headers arrive as text and are coerced.
const bodyAjv = makeAjv(false);
const textAjv = makeAjv('array');

/** Compiles a route part's validator with ScaiKey's Ajv settings (bodies strict, text coerced). */
export function compileValidator(schema: unknown, httpPart: string | undefined): ValidateFunction {
  const ajv = httpPart === 'body' ? bodyAjv : textAjv;
  return ajv.compile(schema as object) as ValidateFunction;
}

const CONTEXTS: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'path',
  headers: 'header',
};

const TYPE_WORDS: Record<string, [string, string]> = {
  integer: ['int', 'a valid integer'],
  number: ['float', 'a valid number'],
  string: ['string', 'a valid string'],
  boolean: ['bool', 'a valid boolean'],
  array: ['list', 'a valid list'],
  object: ['dict', 'a valid dictionary'],
};

function pathSegments(instancePath: string): (string | number)[] {
  if (!instancePath) return [];
  return instancePath
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
}

function describe(error: ErrorObject, textPart: boolean): { extra?: string; msg: string; type: string } {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { extra: String(params.missingProperty), msg: 'Field required', type: 'missing' };
    case 'additionalProperties':
      return {
        extra: String(params.additionalProperty),
        msg: 'Extra inputs are not permitted',
        type: 'extra_forbidden',
      };
    case 'type': {
      const wanted = String(params.type).split(',')[0] as string;
      const [word, phrase] = TYPE_WORDS[wanted] ?? [wanted, `of type ${wanted}`];
      const suffix = textPart && (word === 'int' || word === 'float' || word === 'bool') ? 'parsing' : 'type';
      return { msg: `Input should be ${phrase}`, type: `${word}_${suffix}` };
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).filter((value) => value !== null);
      const list = allowed.map((value) => `'${String(value)}'`);
      const text = list.length > 1 ? `${list.slice(0, -1).join(', ')} or ${list.at(-1)}` : (list[0] ?? '');
      return { msg: `Input should be ${text}`, type: 'enum' };
    }
    case 'const':
      return { msg: `Input should be '${String(params.allowedValue)}'`, type: 'literal_error' };
    case 'format':
      return params.format === 'email'
        ? { msg: 'value is not a valid email address', type: 'value_error' }
        : {
            msg: `Input should be a valid ${String(params.format)}`,
            type: `${String(params.format)}_parsing`,
          };
    case 'pattern':
      return {
        msg: `String should match pattern '${String(params.pattern)}'`,
        type: 'string_pattern_mismatch',
      };
    case 'minLength':
      return { msg: `String should have at least ${params.limit} characters`, type: 'string_too_short' };
    case 'maxLength':
      return { msg: `String should have at most ${params.limit} characters`, type: 'string_too_long' };
    case 'minimum':
      return { msg: `Input should be greater than or equal to ${params.limit}`, type: 'greater_than_equal' };
    case 'maximum':
      return { msg: `Input should be less than or equal to ${params.limit}`, type: 'less_than_equal' };
    case 'minItems':
      return { msg: `List should have at least ${params.limit} items`, type: 'too_short' };
    case 'maxItems':
      return { msg: `List should have at most ${params.limit} items`, type: 'too_long' };
    case 'uniqueItems':
      return { msg: 'List items should be unique', type: 'value_error' };
    case UNSTORABLE_TEXT_KEYWORD:
      return {
        msg: 'String should not contain NUL characters or unpaired surrogates',
        type: 'string_invalid_characters',
      };
    case 'maxProperties':
      return { msg: `Object should have at most ${params.limit} keys`, type: 'too_long' };
    default:
      return { msg: error.message ?? 'Invalid value', type: 'value_error' };
  }
}

/** Turns Ajv errors into the FastAPI 422 `detail` list: `loc` starts at body/query/path/header. */
export function fastApiValidationDetail(
  errors: ErrorObject[] | unknown[],
  context: string | undefined,
): ValidationIssue[] {
  const part = CONTEXTS[context ?? 'body'] ?? 'body';
  const textPart = part !== 'body';
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const error of errors as ErrorObject[]) {
    // anyOf/oneOf wrappers repeat what their branches already said.
    if (error.keyword === 'anyOf' || error.keyword === 'oneOf' || error.keyword === 'if') continue;
    const { extra, msg, type } = describe(error, textPart);
    const loc: (string | number)[] = [part, ...pathSegments(error.instancePath)];
    if (extra !== undefined) loc.push(extra);
    if (loc.length === 1 && part === 'body' && error.keyword === 'type') {
      if (error.data === undefined || error.data === null) {
        issues.push({ loc, msg: 'Field required', type: 'missing' });
        continue;
      }
      issues.push({
        loc,
        msg: 'Input should be a valid dictionary or object to extract fields from',
        type: 'model_attributes_type',
      });
      continue;
    }
    const key = `${loc.join('\u0000')}|${type}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ loc, msg, type });
  }
  return issues;
}
