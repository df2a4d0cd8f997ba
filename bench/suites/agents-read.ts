/** Read path: REST GET /api/agents/default and tRPC agents.get against a bare node:http server with the same JSON. */
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { fmt, startChild, type BenchSection } from '../lib.ts';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const CONNECTIONS = 32;

interface Load {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(name: string, url: string): Promise<Load> {
  await autocannon({ url, connections: CONNECTIONS, duration: 1 }); // warm-up: JIT, caches
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S });
  return { name, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

export default async function agentsRead(): Promise<BenchSection> {
  // Load from one IP would hit the per-caller limits in a few ms: measured once without them and once
  // with them on but raised out of reach, which shows what counting costs.
  const moxxy = await startChild(undefined, {}, { rateLimits: { enabled: false } });
  const limited = await startChild(undefined, {}, { rateLimits: { enabled: true, read: 1_000_000_000 } });
  const restUrl = `${moxxy.url}/api/agents/default`;
  const body = await (await fetch(restUrl)).text();
  const trpcUrl = `${moxxy.url}/trpc/agents.get?input=${encodeURIComponent(JSON.stringify({ json: { name: 'default' } }))}`;
  const bare = await startChild(['--import', 'tsx', fileURLToPath(new URL('../bare-server.ts', import.meta.url))], { BARE_BODY: body });
  const bareFastify = await startChild(['--import', 'tsx', fileURLToPath(new URL('../bare-fastify.ts', import.meta.url))], { BARE_BODY: body });
  try {
    const baseline = await load('node:http, same JSON (baseline)', `${bare.url}/`);
    const framework = await load('fastify, one static route, same JSON (framework ceiling)', `${bareFastify.url}/`);
    const rest = await load('REST GET /api/agents/default', restUrl);
    const restLimited = await load('REST, rate limits counted', `${limited.url}/api/agents/default`);
    const trpc = await load('tRPC agents.get', trpcUrl);
    const rows = [baseline, framework, rest, restLimited, trpc].map(
      (r) => `| ${r.name} | ${fmt(r.rps, 0)} | ${fmt(r.p50, 0)} | ${fmt(r.p99, 0)} | ${fmt(r.rps / baseline.rps, 2)} | ${r.errors} |`,
    );
    return {
      title: 'Agent read path (target: REST >= 0.50 of node:http)',
      markdown: [
        `autocannon, ${CONNECTIONS} connections, ${DURATION_S} s each after a 1 s warm-up; servers in child processes on loopback; the database is a real libSQL file.`,
        '',
        '| target | req/s | p50 ms | p99 ms | ratio to node:http | errors |',
        '|---|---:|---:|---:|---:|---:|',
        ...rows,
        '',
        `Against the framework's own ceiling, the REST route runs at ${fmt(rest.rps / framework.rps, 2)} of a static fastify route. ` +
          'Per request it adds the auth, rate-limit and body hooks, the route lookup of the operation, zod parsing of the input and of the ' +
          'output (the response is checked against its schema), the agent lookup (cached) and the envelope. The tRPC path goes through ' +
          "tRPC's own request handling, batching and superjson, which is why REST calls the procedures directly. " +
          'Measured apart (server pinned to one core, CPU time per request): a fastify app pays about 7 µs more per request with 120 routes ' +
          'than with one, even on a static route — this server has about 150 — and the logger about 3 µs; successes are serialized by ' +
          'fast-json-stringify from the OpenAPI schemas (JSON.stringify took about 11 µs of this route).',
      ].join('\n'),
    };
  } finally {
    await Promise.all([moxxy.stop(), limited.stop(), bare.stop(), bareFastify.stop()]);
  }
}
