/**
 * /trpc over HTTP. Queries and mutations — single or batched (`?batch=1`), superjson in and out — are answered here
 * straight from fastify's request: tRPC's own fastify adapter turns every request into a Fetch `Request` and its answer
 * into a `Response` (headers objects, URL parsing, an AbortController and a body stream per call), which cost more
 * than the procedure itself on a cached read. The procedure is looked up in the router's procedure map and called as
 * tRPC calls it (its middlewares, input and output parsing), and the answer is made with tRPC's own error shape,
 * transformer and status mapping. Anything else — subscriptions, unknown procedures, a method that does not fit the
 * procedure, other content types, JSONL streaming, connection params, HEAD — goes to tRPC's own handler unchanged.
 * test/trpc-http.test.ts sends the same requests to both and compares the answers.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { getErrorShape, getTRPCErrorFromUnknown, transformTRPCResponse, TRPCError, type AnyRouter } from '@trpc/server';
import type { FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import { getHTTPStatusCode } from '@trpc/server/http';
import superjson from 'superjson';
import { callProcedure, definitionOf, proceduresOf, runtimeConfigOf, type CallableProcedure, type ProcedureType, type RouterRuntimeConfig } from '../routers/trpc-internals.ts';

export type TrpcHttpOptions<TRouter extends AnyRouter> = FastifyTRPCPluginOptions<TRouter>['trpcOptions'];

let adapter: Promise<typeof import('@trpc/server/adapters/fastify')> | undefined;

/**
 * tRPC's own fastify handler, for what the fast path does not answer (subscriptions, form data, anything unusual).
 * Loaded on first use: its module brings tRPC's WebSocket adapter, and with it `ws`, tls and zlib, into the start.
 */
async function trpcHandler<TRouter extends AnyRouter>(options: TrpcHttpOptions<TRouter>, request: FastifyRequest, reply: FastifyReply, path: string) {
  const { fastifyRequestHandler } = await (adapter ??= import('@trpc/server/adapters/fastify'));
  return fastifyRequestHandler({ ...options, req: request, res: reply, path });
}

/** What the fast path hands to createContext and responseMeta as tRPC's request info. */
interface FastInfo {
  isBatchCall: boolean;
  accept: null;
  type: ProcedureType;
  calls: { path: string; batchIndex: number; procedure: CallableProcedure }[];
  connectionParams: null;
  signal: AbortSignal;
  url: null;
}

interface CallResult {
  error?: TRPCError;
  data?: unknown;
}

const METHOD_OF: Record<ProcedureType, string> = { query: 'GET', mutation: 'POST', subscription: '' };
const VARY = 'trpc-accept, accept';
const STREAM_ERROR = 'Cannot use stream-like response in non-streaming request - use httpBatchStreamLink';
const NEVER_ABORTED = new AbortController().signal;

const isObject = (value: unknown): value is Record<string, unknown> => !!value && !Array.isArray(value) && typeof value === 'object';
const isJson = (contentType: string) => contentType.split(';', 1)[0]!.trim().toLowerCase() === 'application/json';

/** A result tRPC would only send over a streaming link (an async iterable, or an object holding promises or iterables). */
function isDataStream(value: unknown): boolean {
  if (!isObject(value)) return false;
  if (Symbol.asyncIterator in value) return true;
  return Object.values(value).some((v) => v instanceof Promise || (isObject(v) && Symbol.asyncIterator in v));
}

/**
 * The procedures a request calls when the fast path can answer it exactly as tRPC would, else undefined: tRPC's own
 * handler answers what is left, including every request that ends in a routing error.
 */
function fastCalls(router: AnyRouter, request: FastifyRequest, path: string): { batch: boolean; procedures: CallableProcedure[]; paths: string[] } | undefined {
  const { method, headers } = request;
  if (method !== 'GET' && method !== 'POST') return undefined;
  const contentType = headers['content-type'];
  if (method === 'POST' ? contentType === undefined || !isJson(contentType) : contentType !== undefined && !isJson(contentType)) return undefined;
  if (headers['trpc-accept'] !== undefined || headers.accept?.includes('application/jsonl')) return undefined;
  const query = request.query as Record<string, unknown>;
  if (query.connectionParams !== undefined || Array.isArray(query.batch) || Array.isArray(query.input)) return undefined;
  // tRPC decodes the path once more than fastify does.
  if (path.includes('%')) return undefined;
  const batch = query.batch === '1';
  const paths = batch ? path.split(',') : [path];
  const all = proceduresOf(router);
  const procedures: CallableProcedure[] = [];
  for (const name of paths) {
    const procedure = Object.hasOwn(all, name) ? all[name] : undefined;
    if (!procedure || METHOD_OF[definitionOf(procedure).type] !== method) return undefined;
    procedures.push(procedure);
  }
  return { batch, procedures, paths };
}

/** Answers a tRPC request over fastify: the fast path when it can, tRPC's own handler otherwise. */
export async function handleTrpcRequest<TRouter extends AnyRouter>(options: TrpcHttpOptions<TRouter>, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const path = (request.params as { path: string }).path;
  const { router } = options;
  const plan = fastCalls(router, request, path);
  if (!plan) return trpcHandler(options, request, reply, path);

  const config = runtimeConfigOf(router);
  const deserialize = inputDeserializer(config);
  const { batch, procedures, paths } = plan;
  const type = definitionOf(procedures[0]!).type;
  const info: FastInfo = {
    isBatchCall: batch,
    accept: null,
    type,
    calls: procedures.map((procedure, batchIndex) => ({ path: paths[batchIndex]!, batchIndex, procedure })),
    connectionParams: null,
    signal: NEVER_ABORTED,
    url: null,
  };

  // Inputs are read (and parse errors raised) when the first procedure asks for its input, as tRPC does.
  let inputs: Record<number, unknown> | undefined;
  let reading: Promise<Record<number, unknown>> | undefined;
  const readInputs = () =>
    (reading ??= (async () => {
      const text = request.method === 'GET' ? (request.query as { input?: string }).input : (request.body as string | undefined);
      const raw: unknown = text ? JSON.parse(text) : undefined;
      const read: Record<number, unknown> = Object.create(null);
      if (raw === undefined) return (inputs = read);
      if (!batch) {
        read[0] = deserialize(raw);
        return (inputs = read);
      }
      if (!isObject(raw)) throw new TRPCError({ code: 'BAD_REQUEST', message: '"input" needs to be an object when doing a batch call' });
      for (const index of paths.keys()) if (raw[index] !== undefined) read[index] = deserialize(raw[index]);
      return (inputs = read);
    })().catch((cause: unknown) => {
      if (cause instanceof TRPCError) throw cause;
      throw new TRPCError({ code: 'BAD_REQUEST', message: cause instanceof Error ? cause.message : 'Invalid input', cause });
    }));

  const reportError = (error: TRPCError, index: number | undefined, ctx: unknown) =>
    options.onError?.({
      error,
      path: index === undefined ? undefined : paths[index],
      input: index === undefined ? undefined : inputs?.[index],
      ctx: ctx as never,
      type: index === undefined ? type : definitionOf(procedures[index]!).type,
      req: request,
    });
  const shapeOf = (error: TRPCError, index: number | undefined, ctx: unknown) => ({
    error: getErrorShape({
      config: config as never,
      ctx,
      error,
      input: index === undefined ? undefined : inputs?.[index],
      path: index === undefined ? undefined : paths[index],
      type: index === undefined ? type : definitionOf(procedures[index]!).type,
    }),
  });

  let ctx: unknown;
  try {
    ctx = await options.createContext?.({ req: request, res: reply, info: info as never });
  } catch (cause) {
    const error = getTRPCErrorFromUnknown(cause);
    reportError(error, undefined, undefined);
    const json = shapeOf(error, undefined, undefined);
    return send(reply, options, { ctx: undefined, info, errors: [error], json, answer: { text: JSON.stringify(transformTRPCResponse(config as never, json)) } });
  }

  const results: CallResult[] = await Promise.all(
    procedures.map(async (procedure, index): Promise<CallResult> => {
      try {
        const getRawInput = async () => (await readInputs())[index];
        return { data: await callProcedure(procedure, { path: paths[index]!, getRawInput, ctx, type: definitionOf(procedure).type, signal: undefined, batchIndex: index }) };
      } catch (cause) {
        const error = getTRPCErrorFromUnknown(cause);
        reportError(error, index, ctx);
        return { error };
      }
    }),
  );
  // A stream-like result needs a streaming link; no query or mutation of this server returns one. (A result answered
  // before was checked then.)
  const errors = results.map(
    (result) =>
      result.error ?? (!knownAnswer(result.data) && isDataStream(result.data) ? new TRPCError({ code: 'UNSUPPORTED_MEDIA_TYPE', message: STREAM_ERROR }) : undefined),
  );
  const responses = results.map((result, index) => (errors[index] ? shapeOf(errors[index]!, index, ctx) : { result: { data: result.data } }));
  const answers = responses.map((response) =>
    'result' in response ? resultAnswer(config, response.result.data) : { text: JSON.stringify(transformTRPCResponse(config as never, response)) },
  );
  const json = batch ? responses : responses[0]!;
  if (!batch) return send(reply, options, { ctx, info, errors, json, answer: answers[0]! });
  return send(reply, options, { ctx, info, errors, json, answer: { text: `[${answers.map((answer) => answer.text).join(',')}]` } });
}

/**
 * The transformer's input side for a request's freshly parsed JSON. superjson copies what it is given before it
 * applies its annotations, so that the caller's object is left as it was; this object is the request's own, so it
 * is annotated in place, as superjson.parse() does with the JSON it parsed.
 */
function inputDeserializer(config: RouterRuntimeConfig): (raw: unknown) => unknown {
  if (config.transformer.input === superjson) return (raw) => superjson.deserialize(raw as never, { inPlace: true });
  return (raw) => config.transformer.input.deserialize(raw);
}

/** A response body: its text, and its bytes once they were needed. */
interface Answer {
  text: string;
  bytes?: Buffer;
}

/** Serialized successes of frozen results (see callProcedure in src/routers/trpc-internals.ts), sent again while they live. */
const resultAnswers = new WeakMap<object, Answer>();

const knownAnswer = (data: unknown) => typeof data === 'object' && data !== null && resultAnswers.has(data);

/** A success as tRPC's transformTRPCResponse writes it: `{"result":{"data":<serialized>}}`. */
function resultAnswer(config: RouterRuntimeConfig, data: unknown): Answer {
  const frozen = typeof data === 'object' && data !== null && Object.isFrozen(data) ? data : undefined;
  const known = frozen && resultAnswers.get(frozen);
  if (known) return known;
  const answer: Answer = { text: JSON.stringify({ result: { data: config.transformer.output.serialize(data) } }) };
  if (frozen) resultAnswers.set(frozen, answer);
  return answer;
}

/** Writes the answer as tRPC's fetch handler builds it: status from the error shapes, `vary`, responseMeta's headers. */
function send<TRouter extends AnyRouter>(
  reply: FastifyReply,
  options: TrpcHttpOptions<TRouter>,
  outcome: { ctx: unknown; info: FastInfo; errors: (TRPCError | undefined)[]; json: object | object[]; answer: Answer },
): FastifyReply {
  const { ctx, info, errors, json, answer } = outcome;
  const defined = errors.filter((error): error is TRPCError => error !== undefined);
  let status = getHTTPStatusCode(json as never, errors as never);
  const meta =
    options.responseMeta?.({
      ctx: ctx as never,
      info: info as never,
      paths: info.calls.map((call) => call.path),
      data: (Array.isArray(json) ? json : [json]) as never,
      errors: defined,
      eagerGeneration: false,
      type: info.type,
    }) ?? {};
  reply.header('vary', VARY);
  reply.header('content-type', 'application/json');
  if (meta.headers) {
    const entries = meta.headers instanceof Headers ? [...meta.headers.entries()] : Object.entries(meta.headers);
    for (const [key, value] of entries) {
      if (Array.isArray(value)) for (const each of value) reply.header(key, each);
      else if (typeof value === 'string') reply.header(key, value);
    }
  }
  if (meta.status) status = meta.status;
  // As bytes: fastify would add a charset to a string's content type, which tRPC's answers do not carry.
  return reply.code(status).send((answer.bytes ??= Buffer.from(answer.text)));
}

/**
 * Serves a router at `prefix` like tRPC's `fastifyTRPCPlugin` (which registers the same string body parsers), with
 * queries and mutations on the fast path above.
 */
export function trpcHttpPlugin<TRouter extends AnyRouter>(
  app: FastifyInstance,
  opts: { trpcOptions: TrpcHttpOptions<TRouter>; fastPath: boolean },
  done: () => void,
): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, parsed) => parsed(null, body));
  app.removeContentTypeParser('multipart/form-data');
  app.addContentTypeParser('multipart/form-data', {}, (_request, body, parsed) => parsed(null, body));
  const { trpcOptions, fastPath } = opts;
  app.all('/:path', (request, reply) =>
    fastPath ? handleTrpcRequest(trpcOptions, request, reply) : trpcHandler(trpcOptions, request, reply, (request.params as { path: string }).path),
  );
  done();
}
