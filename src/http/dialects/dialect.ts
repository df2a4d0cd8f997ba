/**
 * A dialect: procedures served again under a path prefix of their own, in the request, response and error shapes of
 * another API (seed 002's MUXI at /api/v1). Only shapes change. Each route names a procedure by its operationId and
 * maps its input and output with zod schemas and pure functions; the procedure's own schemas, auth, scopes, rate
 * limits and rules all apply as they do on /api. Served by src/http/dialect-adapter.ts, documented by
 * src/http/dialect-openapi.ts in an OpenAPI document of its own.
 */
import type { z } from 'zod';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppError, ErrorCode } from '../../domain/errors.ts';
import type { Scope } from '../../domain/scopes.ts';
import type { AppRouter } from '../../routers/app.ts';
import type { HttpMethod } from '../../routers/trpc.ts';

type Inputs = inferRouterInputs<AppRouter>;
type Outputs = inferRouterOutputs<AppRouter>;

/** A procedure of the app router by its operationId: `agents.list`. */
export type OperationId = { [A in keyof Outputs & string]: `${A}.${keyof Outputs[A] & string}` }[keyof Outputs & string];
type Of<T, Id extends string> = Id extends `${infer A}.${infer P}` ? (A extends keyof T ? (P extends keyof T[A] ? T[A][P] : never) : never) : never;

export interface DialectRoute<Id extends OperationId = OperationId, I extends z.ZodObject = z.ZodObject, O extends z.ZodType = z.ZodType> {
  /** The procedure it runs. */
  operation: Id;
  method: HttpMethod;
  /** Below the dialect's prefix, e.g. `/agents/{agent_id}`; `{x}` names a field of `input`. */
  path: `/${string}`;
  /** The request: its path parameters with the query string (GET, DELETE) or the JSON body (POST, PUT, PATCH). */
  input: I;
  /** The procedure's input, from the request. */
  toInput(input: z.output<I>): Of<Inputs, Id>;
  /** The answer. */
  output: O;
  fromOutput(output: Of<Outputs, Id>): z.input<O>;
}

/** A route of any procedure, as the adapter and the document builder see it. */
export interface AnyDialectRoute {
  operation: OperationId;
  method: HttpMethod;
  path: `/${string}`;
  input: z.ZodObject;
  toInput(input: unknown): unknown;
  output: z.ZodType;
  fromOutput(output: unknown): unknown;
}

/** Checks a route's mappers against its procedure's types, then keeps it with the others. */
export function dialectRoute<Id extends OperationId, I extends z.ZodObject, O extends z.ZodType>(route: DialectRoute<Id, I, O>): AnyDialectRoute {
  return route as unknown as AnyDialectRoute;
}

export interface Dialect {
  /** Names its OpenAPI document: `openapi/<name>.openapi.json`, served at `<prefix>/openapi.json`. */
  name: string;
  /** Every route of the dialect is below it, and so is every path whose failures it shapes, routed or not. */
  prefix: `/${string}`;
  routes: AnyDialectRoute[];
  /** How input issues read: zod's error map for the routes' inputs. */
  issueMessage: z.core.$ZodErrorMap;
  /** The body of any failure on its paths; the status stays the error's own (src/domain/errors.ts). */
  errorBody(error: AppError): unknown;
  openApi: {
    title: string;
    description: string;
    securitySchemes: Record<string, SecurityScheme>;
    /** The security requirements of an operation that needs `scope`. */
    security(scope: Scope): Array<Record<string, string[]>>;
    /** The body of any failure, a named component (for paths no operation answers). */
    error: z.ZodType;
    /** The body of a failure with this code, a named component. */
    errorOf(code: ErrorCode): z.ZodType;
  };
}

export type SecurityScheme =
  | { type: 'apiKey'; in: 'header'; name: string; description: string }
  | { type: 'http'; scheme: string; bearerFormat?: string; description: string };

/** Whether a request path (query string and all) is the dialect's. */
export function isDialectPath(dialect: Pick<Dialect, 'prefix'>, url: string): boolean {
  return url.startsWith(dialect.prefix) && (url.length === dialect.prefix.length || '/?'.includes(url[dialect.prefix.length]!));
}
