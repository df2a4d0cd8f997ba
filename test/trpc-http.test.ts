/**
 * /trpc's fast path (src/http/trpc-http.ts) against tRPC's own fastify handler: two servers with the same
 * configuration, one with the fast path and one without, get the same requests in the same order, and must answer
 * with the same status, the headers that matter and the same body (ids and times, which differ between two
 * databases, are masked).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import superjson from 'superjson';
import { startTestServer, type TestServer } from './helpers/server.ts';

const TOKEN = 'differential-test-internal-token-0123456789';
const HEADERS = ['content-type', 'vary', 'www-authenticate', 'allow', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'retry-after'];

interface Probe {
  method: 'GET' | 'POST' | 'HEAD';
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

interface Answer {
  status: number;
  headers: Record<string, string | null>;
  body: unknown;
}

/** Ids (`agt_…`, UUIDv7 suffixes), ISO times and health's timings differ between two servers; everything else must not. */
function masked(text: string): unknown {
  const normalized = text
    .replace(/"(latency_ms|uptime_s)":[\d.]+/g, '"$1":0')
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g, '<time>')
    .replace(/\b([a-z]+_)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '$1<id>');
  try {
    return JSON.parse(normalized);
  } catch {
    return normalized;
  }
}

async function send(server: TestServer, probe: Probe): Promise<Answer> {
  const response = await fetch(`${server.url}${probe.path}`, { method: probe.method, body: probe.body, headers: probe.headers });
  const isStream = response.headers.get('content-type')?.startsWith('text/event-stream');
  // A subscription's stream never ends by itself: its status and headers are what is compared.
  const body = isStream ? (await response.body?.cancel(), '<stream>') : masked(await response.text());
  return { status: response.status, headers: Object.fromEntries(HEADERS.map((name) => [name, response.headers.get(name)])), body };
}

const input = (value: unknown) => encodeURIComponent(JSON.stringify(superjson.serialize(value)));
const batchInput = (...values: unknown[]) => encodeURIComponent(JSON.stringify(Object.fromEntries(values.map((v, i) => [i, superjson.serialize(v)]))));
const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

/** Starts the pair, sends every probe to both in turn (fast path first), and returns the answers side by side. */
async function differential(config: Record<string, unknown>, probes: Probe[], headers: Record<string, string> = {}) {
  const fast = await startTestServer(config);
  const reference = await startTestServer(config, {}, { trpcFastPath: false });
  try {
    const pairs: { probe: Probe; fast: Answer; reference: Answer }[] = [];
    for (const probe of probes) {
      const withHeaders = { ...probe, headers: { ...headers, ...probe.headers } };
      pairs.push({ probe, fast: await send(fast, withHeaders), reference: await send(reference, withHeaders) });
    }
    return pairs;
  } finally {
    await Promise.all([fast.close(), reference.close()]);
  }
}

const OPEN_PROBES: Probe[] = [
  { method: 'GET', path: `/trpc/agents.get?input=${input({ name: 'default' })}` },
  { method: 'GET', path: `/trpc/agents.get,agents.list?batch=1&input=${batchInput({ name: 'default' }, { limit: 5 })}` },
  { method: 'GET', path: `/trpc/agents.list` },
  { method: 'GET', path: `/trpc/agents.list?batch=1` },
  { method: 'GET', path: `/trpc/system.health` },
  // Errors from the procedure: not found, bad input, batches whose calls answer differently (207).
  { method: 'GET', path: `/trpc/agents.get?input=${input({ name: 'nobody' })}` },
  { method: 'GET', path: `/trpc/agents.get?input=${input({ name: 'Not A Slug!' })}` },
  { method: 'GET', path: `/trpc/agents.get?input=${input({})}` },
  { method: 'GET', path: `/trpc/agents.get,agents.get?batch=1&input=${batchInput({ name: 'default' }, { name: 'nobody' })}` },
  { method: 'GET', path: `/trpc/agents.get,agents.get?batch=1&input=${batchInput({ name: 'nobody' }, { name: 'nobody2' })}` },
  // Inputs carrying superjson annotations (a Date, an undefined), which the fast path applies to the parsed JSON in place.
  { method: 'GET', path: `/trpc/agents.get?input=${input({ name: new Date(0) })}` },
  { method: 'GET', path: `/trpc/agents.get,agents.list?batch=1&input=${batchInput({ name: 'default', other: undefined }, { limit: 5, at: new Date(0) })}` },
  // Malformed input text and batch input shapes.
  { method: 'GET', path: `/trpc/agents.get?input=%7Bnot-json` },
  { method: 'GET', path: `/trpc/agents.get,agents.list?batch=1&input=${encodeURIComponent('[1,2]')}` },
  { method: 'GET', path: `/trpc/agents.get?batch=1&input=${encodeURIComponent('"text"')}` },
  // Mutations, single and batched, then what they changed.
  { method: 'POST', path: '/trpc/agents.create', ...json(superjson.serialize({ name: 'helper', description: 'Helps' })) },
  { method: 'POST', path: '/trpc/agents.create', ...json(superjson.serialize({ name: 'helper', description: 'Again' })) },
  {
    method: 'POST',
    path: '/trpc/agents.update,agents.create?batch=1',
    ...json({ 0: superjson.serialize({ name: 'helper', description: 'Changed' }), 1: superjson.serialize({ name: 'BAD NAME' }) }),
  },
  { method: 'GET', path: `/trpc/agents.get?input=${input({ name: 'helper' })}` },
  { method: 'POST', path: '/trpc/agents.delete', ...json(superjson.serialize({ name: 'helper' })) },
  { method: 'POST', path: '/trpc/agents.create', body: '{"json":', headers: { 'content-type': 'application/json' } },
  { method: 'POST', path: '/trpc/agents.create', body: '', headers: { 'content-type': 'application/json' } },
  // What the fast path leaves to tRPC: unknown procedures, wrong methods, other content types, HEAD, subscriptions.
  { method: 'GET', path: '/trpc/agents.nothing' },
  { method: 'GET', path: `/trpc/agents.get,agents.nothing?batch=1&input=${batchInput({ name: 'default' })}` },
  { method: 'GET', path: `/trpc/agents.create?input=${input({ name: 'x' })}` },
  { method: 'POST', path: '/trpc/agents.get', ...json(superjson.serialize({ name: 'default' })) },
  { method: 'POST', path: '/trpc/agents.create', body: 'name=x', headers: { 'content-type': 'text/plain' } },
  { method: 'POST', path: '/trpc/agents.create', body: superjson.stringify({ name: 'x' }) },
  { method: 'HEAD', path: '/trpc/agents.list' },
  { method: 'GET', path: `/trpc/agents.get?input=${input({ name: 'default' })}`, headers: { 'trpc-accept': 'application/jsonl' } },
  { method: 'GET', path: `/trpc/agents.get?batch=1&input=${batchInput({ name: 'default' })}`, headers: { 'trpc-accept': 'application/jsonl' } },
  { method: 'GET', path: `/trpc/events.stream?input=${input({ agent_id: 'default' })}` },
  { method: 'GET', path: `/trpc/agents%2Eget?input=${input({ name: 'default' })}` },
];

describe('/trpc fast path answers as tRPC does', () => {
  it('on an open loopback server: queries, batches, mutations, errors and what falls back', async () => {
    for (const { probe, fast, reference } of await differential({}, OPEN_PROBES)) {
      expect({ probe, ...fast }).toEqual({ probe, ...reference });
    }
  });

  it('with auth and rate limits: 401 with WWW-Authenticate, 403, limit headers and 429', async () => {
    const probes: Probe[] = [
      { method: 'GET', path: `/trpc/agents.get?input=${input({ name: 'default' })}`, headers: { 'x-moxxy-internal-token': '' } },
      { method: 'GET', path: `/trpc/agents.get?input=${input({ name: 'default' })}`, headers: { authorization: 'Bearer mox_wrong' } },
      { method: 'GET', path: '/trpc/system.health', headers: { 'x-moxxy-internal-token': '' } },
      ...Array.from({ length: 4 }, (): Probe => ({ method: 'GET', path: `/trpc/agents.get?input=${input({ name: 'default' })}` })),
      { method: 'GET', path: `/trpc/agents.get,agents.list?batch=1&input=${batchInput({ name: 'default' }, {})}` },
    ];
    const pairs = await differential({ auth: { internalToken: TOKEN }, rateLimits: { enabled: true, read: 3 } }, probes, { 'x-moxxy-internal-token': TOKEN });
    for (const { probe, fast, reference } of pairs) expect({ probe, ...fast }).toEqual({ probe, ...reference });
    // The comparison means something only if these cases really happened.
    expect(pairs.map((pair) => pair.fast.status)).toContain(401);
    expect(pairs.map((pair) => pair.fast.status)).toContain(429);
    expect(pairs[0]!.fast.headers['www-authenticate']).toBeTruthy();
  });
});
