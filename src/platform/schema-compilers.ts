import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify';
import { compileValidator } from './validation.js';

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
    // Fastify reads `errors` from the function it was given after a `false` result.
    const validate = (data: unknown) => {
      const run = compiled ?? compile();
      const valid = run(data);
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
