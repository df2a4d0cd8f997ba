/**
 * The one place that reads tRPC's internals: a router's procedure map, a procedure's definition (type, meta, input
 * and output schemas, middlewares, resolver), a middleware builder's functions and the router's runtime config
 * (transformer, error formatter). tRPC documents none of them, so nothing else in src/ touches `_def`,
 * `_middlewares` or `_type`; test/trpc-internals.test.ts fails loudly when an upgrade moves any of them.
 */
import type { z } from 'zod';
import type { AnyRouter } from '@trpc/server';

export type ProcedureType = 'query' | 'mutation' | 'subscription';

/** One middleware of a procedure's chain: tRPC tags its own input/output parsers with `_type`. */
export type ProcedureMiddleware = ((opts: never) => Promise<unknown>) & { _type?: string };

/** The arguments tRPC calls a procedure (its middleware chain, then the resolver) with. */
export interface ProcedureCallOptions<TContext> {
  ctx: TContext;
  getRawInput: () => Promise<unknown>;
  path: string;
  type: ProcedureType;
  signal: AbortSignal | undefined;
  batchIndex: number;
}

/** What this server reads of a procedure's definition. */
export interface ProcedureDefinition<TMeta = unknown> {
  type: ProcedureType;
  meta?: TMeta;
  inputs: z.ZodType[];
  output?: z.ZodType;
  middlewares: ProcedureMiddleware[];
  resolver?: (opts: { ctx: unknown; input: unknown; path: string; type: string; signal: AbortSignal | undefined }) => Promise<unknown>;
}

/** A procedure as tRPC builds it: callable with ProcedureCallOptions (runs middlewares, input and output parsing). */
export interface CallableProcedure<TMeta = unknown> {
  (opts: ProcedureCallOptions<unknown>): Promise<unknown>;
  _def: ProcedureDefinition<TMeta>;
}

/** The router's runtime configuration: what every HTTP adapter of tRPC serializes and formats errors with. */
export interface RouterRuntimeConfig {
  transformer: {
    input: { serialize(value: unknown): unknown; deserialize(value: unknown): unknown };
    output: { serialize(value: unknown): unknown; deserialize(value: unknown): unknown };
  };
  errorFormatter: (opts: never) => unknown;
  pathSeparator?: string;
}

/** Every procedure of a router by its path (`agents.get`), nested routers flattened, in declaration order. */
export function proceduresOf<TMeta = unknown>(router: AnyRouter): Record<string, CallableProcedure<TMeta>> {
  return router._def.procedures as unknown as Record<string, CallableProcedure<TMeta>>;
}

/** A procedure's definition. */
export function definitionOf<TMeta = unknown>(procedure: CallableProcedure<TMeta>): ProcedureDefinition<TMeta> {
  return procedure._def;
}

/** The definition of the procedure at `path`, or undefined when there is none. */
export function procedureDefinitionAt<TMeta = unknown>(router: AnyRouter, path: string): ProcedureDefinition<TMeta> | undefined {
  const procedures = proceduresOf<TMeta>(router);
  return Object.hasOwn(procedures, path) ? procedures[path]!._def : undefined;
}

/** The router's runtime configuration (transformer, error formatter). */
export function runtimeConfigOf(router: AnyRouter): RouterRuntimeConfig {
  return router._def._config as unknown as RouterRuntimeConfig;
}

/** Whether a middleware is one of tRPC's own (input or output parsing) rather than one the app added. */
export function isTrpcOwnMiddleware(middleware: ProcedureMiddleware): boolean {
  return middleware._type !== undefined;
}

/** Tags every function of a middleware builder (`t.middleware(...)`) with `mark`, for adapters that read it back. */
export function markMiddleware(builder: { _middlewares: unknown[] }, mark: symbol): void {
  for (const fn of builder._middlewares) Object.assign(fn as object, { [mark]: true });
}

/** Whether a middleware function carries `mark` (see markMiddleware). */
export function hasMark(middleware: ProcedureMiddleware, mark: symbol): boolean {
  return (middleware as unknown as Record<symbol, unknown>)[mark] === true;
}
