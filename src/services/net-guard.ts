/**
 * Outbound requests to URLs that users and models choose (skill installs, web_crawler): the SSRF guard,
 * and the one GET that applies it to every hop, caps the body and bounds the time.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { LookupAddress } from 'node:dns';
import ky, { type Options } from 'ky';
import { Agent } from 'undici';
import { AppError } from '../domain/errors.ts';

export type HostLookup = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export interface NetGuardOptions {
  /** Let private, loopback, link-local and metadata addresses through. */
  allowPrivateNetwork: boolean;
  /** Let plain http:// (and https://) reach loopback addresses, for local development. */
  allowHttpLoopback: boolean;
  /** Injectable so tests can decide what a name resolves to. */
  lookup?: HostLookup;
}

const defaultLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Everything that is not the public internet: private, loopback, link-local (cloud metadata), unspecified, reserved. */
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
// BlockList checks IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) against the IPv4 rules. NAT64 and 6to4 addresses are
// refused outright: each can smuggle a private IPv4 address.
for (const [network, prefix] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');

const familyOf = (address: string) => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

export function isLoopbackAddress(address: string): boolean {
  return LOOPBACK.check(address, familyOf(address));
}

export function isPublicAddress(address: string): boolean {
  return !NOT_PUBLIC.check(address, familyOf(address));
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

/** Throws URL_NOT_ALLOWED unless the URL is https (or allowed loopback http) and every address it resolves to may be reached. */
export async function assertUrlAllowed(url: URL, options: NetGuardOptions): Promise<void> {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refuse(url, `${url.protocol} URLs are not supported; use https`);
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

function dispatcherFor(options: NetGuardOptions): Agent {
  let dispatcher = dispatchers.get(options);
  if (!dispatcher) {
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

/** The guard refusing a connection's address; fetchGuarded turns it into URL_NOT_ALLOWED for the URL it was fetching. */
class ConnectRefused extends Error {}

/** The guard's refusal behind a failed fetch (fetch wraps connection errors as `cause`), if that is why it failed. */
function refusalIn(error: unknown): ConnectRefused | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (current instanceof ConnectRefused) return current;
  }
  return undefined;
}

export interface GuardedGet {
  guard: NetGuardOptions;
  /** For the whole exchange, body included. */
  timeoutMs: number;
  maxBytes: number;
  /** Past maxBytes: fail (default) or keep the first maxBytes and say so. */
  overflow?: 'fail' | 'truncate';
  signal?: AbortSignal;
}

export interface FetchedBody {
  url: string;
  contentType: string;
  body: string;
  truncated: boolean;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 3;

/**
 * GETs a URL that someone else chose. Redirects are followed by hand so the guard checks every hop, and the
 * connection resolves names through the guard too (dispatcherFor), so a name cannot change its answer between
 * the check and the connection.
 */
export async function fetchGuarded(url: string, options: GuardedGet): Promise<FetchedBody> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let current = new URL(url);
  try {
    for (let hop = 0; ; hop += 1) {
      await assertUrlAllowed(current, options.guard);
      const response = await ky.get(current, {
        redirect: 'manual',
        throwHttpErrors: false,
        retry: 0,
        timeout: false,
        signal,
        // Passed through to fetch (undici's option).
        dispatcher: dispatcherFor(options.guard),
      } as Options);
      if (REDIRECT_STATUSES.has(response.status)) {
        discard(response);
        const location = response.headers.get('location');
        if (!location) throw new OutboundFetchError(`${current.href} answered ${response.status} without a Location`, response.status);
        if (hop >= MAX_REDIRECTS) throw new OutboundFetchError(`more than ${MAX_REDIRECTS} redirects from ${url}`);
        current = new URL(location, current);
        continue;
      }
      if (!response.ok) {
        discard(response);
        throw new OutboundFetchError(`${current.href} answered HTTP ${response.status}`, response.status);
      }
      const { bytes, truncated } = await readCapped(response, current, options);
      return { url: current.href, contentType: response.headers.get('content-type') ?? '', body: new TextDecoder().decode(bytes), truncated };
    }
  } catch (error) {
    if (timeout.aborted && !options.signal?.aborted) throw new OutboundFetchError(`${current.href} did not answer within ${options.timeoutMs} ms`);
    if (error instanceof AppError || error instanceof OutboundFetchError || options.signal?.aborted) throw error;
    const refused = refusalIn(error);
    if (refused) throw refuse(current, refused.message);
    throw new OutboundFetchError(`${current.href} could not be fetched: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Frees the connection without waiting: a cancelled body need not settle (it does not when the response is teed, as msw does). */
function discard(response: Response): void {
  void response.body?.cancel().catch(() => undefined);
}

async function readCapped(response: Response, url: URL, options: GuardedGet): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const tooLarge = () => new OutboundFetchError(`${url.href} is larger than ${options.maxBytes} bytes`);
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (options.overflow !== 'truncate' && declared > options.maxBytes) {
    discard(response);
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (!response.body) return { bytes: new Uint8Array(), truncated: false };
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > options.maxBytes) {
      void reader.cancel().catch(() => undefined);
      if (options.overflow !== 'truncate') throw tooLarge();
      chunks.push(value.subarray(0, options.maxBytes - size));
      return { bytes: Buffer.concat(chunks), truncated: true };
    }
    chunks.push(value);
    size += value.byteLength;
  }
  return { bytes: Buffer.concat(chunks), truncated: false };
}
