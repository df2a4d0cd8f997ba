/**
 * The SSRF guard for URLs that users and models choose (skill installs, web_crawler, MCP servers over HTTP), and the
 * fetch that applies it to every hop and at connect time; requests reach it through src/services/outbound-http.ts.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import type { LookupAddress } from 'node:dns';
import ipaddr from 'ipaddr.js';
import type { Agent } from 'undici';
import { AppError } from '../domain/errors.ts';

export type HostLookup = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export interface NetGuardOptions {
  /** Let private, loopback, link-local and metadata addresses through. */
  allowPrivateNetwork: boolean;
  /** Let plain http:// (and https://) reach loopback addresses, for local development. */
  allowHttpLoopback: boolean;
  /**
   * URL prefixes the operator trusts (configuration, never a caller): they may be plain http and on any
   * address. Matched per hop, at a path boundary.
   */
  trustedUrls?: readonly string[];
  /** Injectable so tests can decide what a name resolves to. */
  lookup?: HostLookup;
}

const defaultLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/**
 * Address ranges that are not the public internet, from the IANA special-purpose registries (IPv4:
 * iana-ipv4-special-registry; IPv6: iana-ipv6-special-registry), every entry, globally reachable or not: a URL
 * someone else chose has no business with any of them. Checked against test/net-guard.test.ts's table.
 */
const SPECIAL_IPV4 = [
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8', // private
  '100.64.0.0/10', // shared address space (carrier-grade NAT)
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local (cloud metadata)
  '172.16.0.0/12', // private
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // documentation (TEST-NET-1)
  '192.31.196.0/24', // AS112-v4
  '192.52.193.0/24', // AMT
  '192.88.99.0/24', // deprecated 6to4 relay anycast
  '192.168.0.0/16', // private
  '192.175.48.0/24', // direct delegation AS112
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // documentation (TEST-NET-2)
  '203.0.113.0/24', // documentation (TEST-NET-3)
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, and the limited broadcast 255.255.255.255
].map((cidr) => ipaddr.IPv4.parseCIDR(cidr));

/**
 * IPv6 is public only inside global unicast (2000::/3, which excludes ::/128, ::1, the IPv4-mapped, IPv4-compatible
 * and translated forms under ::/8, 64:ff9b::/96, 64:ff9b:1::/48, 100::/64, fc00::/7, fe80::/10, fec0::/10, ff00::/8),
 * and then outside these special-purpose blocks. Forms that embed an IPv4 address (6to4, Teredo, NAT64) are refused
 * outright: each can smuggle a private one.
 */
const GLOBAL_UNICAST_IPV6 = ipaddr.IPv6.parseCIDR('2000::/3');
const SPECIAL_IPV6 = [
  '2001::/23', // IETF protocol assignments (Teredo 2001::/32, benchmarking 2001:2::/48, ORCHID ...)
  '2001:db8::/32', // documentation
  '2002::/16', // 6to4
  '3fff::/20', // documentation
].map((cidr) => ipaddr.IPv6.parseCIDR(cidr));

function parsed(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const bare = address.replace(/^\[|\]$/g, '');
  if (!ipaddr.isValid(bare)) return undefined;
  const ip = ipaddr.parse(bare);
  // ::ffff:a.b.c.d is the IPv4 address a.b.c.d to the socket layer: judge it as one.
  return ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress() ? (ip as ipaddr.IPv6).toIPv4Address() : ip;
}

export function isLoopbackAddress(address: string): boolean {
  return parsed(address)?.range() === 'loopback';
}

/** Whether an address is on the public internet: not private, loopback, link-local, reserved or any other special-purpose range. */
export function isPublicAddress(address: string): boolean {
  const ip = parsed(address);
  if (!ip) return false;
  if (ip.kind() === 'ipv4') return !SPECIAL_IPV4.some((range) => (ip as ipaddr.IPv4).match(range));
  const v6 = ip as ipaddr.IPv6;
  return v6.match(GLOBAL_UNICAST_IPV6) && !SPECIAL_IPV6.some((range) => v6.match(range));
}

function refuse(url: URL, reason: string): AppError {
  return new AppError('URL_NOT_ALLOWED', `URL not allowed: ${reason}`, { url: url.href, reason });
}

/** A failure of the remote side (network, HTTP status, size, time), as opposed to a refused URL. */
export class OutboundFetchError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'OutboundFetchError';
  }
}

/** The addresses a name resolves to, through the guard's resolver; OutboundFetchError when there are none. */
async function resolve(host: string, options: NetGuardOptions): Promise<string[]> {
  let addresses: string[];
  try {
    addresses = (await (options.lookup ?? defaultLookup)(host)).map((entry) => entry.address);
  } catch {
    throw new OutboundFetchError(`cannot resolve ${host}`);
  }
  if (addresses.length === 0) throw new OutboundFetchError(`cannot resolve ${host}`);
  return addresses;
}

/** Whether a connection may go to these addresses (all of them, as a client may try any). */
function reachable(addresses: string[], options: NetGuardOptions): { allowed: true } | { allowed: false; blocked: string } {
  if (options.allowPrivateNetwork || (options.allowHttpLoopback && addresses.every(isLoopbackAddress))) return { allowed: true };
  const blocked = addresses.find((address) => !isPublicAddress(address));
  return blocked === undefined ? { allowed: true } : { allowed: false, blocked };
}

/** Whether the operator listed a prefix of this URL (at a path boundary: `https://a.example/mcp` does not cover `https://a.example/mcp-admin`). */
export function isTrustedUrl(url: URL, trusted: readonly string[] = []): boolean {
  return trusted.some((prefix) => {
    const base = new URL(prefix);
    if (base.origin !== url.origin) return false;
    const path = base.pathname.replace(/\/+$/, '');
    return url.pathname === path || url.pathname.startsWith(`${path}/`) || path === '';
  });
}

/** Throws URL_NOT_ALLOWED unless the URL is https (or allowed loopback http) and every address it resolves to may be reached. */
export async function assertUrlAllowed(url: URL, options: NetGuardOptions): Promise<void> {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refuse(url, `${url.protocol} URLs are not supported; use https`);
  if (isTrustedUrl(url, options.trustedUrls)) return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : await resolve(host, options);
  if (url.protocol === 'http:' && !(options.allowHttpLoopback && addresses.every(isLoopbackAddress))) {
    throw refuse(url, 'plain http is refused; use https');
  }
  const verdict = reachable(addresses, options);
  if (!verdict.allowed) throw refuse(url, `${host} resolves to ${verdict.blocked}, a private, loopback, link-local or reserved address`);
}

/**
 * Connections for guarded requests resolve names through the guard, at connect time, and refuse what it
 * refuses: the address checked is the address connected to. Without this, a name could answer the guard with
 * a public address and the connection with a private one a moment later (DNS rebinding).
 */
const dispatchers = new WeakMap<NetGuardOptions, Agent>();
/** undici's Agent, loaded by the first guarded request rather than at start-up. */
let undiciAgent: Promise<typeof Agent> | undefined;

async function dispatcherFor(options: NetGuardOptions): Promise<Agent> {
  let dispatcher = dispatchers.get(options);
  if (!dispatcher) {
    const Agent = await (undiciAgent ??= import('undici').then((undici) => undici.Agent));
    dispatcher = dispatchers.get(options);
    if (dispatcher) return dispatcher;
    const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
      resolve(hostname, options).then(
        (addresses) => {
          const verdict = reachable(addresses, options);
          if (!verdict.allowed) {
            const reason = `${hostname} now resolves to ${verdict.blocked}, a private, loopback, link-local or reserved address`;
            return callback(new ConnectRefused(reason), '', 0);
          }
          const entries = addresses.map((address) => ({ address, family: isIP(address) }));
          if (lookupOptions.all) (callback as unknown as (error: null, entries: LookupAddress[]) => void)(null, entries);
          else callback(null, entries[0]!.address, entries[0]!.family);
        },
        (error: Error) => callback(error, '', 0),
      );
    };
    dispatcher = new Agent({ connect: { lookup } });
    dispatchers.set(options, dispatcher);
  }
  return dispatcher;
}

/** The dispatcher for one hop: the guard's, or none (fetch's own) for a URL the operator trusts. */
async function hopDispatcher(url: URL, options: NetGuardOptions): Promise<Agent | undefined> {
  return isTrustedUrl(url, options.trustedUrls) ? undefined : dispatcherFor(options);
}

/** The guard refusing a connection's address; fetchGuarded turns it into URL_NOT_ALLOWED for the URL it was fetching. */
class ConnectRefused extends Error {}

/** The guard's refusal behind a failed fetch (fetch wraps connection errors as `cause`), if that is why it failed. */
function refusalIn(error: unknown): ConnectRefused | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (current instanceof ConnectRefused) return current;
  }
  return undefined;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 3;

/**
 * fetch, any method, for a URL that someone else chose: the guard checks every hop, and the connection resolves
 * names through the guard too (dispatcherFor), so a name cannot change its answer between the check and the
 * connection. Redirects are followed by hand (303, and 301/302 after a POST, continue as a GET). A refusal
 * throws URL_NOT_ALLOWED for the hop refused; anything else is fetch's own failure.
 */
export async function guardedFetch(url: string | URL, init: RequestInit, guard: NetGuardOptions): Promise<Response> {
  let current = new URL(url);
  let request = init;
  for (let hop = 0; ; hop += 1) {
    await assertUrlAllowed(current, guard);
    let response: Response;
    try {
      // `dispatcher` is undici's option, passed through by Node's fetch.
      response = await fetch(current, { ...request, redirect: 'manual', dispatcher: await hopDispatcher(current, guard) } as RequestInit);
    } catch (error) {
      const refused = refusalIn(error);
      if (refused) throw refuse(current, refused.message);
      throw error;
    }
    if (!REDIRECT_STATUSES.has(response.status)) return response;
    discard(response);
    const location = response.headers.get('location');
    if (!location) throw new OutboundFetchError(`${current.href} answered ${response.status} without a Location`, response.status);
    if (hop >= MAX_REDIRECTS) throw new OutboundFetchError(`more than ${MAX_REDIRECTS} redirects from ${new URL(url).href}`);
    current = new URL(location, current);
    const method = (request.method ?? 'GET').toUpperCase();
    if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
      request = { ...request, method: 'GET', body: null };
    }
  }
}

/** Frees the connection without waiting: a cancelled body need not settle (it does not when the response is teed, as msw does). */
export function discard(response: Response): void {
  void response.body?.cancel().catch(() => undefined);
}
