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

/** What is started: `moxxy serve`, or the floor (a bare node:http server answering 200 to everything). */
type Target = 'moxxy' | 'floor';
/** The least any node server can do: node's own start, an http server listening, one answer. */
const FLOOR_SCRIPT =
  "require('node:http').createServer((q, s) => s.end('{}')).listen(Number(process.env.PORT), '127.0.0.1')";

/** One start: spawn to the first 200 from /api/health, then RSS after IDLE_MS of nothing (`idle: false` skips that). */
async function startOnce(target: Target, home: string, env: Record<string, string | undefined>, idle = true): Promise<{ ms: number; cpu: number; rss: number }> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, target === 'moxxy' ? [MOXXY_BIN, 'serve'] : ['-e', FLOOR_SCRIPT], {
    env: withEnv({ ...process.env, MOXXY_HOME: home, PORT: String(port), MOXXY_LOG_LEVEL: 'error' }, env),
    stdio: 'ignore',
  });
  try {
    let ms = NaN;
    let cpu = NaN;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${target} exited with ${child.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${port}/api/health`).then((r) => r.status === 200, () => false);
      if (ok) {
        ms = performance.now() - started;
        cpu = cpuMs(child.pid!);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    if (idle) await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    return { ms, cpu, rss: rssMb(child.pid!) };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

/** process.env with `changes` applied: a value sets a variable, undefined removes it. */
function withEnv(base: NodeJS.ProcessEnv, changes: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env = { ...base };
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/**
 * STARTS starts of `moxxy serve` (after one that creates the database), each followed by one of the floor, so both
 * see the same phases of the machine's speed.
 */
async function measure(env: Record<string, string | undefined>) {
  const home = mkdtempSync(join(tmpdir(), 'moxxy-bench-start-'));
  try {
    await startOnce('moxxy', home, env); // creates the database, applies migrations, makes the default agent
    const runs: { ms: number; cpu: number; rss: number }[] = [];
    const floor: number[] = [];
    for (let i = 0; i < STARTS; i++) {
      runs.push(await startOnce('moxxy', home, env));
      floor.push((await startOnce('floor', home, env, false)).ms);
    }
    const own = runs.map((run, i) => run.ms - floor[i]!);
    return {
      start: summarize(runs.map((r) => r.ms)),
      cpu: summarize(runs.map((r) => r.cpu)),
      rss: summarize(runs.map((r) => r.rss)),
      floor: summarize(floor),
      own: summarize(own),
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** A bare node process's RSS: what no server can go below. */
function nodeFloorMb(): number {
  const out = spawnSync(process.execPath, ['-e', 'setTimeout(() => console.log(process.memoryUsage().rss), 200)'], { encoding: 'utf8' });
  return Number(out.stdout.trim()) / 1024 / 1024;
}

/**
 * NODE_EXTRA_CA_CERTS makes every node process parse that file's certificates before it runs any code (node 20 does
 * it at start-up, ~40 ms for a distribution's whole bundle); when the bench runs with it, the compiled server is
 * measured without it as well, which is how most machines start it.
 */
const EXTRA_CA = process.env.NODE_EXTRA_CA_CERTS;

export default async function startup(): Promise<BenchSection> {
  const compiled = await measure({});
  const withoutCa = EXTRA_CA ? await measure({ NODE_EXTRA_CA_CERTS: undefined }) : undefined;
  const sources = await measure({ MOXXY_NO_BUILD: '1' });
  const floorRss = nodeFloorMb();
  const row = (name: string, r: typeof compiled) =>
    `| ${name} | ${r.start.n} | ${fmt(r.start.p50, 0)} | ${fmt(r.start.max, 0)} | ${fmt(r.floor.p50, 0)} | ${fmt(r.own.p50, 0)} | ${fmt(r.cpu.p50, 0)} | ${fmt(r.rss.p50, 0)} | ${fmt(r.rss.max, 0)} |`;
  const verdict = (r: typeof compiled) => `start p50 ${fmt(r.start.p50, 0)} ms (target <= ${TARGET_START_MS} ms ${r.start.p50 <= TARGET_START_MS ? 'met' : 'NOT met'})`;
  return {
    title: `Start-up and memory (target: start <= ${TARGET_START_MS} ms, idle RSS <= ${TARGET_RSS_MB} MB)`,
    markdown: [
      `\`moxxy serve\` spawned ${STARTS} times on an existing database (after one start that created it); start = spawn to the first ` +
        `200 from GET /api/health (polled every 5 ms), CPU to start = the process's user + system time then (10 ms ticks), RSS = VmRSS ${IDLE_MS / 1000} s later, idle. ` +
        `The floor: a bare node:http server answering the same request, started after each start of the server (same polling); ` +
        `the server's own = start minus the floor, start by start. A bare \`node\` process is ${fmt(floorRss, 0)} MB.`,
      '',
      '| server | starts | start p50 ms | start max ms | floor p50 ms | server\'s own p50 ms | CPU to start p50 ms | idle RSS p50 MB | idle RSS max MB |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      row('compiled (dist/server)', compiled),
      ...(withoutCa ? [row('compiled, without NODE_EXTRA_CA_CERTS', withoutCa)] : []),
      row('TypeScript sources through tsx (MOXXY_NO_BUILD=1)', sources),
      '',
      `Compiled: ${verdict(compiled)}, idle RSS p50 ${fmt(compiled.rss.p50, 0)} MB (target <= ${TARGET_RSS_MB} MB ${compiled.rss.p50 <= TARGET_RSS_MB ? 'met' : 'NOT met'}).` +
        (withoutCa
          ? ` This run has NODE_EXTRA_CA_CERTS=${EXTRA_CA}, which every node process reads before running any code: the floor ` +
            `starts in ${fmt(compiled.floor.p50, 0)} ms with it and ${fmt(withoutCa.floor.p50, 0)} ms without; without it, ${verdict(withoutCa)}.`
          : ''),
    ].join('\n'),
  };
}
