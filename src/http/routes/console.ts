/**
 * GET /: the web console (console/, a Preact app built by Vite into console/dist by `npm run build:console`, which
 * `npm install` runs). Its page and assets are served from here under a same-origin Content-Security-Policy; when
 * the build is missing, the page says how to make it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { AppError } from '../../domain/errors.ts';
import { defineRawRoute, type RawRouteSpec } from '../raw-routes.ts';

/** Same origin only, no inline script or style: the build emits every script, style and icon as a file. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export const CONSOLE_DIST = fileURLToPath(new URL('../../../console/dist/', import.meta.url));
/** Where the built page loads its assets from (Vite's `base`, see console/vite.config.ts). */
export const CONSOLE_ASSETS_PATH = '/console/assets';
export const BUILD_COMMAND = 'npm run build:console';

const CONTENT_TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  woff2: 'font/woff2',
};
/** Names Vite gives assets (`index-<hash>.js`): no directories, so no path leaves the assets folder. */
const ASSET_NAME = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.(js|css|svg|png|woff2)$/;

/** Why the console cannot be served from `dist`, or undefined when it can. */
export function consoleBuildProblem(dist: string = CONSOLE_DIST): string | undefined {
  if (existsSync(join(dist, 'index.html'))) return undefined;
  return `The web console is not built (no ${join(dist, 'index.html')}): run \`${BUILD_COMMAND}\` (npm install runs it), then reload /`;
}

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Moxxy console: not built</title></head>
<body>
  <h1>The Moxxy console is not built yet</h1>
  <p>The API is running. To build the console, run this in the server's directory, then reload this page:</p>
  <pre>${BUILD_COMMAND}</pre>
  <p><code>npm install</code> builds it too. Meanwhile the API reference is at <a href="/api/docs">/api/docs</a>.</p>
</body>
</html>
`;

/** The console's routes, serving the build in `dist`. */
export function createConsoleRoutes(dist: string = CONSOLE_DIST): RawRouteSpec[] {
  const assets = new Map<string, Buffer>();

  const page = defineRawRoute({
    id: 'system.console',
    method: 'GET',
    path: '/',
    tags: ['system'],
    summary: 'The web console',
    description:
      'An HTML page (Preact, built into console/dist) that manages agents, chat, runs and events, memory, skills and MCP, vault, ' +
      'channels, webhooks, heartbeats and tokens through this API, under a same-origin Content-Security-Policy. With an internal ' +
      'token configured it asks for a token and keeps a session cookie (POST /api/session). 503 with a page saying how to build it ' +
      'when the build is missing.',
    scope: null,
    rateLimit: false,
    responses: { 200: { description: 'The console', contentType: 'text/html', schema: z.string() } },
    rawErrors: { 503: { description: `The console is not built: the page says to run \`${BUILD_COMMAND}\``, contentType: 'text/html', schema: z.string() } },
    async handler(_input, _request, reply) {
      reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'no-cache' }).type('text/html; charset=utf-8');
      // Read at every request (it is small): a rebuild shows at the next reload, with no restart.
      let html: string;
      try {
        html = readFileSync(join(dist, 'index.html'), 'utf8');
      } catch {
        return reply.code(503).send(NOT_BUILT_PAGE);
      }
      return reply.send(html);
    },
  });

  const asset = defineRawRoute({
    id: 'system.consoleAsset',
    undocumented: true,
    method: 'GET',
    path: `${CONSOLE_ASSETS_PATH}/{file}`,
    tags: ['system'],
    summary: 'A script, style sheet or icon of the web console',
    description: 'Names carry a hash of their content, so they are cached for a year.',
    scope: null,
    rateLimit: false,
    request: { params: z.object({ file: z.string().max(200).describe('Asset file name, e.g. index-<hash>.js.') }) },
    responses: { 200: { description: 'The asset', contentType: 'application/octet-stream', schema: z.string() } },
    errors: ['ROUTE_NOT_FOUND'],
    async handler({ params }, request, reply) {
      const match = ASSET_NAME.exec(params.file);
      const path = request.url.split('?')[0]!;
      const notFound = () => new AppError('ROUTE_NOT_FOUND', `Route GET ${path} not found`, { method: 'GET', path });
      if (!match) throw notFound();
      let body = assets.get(params.file);
      if (!body) {
        try {
          body = await readFile(join(dist, 'assets', params.file));
        } catch {
          throw notFound();
        }
        assets.set(params.file, body);
      }
      return reply
        .headers({ ...SECURITY_HEADERS, 'cache-control': 'public, max-age=31536000, immutable' })
        .type(CONTENT_TYPES[match[1]!]!)
        .send(body);
    },
  });

  return [page, asset];
}

export const consoleRoutes = createConsoleRoutes();
