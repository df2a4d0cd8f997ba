/**
 * The tRPC internals this server reads, all through src/routers/trpc-internals.ts: when a tRPC upgrade renames or
 * reshapes any of them, these fail here, naming what moved, rather than somewhere deep in the REST adapter or /trpc.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initTRPC } from '@trpc/server';
import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { appRouter } from '../src/routers/app.ts';
import {
  callProcedure,
  definitionOf,
  hasMark,
  isTrpcOwnMiddleware,
  markMiddleware,
  procedureDefinitionAt,
  proceduresOf,
  runtimeConfigOf,
} from '../src/routers/trpc-internals.ts';

const SRC = fileURLToPath(new URL('../src', import.meta.url));
const MARK = Symbol('test-mark');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function sampleRouter() {
  const t = initTRPC.meta<{ tag: string }>().create({ transformer: superjson });
  const marked = t.middleware(({ next }) => next());
  markMiddleware(marked, MARK);
  const procedure = t.procedure.use(marked);
  const router = t.router({
    greet: procedure
      .meta({ tag: 'hello' })
      .input(z.object({ name: z.string() }))
      .output(z.object({ text: z.string(), at: z.date() }))
      .query(({ input }) => ({ text: `hi ${input.name}`, at: new Date(0) })),
    nested: t.router({ save: procedure.input(z.string()).mutation(({ input }) => input.length) }),
  });
  return router;
}

describe('tRPC internals, read in one place', () => {
  it('finds every procedure of a router by its dotted path, nested routers flattened', () => {
    expect(Object.keys(proceduresOf(sampleRouter()))).toEqual(['greet', 'nested.save']);
    expect(procedureDefinitionAt(sampleRouter(), 'nested.save')?.type).toBe('mutation');
    expect(procedureDefinitionAt(sampleRouter(), 'toString')).toBeUndefined();
  });

  it("reads a procedure's type, meta, input and output schemas, middlewares and resolver", async () => {
    const def = definitionOf<{ tag: string }>(proceduresOf<{ tag: string }>(sampleRouter()).greet!);
    expect(def.type).toBe('query');
    expect(def.meta).toEqual({ tag: 'hello' });
    expect(def.inputs).toHaveLength(1);
    expect(def.inputs[0]!.safeParse({ name: 'a' }).success).toBe(true);
    expect(def.output?.safeParse({ text: 'x', at: new Date() }).success).toBe(true);
    expect(typeof def.resolver).toBe('function');
    expect(await def.resolver!({ ctx: {}, input: { name: 'Ada' }, path: 'greet', type: 'query', signal: undefined })).toEqual({ text: 'hi Ada', at: new Date(0) });
    // The app's middleware (marked), tRPC's input and output parsers (tagged with _type), then the resolver's.
    const [marked, ...rest] = def.middlewares;
    expect(hasMark(marked!, MARK)).toBe(true);
    expect(isTrpcOwnMiddleware(marked!)).toBe(false);
    expect(rest.filter(isTrpcOwnMiddleware)).toHaveLength(2);
    expect(isTrpcOwnMiddleware(def.middlewares.at(-1)!)).toBe(false);
  });

  it('calls a procedure with the options tRPC gives it: middlewares, input parsing and the resolver run', async () => {
    const greet = proceduresOf(sampleRouter()).greet!;
    const call = (input: unknown) => greet({ ctx: {}, getRawInput: async () => input, path: 'greet', type: 'query', signal: undefined, batchIndex: 0 });
    expect(await call({ name: 'Ada' })).toEqual({ text: 'hi Ada', at: new Date(0) });
    await expect(call({ name: 1 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it("calls a procedure as tRPC's own caller does: ctx from middlewares, parsed input, output, errors", async () => {
    const t = initTRPC.context<{ user?: string }>().create({ transformer: superjson });
    const frozenAgent = Object.freeze({ name: 'a', secret: 'hidden', at: new Date(0) });
    const withUser = t.procedure.use(({ next }) => next({ ctx: { user: 'ada' } }));
    const router = t.router({
      whoami: withUser.input(z.object({ n: z.number().default(1) })).query(({ ctx, input }) => `${ctx.user} ${input.n}`),
      frozen: withUser.output(z.object({ name: z.string(), at: z.date() })).query(() => frozenAgent),
      strict: withUser.output(z.object({ name: z.number() })).query(() => frozenAgent as unknown as { name: number }),
      fails: withUser.mutation(() => {
        throw new Error('boom');
      }),
    });
    const procedures = proceduresOf(router);
    for (const [path, input] of [['whoami', {}], ['whoami', { n: 2 }], ['whoami', { n: 'x' }], ['frozen', undefined], ['frozen', undefined], ['strict', undefined], ['fails', undefined]] as const) {
      const procedure = procedures[path]!;
      const opts = { ctx: {}, getRawInput: async () => input, path, type: definitionOf(procedure).type, signal: undefined, batchIndex: 0 };
      const settle = (promise: Promise<unknown>) => promise.then((value) => ({ value }), (error: { code: string; message: string }) => ({ code: error.code, message: error.message }));
      expect(await settle(callProcedure(procedure, opts)), path).toEqual(await settle(procedure(opts)));
    }
    // The frozen result's checked output is kept: the second call answers the same, without the secret.
    const opts = { ctx: {}, getRawInput: async () => undefined, path: 'frozen', type: 'query' as const, signal: undefined, batchIndex: 0 };
    expect(await callProcedure(procedures.frozen!, opts)).toBe(await callProcedure(procedures.frozen!, opts));
    expect(await callProcedure(procedures.frozen!, opts)).toEqual({ name: 'a', at: new Date(0) });
  });

  it("reads the router's transformer and error formatter", () => {
    const config = runtimeConfigOf(sampleRouter());
    const now = new Date();
    expect(config.transformer.input.deserialize(config.transformer.output.serialize({ now }))).toEqual({ now });
    expect(typeof config.errorFormatter).toBe('function');
    expect(runtimeConfigOf(appRouter).transformer.output.serialize(now)).toEqual(superjson.serialize(now));
  });

  it("reads every procedure of the app's router", () => {
    const procedures = Object.entries(proceduresOf(appRouter));
    expect(procedures.length).toBeGreaterThan(50);
    for (const [path, procedure] of procedures) {
      const def = definitionOf(procedure);
      expect(['query', 'mutation', 'subscription'], path).toContain(def.type);
      expect(typeof def.resolver, path).toBe('function');
      expect(def.middlewares.length, path).toBeGreaterThan(1);
    }
  });

  it('is the only module of src/ that touches _def, _middlewares or _type', () => {
    const readers = sourceFiles(SRC)
      .filter((file) => /\b_def\b|\b_middlewares\b|\._type\b/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(SRC, file));
    expect(readers).toEqual(['routers/trpc-internals.ts']);
  });
});
