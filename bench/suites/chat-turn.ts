/**
 * Chat-turn latency: sequential POST /api/agents/default/chat turns on the echo provider (model time ~0), each in a
 * new session, against a bare node:http server answering the same JSON to the same client. The difference is
 * what the server adds to a turn: routing, validation, the run (session, messages, run row, events) and the envelope.
 */
import { Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { fmt, post, startChild, summarize, type BenchSection } from '../lib.ts';

const TURNS = Number(process.env.BENCH_TURNS ?? 500);
const WARMUP_TURNS = 50;
/** Each target stops early after this long, so the suite stays bounded on a slow machine. */
const TIME_LIMIT_MS = Number(process.env.BENCH_TURN_TIME_S ?? 60) * 1000;
const TARGET_P50_MS = 2;
const TARGET_P99_MS = 5;

async function measureTurns(target: string) {
  const url = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const turn = (i: number) => post(agent, url, JSON.stringify({ message: `Turn ${i}: what is on my calendar today?` }));
  try {
    for (let i = 0; i < WARMUP_TURNS; i++) await turn(i);
    const samples: number[] = [];
    let errors = 0;
    const deadline = performance.now() + TIME_LIMIT_MS;
    for (let i = 0; i < TURNS && performance.now() < deadline; i++) {
      const started = performance.now();
      const status = await turn(i);
      samples.push(performance.now() - started);
      if (status !== 200) errors += 1;
    }
    return { ...summarize(samples), errors };
  } finally {
    agent.destroy();
  }
}

export default async function chatTurn(): Promise<BenchSection> {
  const moxxy = await startChild(undefined, {}, { rateLimits: { enabled: false } }); // turns come faster than 10/s
  const chatUrl = `${moxxy.url}/api/agents/default/chat`;
  const sample = await (await fetch(chatUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'warm' }) })).text();
  const bare = await startChild(['--import', 'tsx', fileURLToPath(new URL('../bare-server.ts', import.meta.url))], { BARE_BODY: sample });
  try {
    const baseline = await measureTurns(`${bare.url}/`);
    const turns = await measureTurns(chatUrl);
    const added = { p50: turns.p50 - baseline.p50, p95: turns.p95 - baseline.p95, p99: turns.p99 - baseline.p99 };
    const row = (name: string, r: typeof turns) => `| ${name} | ${r.n} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${r.errors} |`;
    return {
      title: `Chat turn latency (target: server-added p50 <= ${TARGET_P50_MS} ms, p99 <= ${TARGET_P99_MS} ms)`,
      markdown: [
        `${TURNS} sequential turns per target (after ${WARMUP_TURNS} warm-up turns, at most ${TIME_LIMIT_MS / 1000} s), one kept-alive connection, ` +
          'a new session per turn, echo provider; servers in child processes on loopback, real libSQL file. Latency is client-side round trip.',
        '',
        '| target | turns | p50 ms | p95 ms | p99 ms | max ms | errors |',
        '|---|---:|---:|---:|---:|---:|---:|',
        row('node:http, same JSON (baseline)', baseline),
        row('POST /api/agents/default/chat', turns),
        '',
        `Server-added (moxxy − baseline): p50 ${fmt(added.p50)} ms, p95 ${fmt(added.p95)} ms, p99 ${fmt(added.p99)} ms — ` +
          `target p50 <= ${TARGET_P50_MS} ms ${added.p50 <= TARGET_P50_MS ? 'met' : 'NOT met'}, p99 <= ${TARGET_P99_MS} ms ${added.p99 <= TARGET_P99_MS ? 'met' : 'NOT met'}.`,
      ].join('\n'),
    };
  } finally {
    await Promise.all([moxxy.stop(), bare.stop()]);
  }
}
