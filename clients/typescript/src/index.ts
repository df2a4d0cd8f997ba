/** @moxxy/client: the REST client generated from openapi.json, its errors, types and SSE parser. The tRPC client is `@moxxy/client/trpc`. */
export { createMoxxyClient, type CallOptions, type MoxxyClientOptions, type MoxxyRestClient, type MoxxyStream, type ResumableStreamOptions, type StreamOptions } from './rest.ts';
export { isMoxxyApiError, MoxxyApiError, type ClientErrorCode, type OperationError } from './errors.ts';
export { createSseParser, readSseStream, type SseMessage, type SseParser } from './sse.ts';
export { FetchEventSource, type EventSourceFailure, type FetchEventSourceInit } from './event-source.ts';
export { operations } from './generated/operations.ts';
export type { OperationSpec } from './operation-spec.ts';
export type {
  components,
  ErrorCode,
  OperationErrorCode,
  OperationId,
  OperationInput,
  OperationResult,
  paths,
  Schema,
  StreamEvent,
  StreamingOperationId,
} from './types.ts';
