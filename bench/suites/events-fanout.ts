/**
 * Event fan-out: 1,000 SSE subscribers on GET /v1/events/stream, events emitted at a steady rate,
 * delivery lag (receive time - event timestamp) and lost events. Nothing public makes a server emit
 * events yet (no runtime), so the server runs in this process and emits through services.events;
 * the subscribers run in child processes (this file again, with FANOUT_CLIENT set) so their parsing
 * does not share the server's event loop. Every phase is bounded by TIME_LIMIT_MS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.ts';
import { startServer } from '../../src/http/server.ts';
import { createServices } from '../../src/services/container.ts';
import { fmt, type BenchSection } from '../lib.ts';

const SUBSCRIBERS = Number(process.env.BENCH_FANOUT_SUBSCRIBERS ?? 1000);
const EVENTS = Number(process.env.BENCH_FANOUT_EVENTS ?? 2000);
const RATE = Number(process.env.BENCH_FANOUT_RATE ?? 100); // events per second, like a fast model streaming tokens
const CLIENT_PROCESSES = Number(process.env.BENCH_FANOUT_CLIENTS ?? 4);
const TIME_LIMIT_MS = 120_000;
/** How long subscribers may still receive after the last event was emitted before the rest counts as lost. */
const DRAIN_MS = 10_000;
/** Lag histogram: 0.1 ms buckets up to 10 s. */
const BUCKET_MS = 0.1;
const BUCKETS = 100_000;

interface ClientReport {
  received: number[];
  duplicates: number;
  outOfOrder: number;
  histogram: Array<[number, number]>;
}

/** Child side: opens `count` streams, counts events per stream and records each one's lag. */
async function runClient(url: string, count: number, expected: number): Promise<void> {
  const histogram = new Uint32Array(BUCKETS + 1);
  const received = new Array<number>(count).fill(0);
  let duplicates = 0;
  let outOfOrder = 0;
  const responses: IncomingMessage[] = [];
  await Promise.all(
    Array.from(
      { length: count },
      (_, index) =>
        new Promise<void>((resolve, reject) => {
          request(url, { agent: false }, (res) => {
            responses.push(res);
            let buffer = '';
            let last = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              const now = performance.timeOrigin + performance.now();
              buffer += chunk;
              let end: number;
              while ((end = buffer.indexOf('\n\n')) >= 0) {
                const block = buffer.slice(0, end);
                buffer = buffer.slice(end + 2);
                const id = /^id: (.+)$/m.exec(block)?.[1];
                const timestamp = /"timestamp":"([^"]+)"/.exec(block)?.[1];
                if (!id || !timestamp) continue;
                if (id === last) duplicates++;
                else if (id < last) outOfOrder++; // UUIDv7 ids sort in emit order
                last = id;
                received[index]!++;
                const lag = Math.max(0, now - Date.parse(timestamp));
                histogram[Math.min(BUCKETS, Math.floor(lag / BUCKET_MS))]!++;
              }
            });
            res.on('error', () => undefined);
            resolve();
          })
            .on('error', reject)
            .end();
        }),
    ),
  );
  process.stdout.write('ready\n');
  // Done when every stream has every event, or DRAIN_MS after the parent says all were emitted.
  let deadline = Date.now() + TIME_LIMIT_MS;
  process.stdin.once('data', () => (deadline = Math.min(deadline, Date.now() + DRAIN_MS)));
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (received.every((n) => n >= expected) || Date.now() > deadline) {
        clearInterval(check);
        resolve();
      }
    }, 20);
  });
  for (const res of responses) res.destroy();
  const report: ClientReport = { received, duplicates, outOfOrder, histogram: [...histogram.entries()].filter(([, n]) => n > 0) };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
}

interface Client {
  child: ChildProcess;
  ready: Promise<void>;
  report: Promise<ClientReport>;
}

function startClient(url: string, count: number): Client {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, FANOUT_CLIENT: JSON.stringify({ url, count, expected: EVENTS }) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let output = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const report = new Promise<ClientReport>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready\n')) markReady();
    });
    child.once('exit', (code) => {
      const line = output.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line) as ClientReport);
      else reject(new Error(`fan-out client exited with ${code}`));
    });
  });
  return { child, ready, report };
}

function percentileOf(histogram: Map<number, number>, total: number, p: number): number {
  const target = Math.ceil((p / 100) * total);
  let seen = 0;
  for (const bucket of [...histogram.keys()].sort((a, b) => a - b)) {
    seen += histogram.get(bucket)!;
    if (seen >= target) return (bucket + 1) * BUCKET_MS;
  }
  return Number.NaN;
}

function withTimeLimit<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${TIME_LIMIT_MS} ms`)), TIME_LIMIT_MS);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

export default async function eventsFanout(): Promise<BenchSection> {
  const home = mkdtempSync(join(tmpdir(), 'moxxy-bench-'));
  const config = await loadConfig({ cwd: home, env: { MOXXY_HOME: home }, overrides: { port: 0, logLevel: 'error', rateLimits: { enabled: false } } }); // 1,000 subscribers from one IP
  const server = await startServer(await createServices(config));
  const bus = server.services.events;
  const clients: Client[] = [];
  try {
    // emit() alone: per-token events with nobody listening, 200 in flight at a time.
    const soloCount = 20_000;
    const soloStart = performance.now();
    for (let i = 0; i < soloCount; i += 200) {
      await Promise.all(Array.from({ length: 200 }, (_, j) => bus.emit({ agent_id: 'bench', run_id: 'run_solo', event_type: 'model.stream', payload: { delta: `t${i + j}` } })));
    }
    const soloRate = soloCount / ((performance.now() - soloStart) / 1000);

    const load = loadavg()[0]!;
    const perClient = Math.ceil(SUBSCRIBERS / CLIENT_PROCESSES);
    for (let i = 0; i < CLIENT_PROCESSES; i++) {
      clients.push(startClient(`${server.url}/v1/events/stream?agent_id=fanout`, Math.min(perClient, SUBSCRIBERS - i * perClient)));
    }
    await withTimeLimit(
      (async () => {
        await Promise.all(clients.map((c) => c.ready));
        while (bus.subscriberCount < SUBSCRIBERS) await new Promise((r) => setTimeout(r, 10));
      })(),
      'connecting subscribers',
    );

    const intervalMs = 1000 / RATE;
    const started = performance.now();
    const emits: Promise<unknown>[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const due = started + i * intervalMs;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      emits.push(bus.emit({ agent_id: 'fanout', run_id: 'run_fanout', event_type: 'model.stream', payload: { delta: `token ${i}` } }));
    }
    await Promise.all(emits);
    const emitSeconds = (performance.now() - started) / 1000;
    for (const client of clients) client.child.stdin!.write('done\n');
    const reports = await withTimeLimit(Promise.all(clients.map((c) => c.report)), 'collecting deliveries');

    const histogram = new Map<number, number>();
    for (const report of reports) for (const [bucket, n] of report.histogram) histogram.set(bucket, (histogram.get(bucket) ?? 0) + n);
    const received = reports.flatMap((r) => r.received);
    const delivered = received.reduce((a, b) => a + b, 0);
    const lost = received.reduce((sum, n) => sum + Math.max(0, EVENTS - n), 0);
    const duplicates = reports.reduce((sum, r) => sum + r.duplicates + r.outOfOrder, 0);
    const max = (Math.max(...histogram.keys()) + 1) * BUCKET_MS;
    const p50 = percentileOf(histogram, delivered, 50);
    const p99 = percentileOf(histogram, delivered, 99);
    return {
      title: 'Event fan-out over SSE (target: p99 lag <= 100 ms, 0 lost)',
      markdown: [
        `${SUBSCRIBERS} subscribers on GET /v1/events/stream (node:http, ${CLIENT_PROCESSES} client processes, loopback); ` +
          `${EVENTS} model.stream events emitted at ${RATE}/s in the server process (took ${fmt(emitSeconds, 1)} s); ` +
          `lag = receive time - envelope timestamp; the database is a real libSQL file; 1-minute load average before the run: ${fmt(load, 1)}.`,
        '',
        '| deliveries | lag p50 ms | lag p99 ms | lag max ms | lost | duplicated or out of order |',
        '|---:|---:|---:|---:|---:|---:|',
        `| ${delivered} | ${fmt(p50, 1)} | ${fmt(p99, 1)} | ${fmt(max, 1)} | ${lost} | ${duplicates} |`,
        '',
        `emit() alone (stored, no subscribers, 200 in flight): ${fmt(soloRate, 0)} events/s.`,
      ].join('\n'),
    };
  } finally {
    for (const client of clients) client.child.kill();
    await Promise.all(clients.map((c) => c.report.catch(() => undefined)));
    await server.close();
    rmSync(home, { recursive: true, force: true });
  }
}

if (process.env.FANOUT_CLIENT) {
  const { url, count, expected } = JSON.parse(process.env.FANOUT_CLIENT) as { url: string; count: number; expected: number };
  await runClient(url, count, expected);
}
