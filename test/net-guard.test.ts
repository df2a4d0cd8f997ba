/** The SSRF guard against DNS rebinding, over real loopback connections (no msw: fetch and its dispatcher are the real ones). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchGuarded, type NetGuardOptions } from '../src/services/net-guard.ts';

let server: Server;
let port: number;
const connections: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => response.end(`hello from ${request.headers.host}`));
  server.on('connection', (socket) => connections.push(socket.remoteAddress ?? '?'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A resolver answering each name from a list of answers, one per question, repeating the last. */
function resolver(answers: Record<string, string[]>) {
  const asked: string[] = [];
  const lookup: NetGuardOptions['lookup'] = async (host) => {
    asked.push(host);
    const list = answers[host] ?? [];
    const address = list[Math.min(asked.filter((h) => h === host).length, list.length) - 1];
    if (!address) throw new Error(`ENOTFOUND ${host}`);
    return [{ address, family: address.includes(':') ? 6 : 4 }];
  };
  return { lookup, asked };
}

describe('guarded fetches connect to the address the guard checked', () => {
  it('refuses a name that answers the check with a public address and the connection with loopback', async () => {
    const { lookup, asked } = resolver({ 'rebind.test': ['93.184.216.34', '127.0.0.1'] });
    const guard: NetGuardOptions = { allowPrivateNetwork: false, allowHttpLoopback: false, lookup };
    connections.length = 0;
    const failure = await fetchGuarded(`https://rebind.test:${port}/`, { guard, timeoutMs: 3000, maxBytes: 1024 }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'URL_NOT_ALLOWED', details: { reason: expect.stringContaining('now resolves to 127.0.0.1') } });
    // The name was asked twice (the check, then the connection), and nothing reached the loopback server.
    expect(asked).toEqual(['rebind.test', 'rebind.test']);
    expect(connections).toEqual([]);
  });

  it('connects through the guard\'s own resolver, so a name only it knows reaches the server it names', async () => {
    const { lookup } = resolver({ 'dev.test': ['127.0.0.1'] });
    const guard: NetGuardOptions = { allowPrivateNetwork: false, allowHttpLoopback: true, lookup };
    connections.length = 0;
    const page = await fetchGuarded(`http://dev.test:${port}/page`, { guard, timeoutMs: 3000, maxBytes: 1024 });
    expect(page.body).toBe(`hello from dev.test:${port}`);
    expect(connections).toEqual(['127.0.0.1']);
  });
});
