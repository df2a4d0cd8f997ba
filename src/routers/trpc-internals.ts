/**
 * The one place that reads tRPC's internals: a router's procedure map, a procedure's definition (type, meta, input
 * and output schemas, middlewares, resolver), a middleware builder's functions and the router's runtime config
 * (transformer, error formatter). tRPC documents none of them, so nothing else in src/ touches `_def`,
 * `_middlewares` or `_type`; test/trpc-internals.test.ts fails loudly when an upgrade moves any of them.
 */
import type { z } from 'zod';
import { getTRPCErrorFromUnknown, TRPCError, type AnyRouter } from '@trpc/server';

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

interface MiddlewareResult {
  ok: boolean;
  data?: unknown;
  error?: unknown;
  ctx?: unknown;
  marker: string;
}

type MiddlewareCall = (opts: Record<string, unknown>) => Promise<MiddlewareResult>;

/** What every middleware result carries (tRPC's `middlewareMarker`). */
const MIDDLEWARE_MARKER = 'middlewareMarker';

/**
 * Per output middleware: a frozen result (src/domain/immutable.ts: cached agents) cannot change, so its checked
 * output is kept while it lives, frozen in turn, and sent again (src/http/trpc-http.ts keeps its serialized form).
 */
const checkedOutputs = new WeakMap<ProcedureMiddleware, WeakMap<object, unknown>>();

/**
 * Calls a procedure as tRPC's own procedure caller does: each middleware in turn gets the call options with `meta`,
 * `input` and `next`; `next(opts)` merges `ctx` and replaces `input` and `getRawInput`; a throw becomes a failed
 * result (getTRPCErrorFromUnknown), a failed result is thrown, no result at all is an INTERNAL_SERVER_ERROR. Two
 * differences, neither visible to a caller: native object spreads where tRPC's build uses a transpiled helper that
 * costs more than a whole cached read, and a frozen resolver result passes tRPC's output check once.
 * test/trpc-internals.test.ts compares it with tRPC's caller.
 */
export async function callProcedure(procedure: CallableProcedure, opts: ProcedureCallOptions<unknown>): Promise<unknown> {
  const def = procedure._def;
  const { ctx, type, path, getRawInput, signal, batchIndex } = opts;
  // No input yet: tRPC's input middleware parses it from getRawInput.
  const result = await callMiddleware(def, 0, { ctx, type, path, input: undefined, getRawInput, signal, batchIndex });
  if (!result) throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'No result from middlewares - did you forget to `return next()`?' });
  if (!result.ok) throw result.error;
  return result.data;
}

/**
 * tRPC's call options (ProcedureCallOptions), always with these fields in this order: one object shape for every
 * middleware of every call, built field by field rather than spread from the previous one (a spread of a bag of
 * options was most of the JavaScript time of a cached tRPC read).
 */
interface CallOptions {
  ctx: unknown;
  type: string;
  path: string;
  input: unknown;
  getRawInput: unknown;
  signal: unknown;
  batchIndex: number;
}

async function callMiddleware(def: ProcedureDefinition, index: number, opts: CallOptions): Promise<MiddlewareResult> {
  const middleware = def.middlewares[index]!;
  const call = middleware as unknown as MiddlewareCall;
  const next = (nextOpts?: { ctx?: object; input?: unknown; getRawInput?: unknown }) =>
    callMiddleware(def, index + 1, {
      ctx: nextOpts?.ctx ? { ...(opts.ctx as object), ...nextOpts.ctx } : opts.ctx,
      type: opts.type,
      path: opts.path,
      input: nextOpts && 'input' in nextOpts ? nextOpts.input : opts.input,
      getRawInput: nextOpts?.getRawInput ?? opts.getRawInput,
      signal: opts.signal,
      batchIndex: opts.batchIndex,
    });
  // What a middleware gets: the call options with the procedure's meta and `next`.
  const given = {
    ctx: opts.ctx,
    type: opts.type,
    path: opts.path,
    input: opts.input,
    getRawInput: opts.getRawInput,
    signal: opts.signal,
    batchIndex: opts.batchIndex,
    meta: def.meta,
    next: next as unknown,
  };
  try {
    if (middleware._type === 'output') return await checkOutput(middleware, call, given, next);
    return await call(given);
  } catch (cause) {
    return { ok: false, error: getTRPCErrorFromUnknown(cause), marker: MIDDLEWARE_MARKER };
  }
}

/** tRPC's output middleware, skipped for a frozen result it has already checked (the same result, the same output). */
async function checkOutput(
  middleware: ProcedureMiddleware,
  call: MiddlewareCall,
  opts: Record<string, unknown>,
  next: () => Promise<MiddlewareResult>,
): Promise<MiddlewareResult> {
  const inner = await next();
  const frozen = inner.ok && typeof inner.data === 'object' && inner.data !== null && Object.isFrozen(inner.data) ? inner.data : undefined;
  let seen = frozen && checkedOutputs.get(middleware);
  if (frozen && seen?.has(frozen)) return { ...inner, data: seen.get(frozen) };
  // `opts` was made for this middleware alone (callMiddleware): its `next` now answers what was already computed.
  opts.next = async () => inner;
  const checked = await call(opts);
  if (frozen && checked.ok && typeof checked.data === 'object' && checked.data !== null) {
    if (!seen) checkedOutputs.set(middleware, (seen = new WeakMap()));
    seen.set(frozen, Object.freeze(checked.data));
  }
  return checked;
}
