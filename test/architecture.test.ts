import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkArchitecture, PACKAGE_EXPORTS } from './helpers/architecture.ts';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const tree = Object.fromEntries(files(SRC).map((file) => [relative(SRC, file).split(sep).join('/'), readFileSync(file, 'utf8')]));
const layerOf = (path: string) => path.split('/')[0]!;

describe('architecture', () => {
  it('keeps dependencies pointing inward', () => {
    expect(checkArchitecture(tree).violations).toEqual([]);
  });

  it('has no import cycles (type-only imports aside)', () => {
    expect(checkArchitecture(tree).cycles).toEqual([]);
  });

  it('reads the package exports it resolves by name', () => {
    expect(PACKAGE_EXPORTS['moxxy-server']).toBe('index.ts');
    for (const target of Object.values(PACKAGE_EXPORTS)) expect(tree[target], target).toBeDefined();
  });

  it('fails on planted violations of every kind it checks', () => {
    const report = checkArchitecture({
      ...tree,
      'domain/planted-side-effect.ts': "import '../services/logger.ts';\n",
      'domain/planted-package-name.ts': "import type { AppRouter } from 'moxxy-server/router';\n",
      'domain/planted-dynamic.ts': "export const later = () => import('../http/sse.ts');\n",
      'routers/planted-db.ts': "import { agents } from '../db/schema.ts';\nexport { agents };\n",
      'config/planted-services.ts': "export * from '../services/system.ts';\n",
      'services/planted-router.ts': "export { appRouter } from '../routers/app.ts';\n",
      'http/planted-a.ts': "import { b } from './planted-b.ts';\nexport const a = () => b;\n",
      'http/planted-b.ts': "import { a } from './planted-a.ts';\nexport const b = () => a;\n",
      'http/planted-type-a.ts': "import type { B } from './planted-type-b.ts';\nexport type A = B[];\n",
      'http/planted-type-b.ts': "import type { A } from './planted-type-a.ts';\nexport type B = A | string;\n",
    });
    expect(report.violations).toEqual([
      "domain/planted-side-effect.ts imports ../services/logger.ts",
      "domain/planted-package-name.ts imports moxxy-server/router",
      "domain/planted-dynamic.ts imports ../http/sse.ts",
      "routers/planted-db.ts imports ../db/schema.ts",
      "config/planted-services.ts imports ../services/system.ts",
      "services/planted-router.ts imports ../routers/app.ts",
    ]);
    expect(report.cycles).toEqual([['http/planted-a.ts', 'http/planted-b.ts']]);
  });

  it('keeps the envelope and HTTP status codes out of routers and services', () => {
    const offenders = Object.keys(tree)
      .filter((path) => ['routers', 'services'].includes(layerOf(path)))
      .filter((path) => /success:\s*(true|false)|reply\.code\(|statusCode/.test(tree[path]!));
    expect(offenders).toEqual([]);
  });
});
