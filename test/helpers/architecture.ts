/**
 * The architecture rules of src/ as a check over source text, so test/architecture.test.ts can run it on the real
 * tree and on planted violations. Imports are read with TypeScript's parser: static, side-effect, re-exports and
 * dynamic `import()`, relative or by the package's own name.
 */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import ts from 'typescript';

/** Dependencies point inward: http -> routers -> services -> db/domain; config is read by services, http and the CLI. */
export const FORBIDDEN: Record<string, readonly string[]> = {
  domain: ['config', 'db', 'services', 'routers', 'http', 'cli'],
  config: ['db', 'services', 'routers', 'http', 'cli'],
  db: ['config', 'services', 'routers', 'http', 'cli'],
  services: ['routers', 'http', 'cli'],
  routers: ['db', 'config', 'http', 'cli'],
  http: ['cli'],
};

const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; exports: Record<string, string> };

/** package.json's `exports` as files under src/: a file importing its own package by name still imports src/. */
export const PACKAGE_EXPORTS: Record<string, string> = Object.fromEntries(
  Object.entries(PACKAGE.exports).map(([subpath, target]) => [posix.join(PACKAGE.name, subpath), target.replace(/^\.\/src\//, '')]),
);

export interface Import {
  specifier: string;
  /** `import type` / `export type`, or every named binding type-only: erased at run time, so no cycle. */
  typeOnly: boolean;
}

export function importsOf(path: string, text: string): Import[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: Import[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
      const typeOnly = !!clause && (clause.isTypeOnly || (!clause.name && !!named && named.length > 0 && named.every((element) => element.isTypeOnly)));
      found.push({ specifier: node.moduleSpecifier.text, typeOnly });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      found.push({ specifier: node.arguments[0].text, typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push({ specifier: node.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The src/-relative file an import names, or undefined for anything outside src/ (node:, npm packages). */
export function resolveImport(from: string, specifier: string): string | undefined {
  if (specifier in PACKAGE_EXPORTS) return PACKAGE_EXPORTS[specifier];
  if (!specifier.startsWith('.')) return undefined;
  const parts = from.split('/').slice(0, -1);
  for (const part of specifier.split('/')) {
    if (part === '..') parts.pop();
    else if (part !== '.') parts.push(part);
  }
  return parts.join('/');
}

const layerOf = (path: string) => path.split('/')[0]!;

export interface ArchitectureReport {
  /** `file imports specifier` for each import across a forbidden layer boundary. */
  violations: string[];
  /** Each import cycle (type-only imports left out), as its files. */
  cycles: string[][];
}

/** Checks src/ given as `{ 'domain/agents.ts': text, ... }`. */
export function checkArchitecture(files: Record<string, string>): ArchitectureReport {
  const violations: string[] = [];
  const graph = new Map<string, string[]>();
  for (const [path, text] of Object.entries(files)) {
    const edges: string[] = [];
    for (const { specifier, typeOnly } of importsOf(path, text)) {
      const target = resolveImport(path, specifier);
      if (target === undefined) continue;
      if (FORBIDDEN[layerOf(path)]?.includes(layerOf(target))) violations.push(`${path} imports ${specifier}`);
      if (!typeOnly && target in files) edges.push(target);
    }
    graph.set(path, edges);
  }
  return { violations, cycles: cyclesOf(graph) };
}

/** Strongly connected components of more than one file, or of one file importing itself (Tarjan). */
function cyclesOf(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (file: string) => {
    index.set(file, index.size);
    low.set(file, index.get(file)!);
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!index.has(next)) {
        connect(next);
        low.set(file, Math.min(low.get(file)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(file, Math.min(low.get(file)!, index.get(next)!));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || graph.get(file)!.includes(file)) cycles.push(component.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) connect(file);
  return cycles;
}
