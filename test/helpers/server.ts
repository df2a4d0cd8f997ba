/** Starts a real server on loopback with its own data directory, and a REST client checked against openapi.json. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import superjson from 'superjson';
import { loadConfig } from '../../src/config/load.ts';
import { startServer, type RunningServer, type ServerOptions } from '../../src/http/server.ts';
import type { AppRouter } from '../../src/routers/app.ts';
import { createServices } from '../../src/services/container.ts';
import { assertMatchesOpenApi } from './openapi.ts';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is, for malformed or non-JSON bodies. */
  rawBody?: string | Uint8Array;
  headers?: Record<string, string>;
}

export type Api = ReturnType<typeof createApi>;

/** A fetch wrapper whose every response is validated against the OpenAPI document. */
export function createApi(baseUrl: string) {
  async function request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    let body: string | Uint8Array | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    const contentType = response.headers.get('content-type');
    const parsed = contentType?.includes('json') && text ? JSON.parse(text) : text;
    assertMatchesOpenApi(method, path, response.status, contentType, parsed);
    return { status: response.status, headers: response.headers, body: parsed as T };
  }
  return {
    request,
    get: <T = any>(path: string, options?: RequestOptions) => request<T>('GET', path, options),
    post: <T = any>(path: string, body?: unknown, options?: RequestOptions) => request<T>('POST', path, { ...options, body }),
    patch: <T = any>(path: string, body?: unknown, options?: RequestOptions) => request<T>('PATCH', path, { ...options, body }),
    put: <T = any>(path: string, body?: unknown, options?: RequestOptions) => request<T>('PUT', path, { ...options, body }),
    delete: <T = any>(path: string, options?: RequestOptions) => request<T>('DELETE', path, options),
  };
}

export function createTrpc(baseUrl: string) {
  return createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${baseUrl}/trpc`, transformer: superjson })] });
}

export interface TestServer extends RunningServer {
  home: string;
  api: Api;
  trpc: ReturnType<typeof createTrpc>;
}

export function makeTempHome(): string {
  return mkdtempSync(join(tmpdir(), 'moxxy-test-'));
}

/** A data directory outside /tmp, which sandboxes replace with their own: only there does a test see the sandbox hide it. */
export function makeHomeOutsideTmp(): string {
  return mkdtempSync(join('/var/tmp', 'moxxy-test-'));
}

/**
 * Rate limits are off unless the caller passes `rateLimits`: suites fire many requests fast. With no
 * `auth.internalToken` (MOXXY_INTERNAL_TOKEN) the loopback server is open to requests without credentials.
 */
export async function startTestServer(overrides: Record<string, unknown> = {}, env: Record<string, string> = {}, options: ServerOptions = {}): Promise<TestServer> {
  const home = makeTempHome();
  const server = await startTestServerIn(home, overrides, env, options);
  return {
    ...server,
    async close() {
      await server.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Like startTestServer, on a data directory the caller owns and removes (close keeps it), e.g. to restart on the same database. */
export async function startTestServerIn(
  home: string,
  overrides: Record<string, unknown> = {},
  env: Record<string, string> = {},
  options: ServerOptions = {},
): Promise<TestServer> {
  const config = await loadConfig({
    cwd: home,
    env: { MOXXY_HOME: home, ...env },
    overrides: { port: 0, logLevel: 'silent', rateLimits: { enabled: false }, ...overrides },
  });
  const server = await startServer(await createServices(config), options);
  return { ...server, home, api: createApi(server.url), trpc: createTrpc(server.url) };
}
