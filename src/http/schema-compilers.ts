/**
 * Fastify's own schema compilers (@fastify/ajv-compiler, @fastify/fast-json-stringify-compiler), loaded and run on
 * first use rather than when the server is made: fastify requires both packages (and with them ajv and
 * fast-json-stringify) in its constructor and compiles every route's schemas before it listens, which was a large
 * part of the server's start. A route's serializer is compiled on its first response; a validator (no route of ours
 * declares one; fastify validates nothing for us) when its route is ready, as fastify does.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { FastifyServerOptions } from 'fastify';
import { readBuildJson, requireBuilt, serverBuildDir } from './server-build.ts';

type Serialize = (data: unknown) => string;
type RouteSchema = { schema: unknown; method?: string; url?: string; httpStatus?: string; contentType?: string };
type SerializerFactory = (externalSchemas: unknown, options?: unknown) => (route: RouteSchema) => Serialize;
type ValidatorFactory = (externalSchemas: unknown, options?: unknown) => (route: RouteSchema) => unknown;

const requireHere = createRequire(import.meta.url);

interface CompilerPackages {
  serializers: { SerializerSelector: () => SerializerFactory };
  validators: () => ValidatorFactory;
}

let packages: CompilerPackages | undefined;

/**
 * The two packages: in the compiled server, from the build's one-file bundle of them (scripts/build-server.mjs), one
 * file to read instead of some sixty, compiled from its code cache; else from node_modules.
 */
function compilerPackages(): CompilerPackages {
  if (packages) return packages;
  packages = (requireBuilt('schema-compilers.cjs') as CompilerPackages | undefined) ?? {
    serializers: requireHere('@fastify/fast-json-stringify-compiler') as CompilerPackages['serializers'],
    validators: requireHere('@fastify/ajv-compiler') as CompilerPackages['validators'],
  };
  return packages;
}

/** key -> file of the serializers the build made; {} without a build. */
let builtSerializers: Record<string, string> | undefined;

/**
 * The serializer the build made for a REST success (scripts/build-server.mjs: dist/server/serializers/), by the key of
 * its schema (`${operationId} ${status}`): the code fastify's compiler would have generated on the route's first
 * response, without loading the compilers or generating it. Undefined without a build, and for the few serializers the
 * build leaves to that compiler.
 */
export function builtSerializer(key: string): Serialize | undefined {
  builtSerializers ??= readBuildJson<Record<string, string>>('serializers', 'index.json') ?? {};
  const file = builtSerializers[key];
  return file === undefined ? undefined : (requireHere(join(serverBuildDir()!, 'serializers', file)) as Serialize);
}

/**
 * A serializer compiler like fastify's default one over these external schemas, compiling each route's serializer on
 * first use. `resolve` turns the schema a route was given into the one to compile (src/http/serializers.ts gives
 * routes a reference to their schema's text); `built` finds the serializer already made for it, if any.
 */
export function lazySerializerCompiler(
  externalSchemas: unknown,
  options?: unknown,
  resolve: (schema: unknown) => unknown = (schema) => schema,
  built: (schema: unknown) => Serialize | undefined = () => undefined,
): (route: RouteSchema) => Serialize {
  let compile: ((route: RouteSchema) => Serialize) | undefined;
  return (route) => {
    let serialize: Serialize | undefined;
    return (data) => {
      if (!serialize) {
        serialize = built(route.schema);
        if (!serialize) {
          compile ??= compilerPackages().serializers.SerializerSelector()(externalSchemas, options);
          serialize = compile({ ...route, schema: resolve(route.schema) });
        }
      }
      return serialize(data);
    };
  };
}

/** For one Fastify instance's `schemaController` option: the default compilers, loaded on first use. */
export function lazyCompilersFactory(): NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']> {
  // One validator pool per instance, as fastify makes when it loads the package itself.
  let validators: ValidatorFactory | undefined;
  return {
    buildSerializer: (externalSchemas: unknown, options?: unknown) => lazySerializerCompiler(externalSchemas, options),
    buildValidator: (externalSchemas: unknown, options?: unknown) =>
      (validators ??= compilerPackages().validators())(externalSchemas, options),
  } as unknown as NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
}
