/**
 * `npm run bench`: runs every suite in bench/suites (or those named on the command line), prints and records
 * them. Each suite runs in a process of its own, so none inherits the heap, sockets or timers of the one before.
 */
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchSection } from './lib.ts';

const only = process.argv.slice(2);
const dir = new URL('./suites/', import.meta.url);
const suites = readdirSync(dir)
  .filter((file) => file.endsWith('.ts'))
  .sort()
  .filter((file) => only.length === 0 || only.some((name) => file.startsWith(name)));

/** Runs bench/suite.ts for one suite file; its last stdout line is the section as JSON. */
function runSuite(file: string): Promise<BenchSection> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./suite.ts', import.meta.url)), file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`bench suite ${file} exited with ${code}`));
      resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as BenchSection);
    });
  });
}

const sections: BenchSection[] = [];
for (const file of suites) {
  process.stderr.write(`bench: ${file}...\n`);
  const section = await runSuite(file);
  process.stdout.write(`\n## ${section.title}\n\n${section.markdown}\n`);
  sections.push(section);
}

const header = [
  '# Benchmark results',
  '',
  `Recorded by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}.`,
  'Each figure comes from one run on this machine; ratios compare against a baseline measured in the same run.',
  '',
].join('\n');
if (only.length === 0) {
  writeFileSync(new URL('./RESULTS.md', import.meta.url), `${header}\n${sections.map((s) => `## ${s.title}\n\n${s.markdown}\n`).join('\n')}`);
  process.stderr.write('bench: wrote bench/RESULTS.md\n');
}
