import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  return [...source.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => (m[1] ?? m[2])!);
}

function layerOf(file: string): string {
  return relative(SRC, file).split('/')[0]!;
}

/** Dependencies point inward: http -> routers -> services -> db/domain; domain depends on nothing. */
const FORBIDDEN: Record<string, string[]> = {
  domain: ['config', 'db', 'services', 'routers', 'http', 'cli'],
  db: ['services', 'routers', 'http', 'cli'],
  services: ['routers', 'http', 'cli'],
  routers: ['http', 'cli'],
  http: ['cli'],
};

describe('architecture', () => {
  it('keeps dependencies pointing inward', () => {
    const violations: string[] = [];
    for (const file of files(SRC)) {
      const layer = layerOf(file);
      for (const specifier of importsOf(file)) {
        if (!specifier.startsWith('.')) continue;
        const target = layerOf(join(file, '..', specifier));
        if (FORBIDDEN[layer]?.includes(target)) violations.push(`${relative(SRC, file)} imports ${specifier}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('keeps the envelope and HTTP status codes out of routers and services', () => {
    const offenders = files(SRC)
      .filter((file) => ['routers', 'services'].includes(layerOf(file)))
      .filter((file) => /success:\s*(true|false)|reply\.code\(|statusCode/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(SRC, file));
    expect(offenders).toEqual([]);
  });
});
