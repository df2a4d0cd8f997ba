/**
 * msw handlers built from openapi.json, so code that uses the client can be tested without a server.
 * Each handler checks what the consumer sends (parameters, body) and what the test answers (data, error codes,
 * stream events) against the same schemas the server is held to, and wraps answers the way the server does.
 *
 *   const handlers = createMoxxyHandlers({ baseUrl, resolvers: { 'agents.get': ({ input }) => agentFixture(input.name) } });
 *   setupServer(...handlers).listen();
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { http, HttpResponse, type HttpHandler } from 'msw';
import { operations } from './generated/operations.ts';
import type { OperationSpec } from './operation-spec.ts';
import type { ErrorCode, OperationErrorCode, OperationId, OperationInput, OperationResult, StreamEvent, StreamingOperationId } from './types.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const DOCUMENT_URL = new URL('./generated/openapi.json', import.meta.url);

const FRAME = Symbol('sse-frame');

/** One SSE message with explicit fields; plain items are sent as `data:` (with `id:`/`event:` from an Event's event_id/event_type). */
export interface SseFrame<T> {
  [FRAME]: true;
  id?: string;
  event?: string;
  retry?: number;
  data: T | '[DONE]';
}

export function sseFrame<T>(frame: { id?: string; event?: string; retry?: number; data: T }): SseFrame<T> {
  return { ...frame, [FRAME]: true };
}

/** `data: [DONE]`, the end of an OpenAI-style stream (POST /v1/turn/stream). */
export const sseDone: SseFrame<never> = { data: '[DONE]', [FRAME]: true };

/** Thrown by a resolver to answer with the error envelope; the code must be one the operation documents. */
export class MockApiError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

export function mockError<K extends OperationId = OperationId>(code: OperationErrorCode<K> | ErrorCode, message: string = code, details?: Record<string, unknown>): MockApiError {
  return new MockApiError(code, message, details);
}

type StreamItems<K extends OperationId> = Iterable<StreamEvent<K> | SseFrame<StreamEvent<K>>> | AsyncIterable<StreamEvent<K> | SseFrame<StreamEvent<K>>>;

export type MockAnswer<K extends OperationId> = K extends StreamingOperationId ? StreamItems<K> : OperationResult<K>;

export interface MockCall<K extends OperationId> {
  /** Path and query parameters (read by their schemas: numbers are numbers) and the body, shaped as the client's input. */
  input: OperationInput<K>;
  request: Request;
  /** The Last-Event-ID header, when a stream is resumed. */
  lastEventId: string | undefined;
}

export type MockResolver<K extends OperationId> = (call: MockCall<K>) => MockAnswer<K> | Promise<MockAnswer<K>>;

export type MockResolvers = { [K in OperationId]?: MockResolver<K> };

export interface MoxxyHandlersOptions {
  /** Where the client under test points, e.g. `http://moxxy.test`. */
  baseUrl: string;
  resolvers: MockResolvers;
  /** The OpenAPI document to hold requests and answers to; default: the one this package was generated from. */
  document?: object;
}

type Issue = { path: string; message: string; code: string };

const pointer = (...segments: Array<string | number>) => segments.map((s) => String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

function issuesOf(errors: ErrorObject[] | null | undefined, prefix: string): Issue[] {
  return (errors ?? []).map((error) => ({
    path: [prefix, ...error.instancePath.split('/').filter(Boolean)].filter(Boolean).join('.'),
    message: error.message ?? 'is invalid',
    code: error.keyword,
  }));
}

const describeIssues = (issues: Issue[]) => issues.map((issue) => `${issue.path || '(root)'} ${issue.message}`).join('; ');

function errorResponse(code: ErrorCode, status: number, message: string, details?: Record<string, unknown>) {
  return HttpResponse.json({ success: false, error: { code, message, ...(details ? { details } : {}) } }, { status });
}

interface Parameter {
  name: string;
  in: string;
  schema?: { type?: string | string[] };
}

/** Reads a query value by its schema's type, as the server does. */
function readQueryValue(raw: string, type: string | string[] | undefined): unknown {
  const types = Array.isArray(type) ? type : [type];
  if (types.includes('array')) return raw === '' ? [] : raw.split(',');
  if ((types.includes('integer') || types.includes('number')) && raw.trim() !== '' && !Number.isNaN(Number(raw))) return Number(raw);
  if (types.includes('boolean') && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}

function isFrame(item: unknown): item is SseFrame<unknown> {
  return typeof item === 'object' && item !== null && FRAME in item;
}

function frameOf(item: unknown): { id?: string; event?: string; retry?: number; data: unknown } {
  if (isFrame(item)) return item;
  const event = item as { event_id?: unknown; event_type?: unknown };
  return {
    ...(typeof event?.event_id === 'string' ? { id: event.event_id } : {}),
    ...(typeof event?.event_type === 'string' ? { event: event.event_type } : {}),
    data: item,
  };
}

function formatFrame(frame: { id?: string; event?: string; retry?: number; data: unknown }): string {
  const data = typeof frame.data === 'string' && frame.data === '[DONE]' ? frame.data : JSON.stringify(frame.data);
  return [
    frame.id !== undefined ? `id: ${frame.id}` : undefined,
    frame.event !== undefined ? `event: ${frame.event}` : undefined,
    frame.retry !== undefined ? `retry: ${frame.retry}` : undefined,
    ...data.split('\n').map((line) => `data: ${line}`),
  ]
    .filter((line) => line !== undefined)
    .join('\n')
    .concat('\n\n');
}

export function createMoxxyHandlers(options: MoxxyHandlersOptions): HttpHandler[] {
  const document = (options.document ?? JSON.parse(readFileSync(DOCUMENT_URL, 'utf8'))) as {
    paths: Record<string, Record<string, { parameters?: Parameter[] }>>;
  };
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(document, 'openapi.json');
  const validators = new Map<string, ValidateFunction>();
  const validator = (...segments: Array<string | number>) => {
    const ref = `openapi.json#/${pointer(...segments)}`;
    let validate = validators.get(ref);
    if (!validate) {
      validate = ajv.compile({ $ref: ref });
      validators.set(ref, validate);
    }
    return validate;
  };
  const baseUrl = options.baseUrl.replace(/\/+$/, '');

  return Object.entries(options.resolvers).map(([operationId, resolver]) => {
    const spec = (operations as Record<string, OperationSpec & { errors: Record<string, number> }>)[operationId];
    if (!spec) throw new Error(`createMoxxyHandlers: openapi.json has no operation ${operationId}`);
    const method = spec.method.toLowerCase();
    const operationPath = ['paths', spec.path, method] as const;
    const parameters = document.paths[spec.path]?.[method]?.parameters ?? [];
    const route = `${baseUrl}${spec.path.replace(/\{(\w+)\}/g, ':$1')}`;
    const successContentType = spec.response === 'sse' ? 'text/event-stream' : 'application/json';
    const successSchema = validator(...operationPath, 'responses', String(spec.status), 'content', successContentType, 'schema');

    const invalidAnswer = (issues: Issue[]) =>
      errorResponse('INTERNAL_ERROR', 500, `The mock answer of ${operationId} does not match openapi.json: ${describeIssues(issues)}`);

    return http[method as 'get' | 'post' | 'put' | 'patch' | 'delete'](route, async ({ request, params }) => {
      const url = new URL(request.url);
      const input: Record<string, unknown> = {};
      const issues: Issue[] = [];
      parameters.forEach((parameter, index) => {
        if (parameter.in !== 'path' && parameter.in !== 'query') return;
        const raw = parameter.in === 'path' ? (params[parameter.name] as string | undefined) : (url.searchParams.get(parameter.name) ?? undefined);
        if (raw === undefined) return;
        const value = parameter.in === 'path' ? raw : readQueryValue(raw, parameter.schema?.type);
        const validate = validator(...operationPath, 'parameters', index, 'schema');
        if (!validate(value)) issues.push(...issuesOf(validate.errors, parameter.name));
        input[parameter.name] = value;
      });

      if (spec.body === 'json') {
        let body: unknown;
        try {
          body = JSON.parse(await request.text());
        } catch {
          return errorResponse('INVALID_JSON', 400, 'The body is not valid JSON');
        }
        const validate = validator(...operationPath, 'requestBody', 'content', 'application/json', 'schema');
        if (!validate(body)) issues.push(...issuesOf(validate.errors, ''));
        if (spec.bodyInput === 'flat') Object.assign(input, body);
        else input.body = body;
      } else if (spec.body === 'binary') {
        input.body = new Uint8Array(await request.arrayBuffer());
        input.contentType = request.headers.get('content-type') ?? '';
      }
      if (issues.length > 0) return errorResponse('VALIDATION_ERROR', 400, `Invalid input: ${describeIssues(issues)}`, { issues });

      let answer: unknown;
      try {
        answer = await (resolver as MockResolver<OperationId>)({ input: input as never, request, lastEventId: request.headers.get('last-event-id') ?? undefined });
      } catch (error) {
        if (!(error instanceof MockApiError)) throw error;
        const status = spec.errors[error.code];
        if (status === undefined) {
          return errorResponse('INTERNAL_ERROR', 500, `The mock of ${operationId} answered ${error.code}, which openapi.json does not document for it`);
        }
        return errorResponse(error.code, status, error.message, error.details);
      }

      if (spec.response !== 'sse') {
        const body = spec.response === 'envelope' ? { success: true, data: answer } : answer;
        if (!successSchema(body)) return invalidAnswer(issuesOf(successSchema.errors, ''));
        return HttpResponse.json(body as never, { status: spec.status });
      }

      const items = answer as StreamItems<OperationId>;
      const checkFrame = (item: unknown, index: number): Issue[] => {
        const frame = frameOf(item);
        if (frame.data === '[DONE]' || successSchema(frame.data)) return [];
        return issuesOf(successSchema.errors, `event ${index}`);
      };
      if (Array.isArray(items)) {
        const problems = items.flatMap(checkFrame);
        if (problems.length > 0) return invalidAnswer(problems);
      }
      const encoder = new TextEncoder();
      const stream = new ReadableStream<Uint8Array>({
        async start(controller) {
          let index = 0;
          try {
            for await (const item of items) {
              const problems = checkFrame(item, index++);
              if (problems.length > 0) {
                controller.enqueue(encoder.encode(`: the mock event does not match openapi.json: ${describeIssues(problems)}\n\n`));
                break;
              }
              controller.enqueue(encoder.encode(formatFrame(frameOf(item))));
            }
            controller.close();
          } catch (error) {
            controller.error(error);
          }
        },
      });
      return new HttpResponse(stream, { status: spec.status, headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' } });
    });
  });
}
