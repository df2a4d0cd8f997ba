/** Builds the OpenAPI 3.1 document from the same procedures and schemas the REST adapter serves. */
import { z } from 'zod';
import { extendZodWithOpenApi, OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { AnyRouter } from '@trpc/server';
import { ERROR_STATUS, type ErrorCode } from '../domain/errors.ts';
import type { Scope } from '../domain/scopes.ts';
import type { RateLimitClass } from '../routers/trpc.ts';
import { errorEnvelope, successEnvelope } from './envelope.ts';
import { listOperations, type Operation } from './operations.ts';
import type { RawRouteSpec } from './raw-routes.ts';

// registry.register() names schemas through `.openapi()`, which this adds to zod once.
extendZodWithOpenApi(z);

export const SECURITY_SCHEMES = {
  internalToken: {
    type: 'apiKey' as const,
    in: 'header' as const,
    name: 'X-Moxxy-Internal-Token',
    description:
      'The MOXXY_INTERNAL_TOKEN value; full access. Without an internal token or API key configured (allowed on a loopback bind only) ' +
      'requests without credentials are let through; credentials that are sent are always checked (401 wrong, 403 missing scope).',
  },
  bearerToken: {
    type: 'http' as const,
    scheme: 'bearer',
    bearerFormat: 'mox_<base64url>',
    description:
      'An API token made with POST /api/tokens or `moxxy tokens create`; its scopes limit what it may do. The server\'s API key ' +
      '(`moxxy serve --api-key`, MOXXY_API_KEY) is sent the same way and has full access, like the internal token.',
  },
  channelToken: {
    type: 'http' as const,
    scheme: 'bearer',
    description: "An HTTP channel's own token (its `authToken`, or MOXXY_HTTP_TOKEN for the server-wide channel), not an API token.",
  },
};

export const TAGS = [
  { name: 'system', description: 'Health and the API description itself.' },
  { name: 'agents', description: 'Agents: model, system prompt and allowed tools.' },
  { name: 'chat', description: 'Conversations: a turn, its stream (SSE), history and sessions.' },
  { name: 'runs', description: 'Runs: one turn of an agent as a resource (status, steps, usage), cancellable, with its event stream.' },
  { name: 'events', description: 'Live event stream (SSE) and the audit log of every event, secrets redacted.' },
  { name: 'memory', description: 'What agents remember, per user: ranked recall (full-text, optionally hybrid with embeddings).' },
  { name: 'skills', description: "An agent's skills: programs run in a sandbox per their manifest, built-ins (host_shell, web_crawler), install from a URL." },
  { name: 'mcp', description: "An agent's MCP servers (stdio or streamable HTTP), their tools, and calling them." },
  { name: 'vault', description: "Secrets encrypted at rest (AES-256-GCM), each agent's and the server's own (what ${vault:KEY} in the server's configuration names): keys listed without values, one audited read." },
  { name: 'heartbeats', description: "An agent's schedules (cron in a time zone, or an interval) that start runs with a prompt; missed slots fire once, never as a backlog." },
  { name: 'tokens', description: 'API tokens: made once (only a hash is kept), listed, revoked; each carries scopes.' },
  { name: 'webhooks', description: 'Webhooks: outside services (GitHub, Stripe...) start runs by POSTing to a trigger, signed (GitHub or Standard Webhooks) when the webhook has a secret; every delivery is logged.' },
  { name: 'channel-http', description: 'The HTTP channel (seed 001): one turn per request as JSON, SSE or audio, behind the channel\'s own bearer token and tool allow-list.' },
  { name: 'openai', description: "OpenAI's API for agents: each agent a model, a turn as Chat Completions, failures in OpenAI's shape." },
  { name: 'mcp-server', description: 'The server as an MCP server: tools to list agents, send them messages, search and store memory.' },
  { name: 'a2a', description: 'Agent2Agent 1.0: each agent\'s card, and tasks (runs) over JSON-RPC.' },
];

interface ObjectDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
}

function objectSchema(schema: z.ZodType | undefined): z.ZodObject | undefined {
  let current = schema;
  while (current) {
    const def = (current as unknown as { _zod: { def: ObjectDef } })._zod.def;
    if (def.type === 'object') return current as z.ZodObject;
    if (def.type === 'optional' || def.type === 'default') current = def.innerType;
    else return undefined;
  }
  return undefined;
}

function pascal(id: string): string {
  return id.replace(/(^|[._-])(\w)/g, (_, __, c: string) => c.toUpperCase());
}

interface ErrorSources {
  errors?: ErrorCode[] | undefined;
  hasInput: boolean;
  hasBody: boolean;
  scope: Scope | null;
  rateLimit?: RateLimitClass | false | undefined;
  /** Refused cross-site (src/http/origin-guard.ts): every method but GET, and GETs that start runs. */
  changesState: boolean;
}

/** What any request may be answered before it reaches an operation (src/http/origin-guard.ts, src/http/errors.ts). */
const TRANSPORT_ERRORS: ErrorCode[] = ['REQUEST_TIMEOUT', 'HOST_NOT_ALLOWED', 'HEADERS_TOO_LARGE'];

/** The sources of the errors any request may get before it is routed: TRANSPORT_ERRORS, and INTERNAL_ERROR. */
const BEFORE_ROUTING: ErrorSources = { hasInput: false, hasBody: false, scope: null, changesState: false };

/** Every error code an operation can answer with, in catalogue order. */
export function operationErrorCodes({ errors, hasInput, hasBody, scope, rateLimit, changesState }: ErrorSources): ErrorCode[] {
  const codes = new Set<ErrorCode>([...(errors ?? []), ...TRANSPORT_ERRORS]);
  if (scope !== null) {
    codes.add('UNAUTHORIZED');
    codes.add('FORBIDDEN');
  }
  if (changesState) codes.add('CROSS_SITE_REQUEST');
  // Failed credentials are throttled wherever credentials are read (src/http/auth-throttle.ts).
  if (rateLimit || scope !== null) codes.add('RATE_LIMITED');
  if (hasInput) codes.add('VALIDATION_ERROR');
  if (hasBody) {
    codes.add('INVALID_JSON');
    codes.add('PAYLOAD_TOO_LARGE');
    codes.add('UNSUPPORTED_MEDIA_TYPE');
  }
  codes.add('INTERNAL_ERROR');
  return (Object.keys(ERROR_STATUS) as ErrorCode[]).filter((code) => codes.has(code));
}

/** One named component per error code (`AgentNotFoundError`), so each response refers to it instead of repeating it. */
export type ErrorSchemas = (code: ErrorCode) => z.ZodType;

function errorSchemas(registry: OpenAPIRegistry): ErrorSchemas {
  const made = new Map<ErrorCode, z.ZodType>();
  return (code) => {
    let schema = made.get(code);
    if (!schema) {
      const name = pascal(code.toLowerCase());
      schema = registry.register(name.endsWith('Error') ? name : `${name}Error`, errorEnvelope([code]));
      made.set(code, schema);
    }
    return schema;
  };
}

function errorResponses(sources: ErrorSources, schemaOf: ErrorSchemas, except: readonly ErrorCode[] = []): RouteConfig['responses'] {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of operationErrorCodes(sources).filter((code) => !except.includes(code))) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: RouteConfig['responses'] = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[status] = {
      description: codes.join(', '),
      ...(status === 401 ? { headers: UNAUTHORIZED_HEADERS } : status === 429 ? { headers: RATE_LIMITED_HEADERS } : {}),
      content: { 'application/json': { schema: oneOf([...new Set(codes.map(schemaOf))]) } },
    };
  }
  return responses;
}

/** A dialect may show several codes with one schema (src/http/dialect-openapi.ts): each is listed once. */
const oneOf = (schemas: z.ZodType[]) => (schemas.length === 1 ? schemas[0]! : z.union(schemas as [z.ZodType, z.ZodType, ...z.ZodType[]]));

export const integerHeader = (description: string) => ({ description, schema: { type: 'integer' as const, minimum: 0 } });

/** Response headers, declared once under components.headers (see src/http/rate-limit.ts and src/http/auth.ts). */
export const HEADER_COMPONENTS = {
  'X-RateLimit-Limit': integerHeader('Requests allowed per window (one second) for this caller and class.'),
  'X-RateLimit-Remaining': integerHeader('Requests left in the current window.'),
  'X-RateLimit-Reset': integerHeader('When the window resets, in UTC epoch seconds (Retry-After says how long to wait).'),
  'Retry-After': integerHeader('Seconds to wait before retrying.'),
  'WWW-Authenticate': { description: 'Bearer realm="moxxy"', schema: { type: 'string' as const } },
};
const headerRefs = (...names: (keyof typeof HEADER_COMPONENTS)[]) =>
  Object.fromEntries(names.map((name) => [name, { $ref: `#/components/headers/${name}` }]));

/** Sent by every rate-limited operation. */
const RATE_LIMIT_HEADERS = headerRefs('X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset');
const RATE_LIMITED_HEADERS = headerRefs('X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After');
const UNAUTHORIZED_HEADERS = headerRefs('WWW-Authenticate');

const successHeaders = (rateLimit: RateLimitClass | false | undefined) => (rateLimit ? { headers: RATE_LIMIT_HEADERS } : {});

function requestOf(operation: Operation, registry: OpenAPIRegistry): RouteConfig['request'] {
  const input = objectSchema(operation.input);
  if (!input) return undefined;
  const pick = Object.fromEntries(operation.pathKeys.map((key) => [key, true as const])) as Record<string, true> & Record<number, never>;
  const request: NonNullable<RouteConfig['request']> = {};
  if (operation.pathKeys.length) request.params = input.pick(pick);
  const rest = operation.pathKeys.length ? input.omit(pick) : input;
  if (Object.keys(rest.shape).length === 0) return request;
  if (operation.hasBody) {
    // A body that is the input less its path keys gets a name of its own, for generated clients.
    const body = operation.pathKeys.length ? registry.register(`${pascal(operation.id)}Body`, rest) : rest;
    // Required only when an absent body (read as {}) would be refused: a PATCH of optional fields may send none.
    request.body = { required: !rest.safeParse({}).success, content: { 'application/json': { schema: body } } };
  } else {
    request.query = rest;
  }
  return request;
}

/** How a document shows an operation's answers and callers: /api's envelope, or a dialect's own (src/http/dialect-openapi.ts). */
export interface DocumentCodec {
  success(output: z.ZodType): z.ZodType;
  security(scope: Scope | null): RouteConfig['security'];
  errorOf: ErrorSchemas;
}

export function routeConfig(operation: Operation, registry: OpenAPIRegistry, codec: DocumentCodec): RouteConfig {
  const { meta } = operation;
  const status = meta.successStatus ?? 200;
  const output = operation.output ?? z.null();
  return {
    method: meta.method.toLowerCase() as RouteConfig['method'],
    path: meta.path,
    operationId: operation.id,
    tags: meta.tags,
    summary: meta.summary,
    ...(meta.description || meta.hostPower ? { description: [meta.description, meta.hostPower && `**Host power:** ${meta.hostPower}`].filter(Boolean).join('\n\n') } : {}),
    ...(meta.hostPower ? { 'x-moxxy-host-power': meta.hostPower } : {}),
    security: codec.security(meta.scope),
    request: requestOf(operation, registry),
    responses: {
      [status]: { description: meta.summary, ...successHeaders(meta.rateLimit), content: { 'application/json': { schema: codec.success(output) } } },
      ...errorResponses({
        errors: meta.errors,
        hasInput: operation.input !== undefined,
        hasBody: operation.hasBody,
        scope: meta.scope,
        rateLimit: meta.rateLimit,
        changesState: meta.method !== 'GET',
      }, codec.errorOf),
    },
  };
}

function securityOf(scope: Scope | null): RouteConfig['security'] {
  return scope === null ? [] : [{ internalToken: [] }, { bearerToken: [scope] }];
}

export function rawRouteConfig(route: RawRouteSpec, schemaOf: ErrorSchemas): RouteConfig {
  const request: NonNullable<RouteConfig['request']> = {};
  if (route.request?.params) request.params = route.request.params as z.ZodObject;
  if (route.request?.query) request.query = route.request.query as z.ZodObject;
  if (route.request?.headers) request.headers = route.request.headers;
  if (route.request?.body) {
    const { contentType, schema, description } = route.request.body;
    request.body = { required: true, ...(description ? { description } : {}), content: { [contentType]: { schema } } };
  }
  const responses: RouteConfig['responses'] = {};
  for (const [status, response] of Object.entries({ ...route.responses, ...route.rawErrors })) {
    const headers = { ...(Number(status) < 300 ? successHeaders(route.rateLimit).headers : {}), ...response.headers };
    responses[status] = {
      description: response.description,
      ...(Object.keys(headers).length ? { headers } : {}),
      content: Object.fromEntries([response, ...(response.alternatives ?? [])].map(({ contentType, schema }) => [contentType, { schema }])),
    };
  }
  const hasBody = route.request?.body?.contentType === 'application/json';
  // A route answering all its failures in its own shape (rawErrors) keeps the envelope only for what node answers
  // before any route is known: a request too slow or too large; one answering some (ownErrorCodes), for the others.
  const everyFailureItsOwn = route.errorResponse && !route.ownErrorCodes;
  const envelopeErrors = errorResponses(everyFailureItsOwn ? BEFORE_ROUTING : {
    errors: route.errors,
    hasInput: Boolean(route.request?.params ?? route.request?.query ?? route.request?.body),
    hasBody,
    scope: route.scope ?? route.optionalScope ?? null,
    rateLimit: route.rateLimit,
    changesState: route.method !== 'GET' || Boolean(route.startsRun),
  }, schemaOf, route.ownErrorCodes);
  for (const [status, response] of Object.entries(envelopeErrors)) responses[status] ??= response;
  return {
    method: route.method.toLowerCase() as RouteConfig['method'],
    path: route.path,
    operationId: route.id,
    tags: route.tags,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    // `{}` first: the route may be called without credentials (when its own checks allow it).
    security: route.channelToken
      ? [{ channelToken: [] }]
      : route.optionalScope
        ? [{}, ...securityOf(route.optionalScope)!]
        : securityOf(route.scope),
    ...(Object.keys(request).length ? { request } : {}),
    responses,
  };
}

export interface OpenApiDocumentOptions {
  version: string;
  serverUrl?: string;
}

export function buildOpenApiDocument(router: AnyRouter, rawRoutes: RawRouteSpec[], options: OpenApiDocumentOptions) {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'internalToken', SECURITY_SCHEMES.internalToken);
  registry.registerComponent('securitySchemes', 'bearerToken', SECURITY_SCHEMES.bearerToken);
  registry.registerComponent('securitySchemes', 'channelToken', SECURITY_SCHEMES.channelToken);
  for (const [name, header] of Object.entries(HEADER_COMPONENTS)) registry.registerComponent('headers', name, header);
  registry.register('ErrorEnvelope', errorEnvelope());
  const schemaOf = errorSchemas(registry);
  const envelope: DocumentCodec = { success: successEnvelope, security: securityOf, errorOf: schemaOf };
  for (const operation of listOperations(router)) registry.registerPath(routeConfig(operation, registry, envelope));
  for (const route of rawRoutes) if (!route.undocumented) registry.registerPath(rawRouteConfig(route, schemaOf));

  const generator = new OpenApiGeneratorV31(registry.definitions);
  return boundIntegers(generator.generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Moxxy server API',
      version: options.version,
      description:
        'Agents, chat, memory, skills, MCP tools, vault, channels, webhooks, events and audit. ' +
        'Every JSON response is an envelope: `{"success": true, "data": ...}` or ' +
        '`{"success": false, "error": {"code", "message", "details"?}}`. The same procedures are served over tRPC at /trpc.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: options.serverUrl ?? 'http://127.0.0.1:17890' }],
    tags: TAGS,
  }));
}

/**
 * zod's `.int()` accepts safe integers only (|n| <= 2^53 - 1); the generator leaves that rule out, so a schema-valid
 * `offset=1e300` would be refused for a reason the document does not show. Every integer states the bounds it lacks.
 */
export function boundIntegers<T>(node: T): T {
  if (Array.isArray(node)) {
    for (const item of node) boundIntegers(item);
  } else if (typeof node === 'object' && node !== null) {
    const schema = node as Record<string, unknown>;
    if (schema.type === 'integer' || (Array.isArray(schema.type) && schema.type.includes('integer'))) {
      schema.minimum ??= Number.MIN_SAFE_INTEGER;
      schema.maximum ??= Number.MAX_SAFE_INTEGER;
    }
    for (const value of Object.values(schema)) boundIntegers(value);
  }
  return node;
}
