/**
 * Requests a browser may have been tricked into sending.
 *
 * - DNS rebinding: a page on attacker.example whose name is made to resolve to 127.0.0.1 reaches an open loopback
 *   server as same-origin, but its requests still say `Host: attacker.example`. In open mode (no internal token,
 *   loopback bind) only loopback names and `http.allowedHosts` are answered; others get 421 HOST_NOT_ALLOWED.
 *   With an internal token every request is authenticated, so the name a request was sent to grants nothing and
 *   is not checked (a public server answers whatever name its proxy uses).
 * - Cross-site requests (CSRF): a page elsewhere may make the browser send a form POST or open an EventSource to this
 *   server. A request that changes state or starts a run is refused (403 CROSS_SITE_REQUEST) when the browser says
 *   it is cross-site (`Sec-Fetch-Site`), or when its `Origin` is neither this server's own origin nor a loopback or
 *   allowed name — in every mode, whatever credentials it carries. Requests without these headers (curl, SDKs) and
 *   plain reads (a link to /api/docs) are not affected.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.ts';
import { isLoopbackHost } from '../domain/hosts.ts';
import { addRouteHook, routePolicyOf } from './route-hooks.ts';

/** The name of a Host header value, without its port: `[::1]:80` -> `[::1]`, `Localhost:80` -> `localhost`. */
function nameOf(host: string): string {
  const end = host.startsWith('[') ? host.indexOf(']') + 1 : host.indexOf(':');
  return (end > 0 ? host.slice(0, end) : host).toLowerCase();
}

export interface OriginGuardOptions {
  /** Whether requests without credentials are let through (open loopback mode): only then is the Host checked. */
  checkHost: boolean;
  allowedHosts: readonly string[];
}

export function installOriginGuard(app: FastifyInstance, { checkHost, allowedHosts }: OriginGuardOptions): void {
  const allowed = new Set(allowedHosts);
  const isAllowedName = (name: string) => isLoopbackHost(name) || allowed.has(name);

  if (checkHost) {
    // Every request, routed or not: the name decides whether this server answers at all.
    let lastAllowed: string | undefined;
    app.addHook('onRequest', (request, _reply, done) => {
      const host = request.headers.host ?? '';
      if (host === lastAllowed) return done();
      const name = nameOf(host);
      if (!isAllowedName(name)) {
        return done(new AppError('HOST_NOT_ALLOWED', `Host '${name}' is not allowed: this server answers loopback names and http.allowedHosts only`, { host: name }));
      }
      lastAllowed = host;
      done();
    });
  }

  /** Why a request looks cross-site, or undefined. */
  const crossSiteSignal = (request: FastifyRequest): Record<string, string> | undefined => {
    const site = request.headers['sec-fetch-site'];
    if (site === 'cross-site') return { sec_fetch_site: site };
    const { origin } = request.headers;
    if (origin === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      // `Origin: null`: a sandboxed frame, a file, a redirect from elsewhere.
      return { origin };
    }
    if (url.host === request.headers.host?.toLowerCase() || isAllowedName(url.hostname)) return undefined;
    return { origin };
  };

  // Routes that only read are left alone; /trpc declares no policy and is guarded whole, as its GETs include
  // subscriptions that start runs.
  addRouteHook(app, 'onRequest', (route) => {
    if (routePolicyOf(route)?.changesState === false) return undefined;
    return (request, _reply, done) => {
      const signal = crossSiteSignal(request);
      if (!signal) return done();
      done(new AppError('CROSS_SITE_REQUEST', 'A cross-site request may not change state or start runs', signal));
    };
  });
}
