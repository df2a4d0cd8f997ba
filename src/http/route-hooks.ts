/**
 * Route-level hooks, attached when a route is registered. Auth, rate limits, cross-site refusal and body handling depend only on
 * what a route declares, so each route gets exactly the hooks its policy needs, decided once: a route
 * without a scope runs no auth hook at all, rather than a global hook that looks the policy up per request.
 */
import type { FastifyInstance, RouteOptions, onRequestHookHandler, preParsingHookHandler, preValidationHookHandler } from 'fastify';
import type { RateLimitClass } from '../routers/trpc.ts';
import type { Scope } from '../domain/scopes.ts';
import type { Dialect } from './dialects/dialect.ts';
import type { Operation } from './operations.ts';
import type { RawRouteSpec } from './raw-routes.ts';

export interface RoutePolicy {
  scope: Scope | null;
  rateLimit: RateLimitClass | false;
  /** Whether a request can change state or start a run: every method but GET, and GETs that say so (the chat stream). */
  changesState: boolean;
}

interface RouteConfig {
  operation?: Operation;
  rawRoute?: RawRouteSpec;
  /** The dialect serving the operation (src/http/dialect-adapter.ts). */
  dialect?: Dialect;
}

/** What a REST or raw route declares about its callers; undefined for other routes (/trpc). */
export function routePolicyOf(route: Pick<RouteOptions, 'config' | 'method'>): RoutePolicy | undefined {
  const config = (route.config ?? {}) as RouteConfig;
  const declared = config.operation?.meta ?? config.rawRoute;
  if (!declared) return undefined;
  const changesState = Boolean(config.rawRoute?.startsRun) || methodsOf(route).some((method) => method !== 'GET' && method !== 'HEAD');
  return { scope: declared.scope, rateLimit: declared.rateLimit ?? false, changesState };
}

/** The body content type a route declares: undefined when it takes none, null when the route declares nothing (/trpc). */
export function declaredBodyTypeOf(config: unknown): string | undefined | null {
  const { operation, rawRoute } = (config ?? {}) as RouteConfig;
  if (operation) return operation.hasBody ? 'application/json' : undefined;
  if (rawRoute) return rawRoute.request?.body?.contentType;
  return null;
}

/** The HTTP methods a route answers. */
export function methodsOf(route: Pick<RouteOptions, 'method'>): string[] {
  return Array.isArray(route.method) ? route.method : [route.method];
}

type HookName = 'onRequest' | 'preParsing' | 'preValidation';
type HookOf<N extends HookName> = N extends 'onRequest' ? onRequestHookHandler : N extends 'preParsing' ? preParsingHookHandler : preValidationHookHandler;

/** Calls `attach` for every route registered from now on; the hook it returns (if any) runs after the route's others. */
export function addRouteHook<N extends HookName>(app: FastifyInstance, name: N, attach: (route: RouteOptions) => HookOf<N> | undefined): void {
  app.addHook('onRoute', (route) => {
    const hook = attach(route);
    if (!hook) return;
    const existing = route[name] as HookOf<N> | HookOf<N>[] | undefined;
    (route as unknown as Record<HookName, unknown>)[name] = existing === undefined ? [hook] : [...(Array.isArray(existing) ? existing : [existing]), hook];
  });
}
