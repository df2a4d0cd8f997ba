/** `npm run bench`: runs every suite in bench/suites (or those named on the command line), prints and records them. */
import { readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { BenchSection } from './lib.ts';

const only = process.argv.slice(2);
const dir = new URL('./suites/', import.meta.url);
const suites = readdirSync(dir)
  .filter((file) => file.endsWith('.ts'))
  .sort()
  .filter((file) => only.length === 0 || only.some((name) => file.startsWith(name)));

const sections: BenchSection[] = [];
for (const file of suites) {
  process.stderr.write(`bench: ${file}...\n`);
  const run = (await import(new URL(file, dir).href)).default as () => Promise<BenchSection>;
  const section = await run();
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
