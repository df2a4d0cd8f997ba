/** Read path: REST GET /api/agents/default and tRPC agents.get against a bare node:http server with the same JSON. */
import { fileURLToPath } from 'node:url';
import autocannon, { type Result } from 'autocannon';
import { fmt, startChild, type BenchSection } from '../lib.ts';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
/** Each target's time is split into rounds taken in turn, so a machine whose speed drifts during the run skews every target alike. */
const ROUNDS = 4;
const CONNECTIONS = 32;

interface Target {
  name: string;
  url: string;
}

interface Load {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

async function measure(targets: Target[]): Promise<Load[]> {
  for (const target of targets) await autocannon({ url: target.url, connections: CONNECTIONS, duration: 1 }); // warm-up: JIT, caches
  const rounds = targets.map(() => [] as Result[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, target] of targets.entries()) {
      rounds[i]!.push(await autocannon({ url: target.url, connections: CONNECTIONS, duration: DURATION_S / ROUNDS }));
    }
  }
  return targets.map((target, i) => ({
    name: target.name,
    rps: median(rounds[i]!.map((r) => r.requests.average)),
    p50: median(rounds[i]!.map((r) => r.latency.p50)),
    p99: median(rounds[i]!.map((r) => r.latency.p99)),
    errors: rounds[i]!.reduce((sum, r) => sum + r.errors + r.non2xx, 0),
  }));
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
    const [baseline, framework, rest, restLimited, trpc] = (await measure([
      { name: 'node:http, same JSON (baseline)', url: `${bare.url}/` },
      { name: 'fastify, one static route, same JSON (framework ceiling)', url: `${bareFastify.url}/` },
      { name: 'REST GET /api/agents/default', url: restUrl },
      { name: 'REST, rate limits counted', url: `${limited.url}/api/agents/default` },
      { name: 'tRPC agents.get', url: trpcUrl },
    ])) as [Load, Load, Load, Load, Load];
    const rows = [baseline, framework, rest, restLimited, trpc].map(
      (r) => `| ${r.name} | ${fmt(r.rps, 0)} | ${fmt(r.p50, 0)} | ${fmt(r.p99, 0)} | ${fmt(r.rps / baseline.rps, 2)} | ${r.errors} |`,
    );
    return {
      title: 'Agent read path (target: REST >= 0.50 of node:http)',
      markdown: [
        `autocannon, ${CONNECTIONS} connections, ${DURATION_S} s per target after a 1 s warm-up, in ${ROUNDS} rounds that take the targets in turn (medians shown); servers in child processes on loopback; the database is a real libSQL file.`,
        '',
        '| target | req/s | p50 ms | p99 ms | ratio to node:http | errors |',
        '|---|---:|---:|---:|---:|---:|',
        ...rows,
        '',
        `Against the framework's own ceiling, the REST route runs at ${fmt(rest.rps / framework.rps, 2)} of a static fastify route. ` +
          "Per request it runs the route's auth hook (and the rate-limit hook when limits are on), zod parsing of the input, the agent " +
          'lookup (cached) and the envelope. The cached agent is frozen, so the body checked against the output schema and serialized ' +
          '(fast-json-stringify, from the OpenAPI schemas) for it is sent again until the agent changes. Fastify\'s per-request logger is ' +
          'off; failures are logged by the server\'s own. The tRPC path goes through tRPC\'s own request handling, batching and superjson, ' +
          'which is why REST calls the procedures directly.',
      ].join('\n'),
    };
  } finally {
    await Promise.all([moxxy.stop(), limited.stop(), bare.stop(), bareFastify.stop()]);
  }
}
