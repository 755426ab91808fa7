import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify';
import { unstorableTextPaths } from '../lib/text.js';
import { compileValidator, UNSTORABLE_TEXT_KEYWORD } from './validation.js';

type SerializerFactory = NonNullable<ReturnType<typeof SerializerSelector>>;

/**
 * Route schema compilers that compile on a route's first request instead of at start.
 *
 * Compiling the validators (Ajv) and response serializers (fast-json-stringify) of every route
 * up front costs start-up time and keeps generated code resident for routes an instance may never
 * serve (ADR 0007). Each route gets a thin wrapper that compiles once, on first use; the
 * first request of a route pays a few milliseconds. `compileAll` compiles everything still
 * pending: the test suite uses it to prove that every route's schemas compile.
 */
export interface SchemaCompilers {
  validatorCompiler: FastifySchemaCompiler<unknown>;
  /** For Fastify's `schemaController.compilersFactory.buildSerializer`. */
  buildSerializer: SerializerFactory;
  /** Compiles every schema not compiled yet and returns how many there were. */
  compileAll(): number;
}

const pointerSegment = (segment: string | number) => String(segment).replace(/~/g, '~0').replace(/\//g, '~1');

/** Ajv-shaped errors for the strings of `data` that are not storable text, or null when there are none. */
function unstorableTextErrors(data: unknown): ErrorObject[] | null {
  const paths = unstorableTextPaths(data);
  if (paths.length === 0) return null;
  return paths.map((path) => ({
    keyword: UNSTORABLE_TEXT_KEYWORD,
    instancePath: path.map((segment) => `/${pointerSegment(segment)}`).join(''),
    schemaPath: '#',
    params: {},
    message: 'must not contain NUL characters or unpaired surrogates',
  }));
}

export function createSchemaCompilers(): SchemaCompilers {
  const pending = new Set<() => void>();

  const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
    let compiled: ValidateFunction | null = null;
    const compile = () => {
      compiled ??= compileValidator(schema, httpPart);
      pending.delete(compile);
      return compiled;
    };
    pending.add(compile);
    // Every string of a body, query or path must be storable text (no NUL, no lone surrogate),
    // whatever its schema says, free-form objects included: checked here once for all routes.
    const checkText = httpPart === 'body' || httpPart === 'querystring' || httpPart === 'params';
    // Fastify reads `errors` from the function it was given after a `false` result.
    const validate = (data: unknown) => {
      const run = compiled ?? compile();
      const valid = run(data);
      const textErrors = checkText ? unstorableTextErrors(data) : null;
      if (textErrors) {
        validate.errors = [...(run.errors ?? []), ...textErrors];
        return false;
      }
      validate.errors = run.errors;
      return valid;
    };
    validate.errors = null as ValidateFunction['errors'];
    return validate;
  };

  const eagerSerializerFactory = SerializerSelector();
  const buildSerializer: SerializerFactory = (externalSchemas, serializerOptions) => {
    const eager = eagerSerializerFactory(externalSchemas, serializerOptions);
    const serializerCompiler: FastifySerializerCompiler<unknown> = (routeSchema) => {
      let compiled: ((data: unknown) => string) | null = null;
      const compile = () => {
        compiled ??= eager(routeSchema as never) as (data: unknown) => string;
        pending.delete(compile);
        return compiled;
      };
      pending.add(compile);
      return (data: unknown) => (compiled ?? compile())(data);
    };
    return serializerCompiler as ReturnType<SerializerFactory>;
  };

  return {
    validatorCompiler,
    buildSerializer,
    compileAll() {
      const all = [...pending];
      for (const compile of all) compile();
      return all.length;
    },
  };
}
