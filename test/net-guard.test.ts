/** The SSRF guard against DNS rebinding, over real loopback connections (no msw: fetch and its dispatcher are the real ones). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPublicAddress, type NetGuardOptions } from '../src/services/net-guard.ts';
import { fetchGuarded } from '../src/services/outbound-http.ts';

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

/**
 * The classifier against the IANA special-purpose address registries (IPv4 and IPv6): one row per registry entry (an
 * address inside it), plus public addresses on either side of the edges, and the IPv6 forms that embed an IPv4 one.
 */
const CLASSIFIED: Array<[address: string, isPublic: boolean, why: string]> = [
  ['0.0.0.0', false, 'this host on this network'],
  ['0.1.2.3', false, '"this network" 0.0.0.0/8'],
  ['10.0.0.1', false, 'private 10/8'],
  ['100.64.0.1', false, 'shared address space 100.64/10'],
  ['100.127.255.254', false, 'shared address space, last address'],
  ['100.128.0.1', true, 'just past 100.64/10'],
  ['127.0.0.1', false, 'loopback'],
  ['127.255.255.254', false, 'loopback /8'],
  ['169.254.169.254', false, 'link-local (cloud metadata)'],
  ['172.16.0.1', false, 'private 172.16/12'],
  ['172.31.255.254', false, 'private 172.16/12, last block'],
  ['172.32.0.1', true, 'just past 172.16/12'],
  ['192.0.0.9', false, 'IETF protocol assignments 192.0.0/24'],
  ['192.0.2.1', false, 'TEST-NET-1'],
  ['192.31.196.1', false, 'AS112-v4'],
  ['192.52.193.1', false, 'AMT'],
  ['192.88.99.1', false, '6to4 relay anycast'],
  ['192.168.1.1', false, 'private 192.168/16'],
  ['192.175.48.1', false, 'direct delegation AS112'],
  ['198.18.0.1', false, 'benchmarking 198.18/15'],
  ['198.19.255.254', false, 'benchmarking, second /16'],
  ['198.51.100.7', false, 'TEST-NET-2'],
  ['203.0.113.9', false, 'TEST-NET-3'],
  ['224.0.0.1', false, 'multicast'],
  ['240.0.0.1', false, 'reserved 240/4'],
  ['255.255.255.255', false, 'limited broadcast'],
  ['1.1.1.1', true, 'public'],
  ['93.184.216.34', true, 'public'],
  ['8.8.8.8', true, 'public'],
  ['::', false, 'unspecified'],
  ['::1', false, 'loopback'],
  ['::ffff:127.0.0.1', false, 'IPv4-mapped loopback'],
  ['::ffff:10.1.2.3', false, 'IPv4-mapped private'],
  ['::ffff:8.8.8.8', true, 'IPv4-mapped public, judged as 8.8.8.8'],
  ['::7f00:1', false, 'IPv4-compatible loopback (deprecated ::/96)'],
  ['::ffff:0:7f00:1', false, 'IPv4-translated (RFC 6145)'],
  ['64:ff9b::7f00:1', false, 'NAT64 well-known prefix'],
  ['64:ff9b:1::a00:1', false, 'local-use NAT64 64:ff9b:1::/48'],
  ['100::1', false, 'discard-only 100::/64'],
  ['2001::1', false, 'Teredo'],
  ['2001:2::1', false, 'benchmarking'],
  ['2001:10::1', false, 'ORCHID'],
  ['2001:20::1', false, 'ORCHIDv2'],
  ['2001:db8::1', false, 'documentation'],
  ['2002:7f00:1::1', false, '6to4 embedding 127.0.0.1'],
  ['3fff::1', false, 'documentation 3fff::/20'],
  ['5f00::1', false, 'SRv6 SIDs'],
  ['fc00::1', false, 'unique local'],
  ['fd12:3456::1', false, 'unique local'],
  ['fe80::1', false, 'link-local'],
  ['fec0::1', false, 'deprecated site-local'],
  ['ff02::1', false, 'multicast'],
  ['2606:4700:4700::1111', true, 'public'],
  ['2a00:1450:4001::200e', true, 'public'],
  ['not-an-address', false, 'not an address at all'],
];

describe('the address classifier follows the IANA special-purpose registries', () => {
  it.each(CLASSIFIED)('%s is public: %s (%s)', (address, isPublic) => {
    expect(isPublicAddress(address)).toBe(isPublic);
  });
});
