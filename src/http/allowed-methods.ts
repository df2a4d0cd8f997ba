/** Which methods a path answers, from every route registered: what a 405 lists in its Allow header. */
import type { FastifyInstance } from 'fastify';
import { methodsOf } from './route-hooks.ts';

/** A fastify route URL as a pattern for concrete paths: `:name` is one segment, `*` the rest; a trailing slash is ignored. */
function patternOf(url: string): RegExp {
  const body = url
    .replace(/\/$/, '')
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body}/?$`);
}

/** Starts recording routes (install before any is registered); the function answers a path's methods, sorted. */
export function recordAllowedMethods(app: FastifyInstance): (path: string) => string[] {
  const routes: Array<{ pattern: RegExp; methods: string[] }> = [];
  app.addHook('onRoute', (route) => {
    routes.push({ pattern: patternOf(route.url), methods: methodsOf(route) });
  });
  return (path) => {
    const allowed = new Set<string>();
    for (const route of routes) if (route.pattern.test(path)) for (const method of route.methods) allowed.add(method);
    return [...allowed].sort();
  };
}
