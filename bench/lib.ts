/** Shared benchmark plumbing: sections, percentiles, a real server in a child process, loopback load. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, type Agent } from 'node:http';
import { fileURLToPath } from 'node:url';

export interface BenchSection {
  title: string;
  /** Markdown: a table or a few lines of figures. */
  markdown: string;
}

export const MOXXY_BIN = fileURLToPath(new URL('../bin/moxxy.cjs', import.meta.url));

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

export function summarize(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN };
}

export const fmt = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

export interface ChildServer {
  url: string;
  child: ChildProcess;
  home: string;
  stop(): Promise<void>;
}

/**
 * Starts `moxxy serve` (or another script printing "listening on URL") on a free loopback port, with a data
 * directory of its own (MOXXY_HOME, removed by stop()).
 */
export function startChild(
  args: string[] = [MOXXY_BIN, 'serve'],
  env: Record<string, string> = {},
  /** Written to <home>/moxxy.config.json, which `moxxy serve` reads. */
  config?: Record<string, unknown>,
  /** The node to run it with (a peer may need another version). */
  node: string = process.execPath,
): Promise<ChildServer> {
  const home = mkdtempSync(join(tmpdir(), 'moxxy-bench-'));
  if (config) writeFileSync(join(home, 'moxxy.config.json'), JSON.stringify(config));
  const child = spawn(node, args, {
    env: { ...process.env, PORT: '0', MOXXY_HOME: home, MOXXY_LOG_LEVEL: 'error', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        child.stdout!.off('data', onData);
        resolve({
          url: match[1]!,
          child,
          home,
          stop: () =>
            new Promise((done) => {
              child.once('exit', () => {
                rmSync(home, { recursive: true, force: true });
                done();
              });
              child.kill('SIGTERM');
            }),
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code) => reject(new Error(`child exited with ${code}: ${output}`)));
  });
}

/** One POST over a kept-alive connection; resolves with the status once the whole answer is read. */
export function post(agent: Agent, url: URL, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end(body);
  });
}
