/**
 * Requests fetch will not send as asked (any Host, TRACE, a source address of our choosing), over node:http.
 * Like server.api, every JSON answer outside /trpc is checked against openapi.json.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { assertMatchesOpenApi } from './openapi.ts';

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** The client's source address, e.g. 127.0.0.2 to be another client on loopback. */
  localAddress?: string;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: any;
}

export function rawRequest(baseUrl: string, { method = 'GET', path, headers = {}, body, localAddress }: RawRequest): Promise<RawResponse> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method, path: `${url.pathname}${url.search}`, headers, localAddress, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const contentType = res.headers['content-type'] ?? null;
          const parsed = contentType?.includes('json') && text ? JSON.parse(text) : text;
          try {
            // tRPC answers in its own shape, which openapi.json does not describe.
            if (!url.pathname.startsWith('/trpc/')) assertMatchesOpenApi(method, path, res.statusCode!, contentType, parsed);
          } catch (error) {
            return reject(error);
          }
          resolve({ status: res.statusCode!, headers: res.headers, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
