/**
 * Start-up and memory: `moxxy serve` spawned on an existing database (created by a first start) until
 * GET /api/health answers 200, and the process's resident memory once it has been idle a moment. Measured for the
 * compiled server (dist/server, what `npm install` builds) and for the TypeScript sources through tsx (what runs when
 * the build is stale), against a bare `node` process printing its own RSS as the floor.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, MOXXY_BIN, summarize, type BenchSection } from '../lib.ts';

const STARTS = Number(process.env.BENCH_STARTS ?? 7);
const IDLE_MS = 2000;
const TARGET_START_MS = 400;
const TARGET_RSS_MB = 100;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
/** CPU time (user + system) the process has used, in ms: unlike wall time, barely moved by other load on the machine. */
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
};

/** One start: spawn to the first 200 from /api/health, then RSS after IDLE_MS of nothing. */
async function startOnce(home: string, env: Record<string, string>): Promise<{ ms: number; cpu: number; rss: number }> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [MOXXY_BIN, 'serve'], {
    env: { ...process.env, MOXXY_HOME: home, PORT: String(port), MOXXY_LOG_LEVEL: 'error', ...env },
    stdio: 'ignore',
  });
  try {
    let ms = NaN;
    let cpu = NaN;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`moxxy serve exited with ${child.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${port}/api/health`).then((r) => r.status === 200, () => false);
      if (ok) {
        ms = performance.now() - started;
        cpu = cpuMs(child.pid!);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    return { ms, cpu, rss: rssMb(child.pid!) };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

async function measure(env: Record<string, string>) {
  const home = mkdtempSync(join(tmpdir(), 'moxxy-bench-start-'));
  try {
    await startOnce(home, env); // creates the database, applies migrations, makes the default agent
    const runs: { ms: number; cpu: number; rss: number }[] = [];
    for (let i = 0; i < STARTS; i++) runs.push(await startOnce(home, env));
    return { start: summarize(runs.map((r) => r.ms)), cpu: summarize(runs.map((r) => r.cpu)), rss: summarize(runs.map((r) => r.rss)) };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** A bare node process's RSS: what no server can go below. */
function nodeFloorMb(): number {
  const out = spawnSync(process.execPath, ['-e', 'setTimeout(() => console.log(process.memoryUsage().rss), 200)'], { encoding: 'utf8' });
  return Number(out.stdout.trim()) / 1024 / 1024;
}

export default async function startup(): Promise<BenchSection> {
  const compiled = await measure({});
  const sources = await measure({ MOXXY_NO_BUILD: '1' });
  const floor = nodeFloorMb();
  const row = (name: string, r: typeof compiled) =>
    `| ${name} | ${r.start.n} | ${fmt(r.start.p50, 0)} | ${fmt(r.start.max, 0)} | ${fmt(r.cpu.p50, 0)} | ${fmt(r.rss.p50, 0)} | ${fmt(r.rss.max, 0)} |`;
  return {
    title: `Start-up and memory (target: start <= ${TARGET_START_MS} ms, idle RSS <= ${TARGET_RSS_MB} MB)`,
    markdown: [
      `\`moxxy serve\` spawned ${STARTS} times on an existing database (after one start that created it); start = spawn to the first ` +
        `200 from GET /api/health (polled every 5 ms), CPU to start = the process's user + system time then (10 ms ticks), RSS = VmRSS ${IDLE_MS / 1000} s later, idle. A bare \`node\` process is ${fmt(floor, 0)} MB.`,
      '',
      '| server | starts | start p50 ms | start max ms | CPU to start p50 ms | idle RSS p50 MB | idle RSS max MB |',
      '|---|---:|---:|---:|---:|---:|---:|',
      row('compiled (dist/server)', compiled),
      row('TypeScript sources through tsx (MOXXY_NO_BUILD=1)', sources),
      '',
      `Compiled: start p50 ${fmt(compiled.start.p50, 0)} ms (target <= ${TARGET_START_MS} ms ${compiled.start.p50 <= TARGET_START_MS ? 'met' : 'NOT met'}), ` +
        `idle RSS p50 ${fmt(compiled.rss.p50, 0)} MB (target <= ${TARGET_RSS_MB} MB ${compiled.rss.p50 <= TARGET_RSS_MB ? 'met' : 'NOT met'}).`,
    ].join('\n'),
  };
}
