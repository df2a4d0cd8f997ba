/**
 * Builds the web console (console/) into console/dist with Vite and records what it was made from
 * (scripts/console-build-info.ts). `npm install` runs it (the prepare script); `npm run build:console` by hand.
 * Prints each asset's size, raw and gzipped.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Rollup } from 'vite';
import { BUILD_INFO_FILE, CONSOLE_DIR, describeBuild, DIST_DIR, ROOT } from './console-build-info.ts';

let vite: typeof import('vite');
try {
  vite = await import('vite');
} catch {
  // An install without devDependencies: the API works, and / says how to build the console.
  process.stderr.write('build-console: vite is not installed (devDependencies omitted?), so the web console is not built; run `npm install` then `npm run build:console`\n');
  process.exit(0);
}

const result = await vite.build({ configFile: join(CONSOLE_DIR, 'vite.config.ts'), logLevel: 'warn' });
const outputs = (Array.isArray(result) ? result : [result]) as Rollup.RollupOutput[];
const moduleIds = outputs.flatMap((output) => output.output.flatMap((item) => (item.type === 'chunk' ? item.moduleIds : [])));
writeFileSync(join(DIST_DIR, BUILD_INFO_FILE), `${JSON.stringify(describeBuild(moduleIds), null, 2)}\n`);

const assetsDir = join(DIST_DIR, 'assets');
let total = 0;
let totalGzip = 0;
for (const name of readdirSync(assetsDir).sort()) {
  const file = join(assetsDir, name);
  const gzip = gzipSync(readFileSync(file), { level: 9 }).length;
  const { size } = statSync(file);
  total += size;
  totalGzip += gzip;
  process.stdout.write(`  ${relative(ROOT, file).padEnd(48)} ${(size / 1024).toFixed(1).padStart(7)} KiB  gzip ${(gzip / 1024).toFixed(1).padStart(6)} KiB\n`);
}
process.stdout.write(`web console built into ${relative(ROOT, DIST_DIR)}: ${(total / 1024).toFixed(1)} KiB, ${(totalGzip / 1024).toFixed(1)} KiB gzipped\n`);
