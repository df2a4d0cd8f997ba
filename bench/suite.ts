/** Runs one bench suite and prints its section as JSON on stdout: bench/run.ts starts each suite in a fresh process of its own. */
import type { BenchSection } from './lib.ts';

const file = process.argv[2];
if (!file) throw new Error('usage: suite.ts <file in bench/suites>');
const run = (await import(new URL(`./suites/${file}`, import.meta.url).href)).default as () => Promise<BenchSection>;
const section = await run();
process.stdout.write(`${JSON.stringify(section)}\n`);
process.exit(0);
