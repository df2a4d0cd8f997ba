/**
 * The client's types, derived from the generated openapi.ts and operations table: nothing here restates a schema.
 * `OperationInput<'agents.get'>` is `{ name: string }`, `OperationResult<'agents.get'>` is the Agent schema.
 */
import type { components, operations as OperationTypes } from './generated/openapi.ts';
import type { operations } from './generated/operations.ts';

export type { components, paths } from './generated/openapi.ts';

/** A schema of openapi.json by its component name, e.g. `Schema<'Agent'>`. */
export type Schema<Name extends keyof components['schemas']> = components['schemas'][Name];

export type OperationId = keyof typeof operations;
type Spec<K extends OperationId> = (typeof operations)[K];
type Op<K extends OperationId> = OperationTypes[K];

/** Every code the API answers with (the ErrorEnvelope's `error.code`). */
export type ErrorCode = Schema<'ErrorEnvelope'>['error']['code'];
/** The codes operation K documents. */
export type OperationErrorCode<K extends OperationId> = Extract<keyof Spec<K>['errors'], ErrorCode>;

/** `never` and `undefined` (no such parameters) become `{}`, so intersections stay usable. */
type Present<T> = [NonNullable<T>] extends [never] ? {} : NonNullable<T>;

type PathParams<K extends OperationId> = Present<Op<K>['parameters']['path']>;
type QueryParams<K extends OperationId> = Present<Op<K>['parameters']['query']>;
type RequestContent<K extends OperationId> = Present<Op<K>['requestBody']> extends { content: infer C } ? C : never;
export type JsonBody<K extends OperationId> = RequestContent<K> extends { 'application/json': infer B } ? B : never;

/** The bytes of a binary body and their type (e.g. `audio/mpeg`). */
export interface BinaryBody {
  body: Blob | ArrayBuffer | Uint8Array | ReadableStream<Uint8Array>;
  contentType: string;
}

type BodyInput<K extends OperationId> = Spec<K>['body'] extends 'json'
  ? Spec<K>['bodyInput'] extends 'flat'
    ? JsonBody<K>
    : { body: JsonBody<K> }
  : Spec<K>['body'] extends 'binary'
    ? BinaryBody
    : {};

/** What a method takes: path and query parameters, and the body's fields (or `body` when they cannot sit side by side). */
export type OperationInput<K extends OperationId> = PathParams<K> & QueryParams<K> & BodyInput<K>;

type SuccessContent<K extends OperationId> = Op<K>['responses'] extends infer R
  ? Spec<K>['status'] extends keyof R
    ? R[Spec<K>['status']] extends { content: infer C }
      ? C
      : undefined
    : never
  : never;

/** What a method resolves to: the envelope's `data`, or the raw JSON body of a non-envelope route. */
export type OperationResult<K extends OperationId> = SuccessContent<K> extends { 'application/json': infer J }
  ? Spec<K>['response'] extends 'envelope'
    ? J extends { data: infer D }
      ? D
      : never
    : J
  : undefined;

/** One event's `data` on a text/event-stream operation. */
export type StreamEvent<K extends OperationId> = SuccessContent<K> extends { 'text/event-stream': infer E } ? E : never;

export type StreamingOperationId = { [K in OperationId]: Spec<K>['response'] extends 'sse' ? K : never }[OperationId];
export type ResumableOperationId = { [K in OperationId]: Spec<K>['resumable'] extends true ? K : never }[OperationId];

export type GroupName = OperationId extends infer K ? (K extends `${infer G}.${string}` ? G : never) : never;
export type OperationsOf<G extends GroupName> = Extract<OperationId, `${G}.${string}`>;
export type MethodName<K extends OperationId> = K extends `${string}.${infer M}` ? M : never;

/** Inputs with no required field may be left out. */
export type InputArgs<K extends OperationId, Options> = {} extends OperationInput<K>
  ? [input?: OperationInput<K>, options?: Options]
  : [input: OperationInput<K>, options?: Options];
