/** Read path: REST GET /api/agents/default and tRPC agents.get against a bare node:http server with the same JSON. */
import { fileURLToPath } from 'node:url';
import autocannon, { type Result } from 'autocannon';
import { fmt, startChild, type BenchSection } from '../lib.ts';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
/**
 * Each target's time is split into rounds, and every round starts fresh server processes: on this kind of
 * machine a process can run its whole life 20-30% faster or slower than its twin, and the speed drifts over
 * minutes, so a target measured in one process at one time could skew its ratio either way. Medians of the
 * rounds are reported.
 */
const ROUNDS = 4;
/**
 * Within a round the targets are measured in passes of 1 s each, in turn and in alternating order (first to last, then
 * last to first), and each target's ratio is taken against the baseline of the same pass: a ratio then compares two
 * measurements made within seconds of each other, not the machine's speed at two different moments.
 */
const PASSES = Math.max(1, Math.round(DURATION_S / ROUNDS));
const CONNECTIONS = 32;

interface Load {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** The median of the passes' ratios to the baseline. */
  ratio: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

/** The servers of one round, and each target's URL on them. */
async function startRound(body: string) {
  const script = (name: string) => ['--import', 'tsx', fileURLToPath(new URL(`../${name}`, import.meta.url))];
  // Load from one IP would hit the per-caller limits in a few ms: measured once without them and once
  // with them on but raised out of reach, which shows what counting costs.
  const [moxxy, limited, bare, bareFastify] = await Promise.all([
    startChild(undefined, {}, { rateLimits: { enabled: false } }),
    startChild(undefined, {}, { rateLimits: { enabled: true, read: 1_000_000_000 } }),
    startChild(script('bare-server.ts'), { BARE_BODY: body }),
    startChild(script('bare-fastify.ts'), { BARE_BODY: body }),
  ]);
  const trpcInput = encodeURIComponent(JSON.stringify({ json: { name: 'default' } }));
  return {
    urls: [`${bare.url}/`, `${bareFastify.url}/`, `${moxxy.url}/api/agents/default`, `${limited.url}/api/agents/default`, `${moxxy.url}/trpc/agents.get?input=${trpcInput}`],
    stop: () => Promise.all([moxxy, limited, bare, bareFastify].map((server) => server.stop())),
  };
}

const NAMES = [
  'node:http, same JSON (baseline)',
  'fastify, one static route, same JSON (framework ceiling)',
  'REST GET /api/agents/default',
  'REST, rate limits counted',
  'tRPC agents.get',
];

/** The JSON of GET /api/agents/default on a fresh server: what the baselines answer. */
async function agentBody(): Promise<string> {
  const probe = await startChild(undefined, {}, { rateLimits: { enabled: false } });
  try {
    return await (await fetch(`${probe.url}/api/agents/default`)).text();
  } finally {
    await probe.stop();
  }
}

export default async function agentsRead(): Promise<BenchSection> {
  // The default agent's timestamps differ per server; the bytes (and so the work) are the same.
  const body = await agentBody();
  const results: Result[][] = NAMES.map(() => []);
  /** Per pass, each target's rate over the baseline's. */
  const ratios: number[][] = NAMES.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    const servers = await startRound(body);
    try {
      for (const url of servers.urls) await autocannon({ url, connections: CONNECTIONS, duration: 1 }); // warm-up: JIT, caches
      for (let pass = 0; pass < PASSES; pass++) {
        const order = [...servers.urls.keys()];
        if ((round * PASSES + pass) % 2 === 1) order.reverse();
        const rates: number[] = [];
        for (const i of order) {
          const result = await autocannon({ url: servers.urls[i]!, connections: CONNECTIONS, duration: 1 });
          results[i]!.push(result);
          rates[i] = result.requests.average;
        }
        for (const i of order) ratios[i]!.push(rates[i]! / rates[0]!);
      }
    } finally {
      await servers.stop();
    }
  }
  const loads: Load[] = NAMES.map((name, i) => ({
    name,
    rps: median(results[i]!.map((r) => r.requests.average)),
    p50: median(results[i]!.map((r) => r.latency.p50)),
    p99: median(results[i]!.map((r) => r.latency.p99)),
    errors: results[i]!.reduce((sum, r) => sum + r.errors + r.non2xx, 0),
    ratio: median(ratios[i]!),
  }));
  const [baseline, framework, rest, restLimited, trpc] = loads as [Load, Load, Load, Load, Load];
  const rows = [baseline, framework, rest, restLimited, trpc].map(
    (r) => `| ${r.name} | ${fmt(r.rps, 0)} | ${fmt(r.p50, 0)} | ${fmt(r.p99, 0)} | ${fmt(r.ratio, 2)} | ${r.errors} |`,
  );
  return {
    title: 'Agent read path (targets: tRPC >= 0.35, REST >= 0.70 of node:http)',
    markdown: [
      `autocannon, ${CONNECTIONS} connections, ${ROUNDS * PASSES} s per target after a 1 s warm-up, in ${ROUNDS} rounds that each start fresh servers and take the targets in turn, ${PASSES} passes of 1 s in alternating order (medians shown; a ratio is the median of each pass's ratio to the baseline measured in the same pass); servers in child processes on loopback; the database is a real libSQL file.`,
      '',
      '| target | req/s | p50 ms | p99 ms | ratio to node:http | errors |',
      '|---|---:|---:|---:|---:|---:|',
      ...rows,
      '',
      `Against the framework's own ceiling, the REST route runs at ${fmt(rest.rps / framework.rps, 2)} of a static fastify route. ` +
        "Per request it runs the route's auth hook (and the rate-limit hook when limits are on), zod parsing of the input, the agent " +
        'lookup (cached) and the envelope. The cached agent is frozen, so the body checked against the output schema and serialized ' +
        '(fast-json-stringify, from the OpenAPI schemas) for it is sent again until the agent changes. Fastify\'s per-request logger is ' +
        'off; failures are logged by the server\'s own. tRPC answers from fastify\'s request on its fast path (src/http/trpc-http.ts): ' +
        'the procedure\'s middlewares, superjson in and out, tRPC\'s error shape, and for a frozen result its checked and serialized answer kept.',
    ].join('\n'),
  };
}
