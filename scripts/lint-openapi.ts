/**
 * Lints the OpenAPI documents the code emits (the same texts as openapi/openapi.json and each dialect's document) with
 * Redocly's `recommended` ruleset. Exits 1 on any error; warnings are listed. Usage: npm run lint:openapi
 */
import { pathToFileURL } from 'node:url';
import { createConfig, lintFromString, type NormalizedProblem } from '@redocly/openapi-core';
import { renderOpenApiFile } from '../src/http/openapi-document.ts';
import { OPENAPI_FILES } from '../src/http/openapi-files.ts';

export interface LintReport {
  errors: NormalizedProblem[];
  warnings: NormalizedProblem[];
}

export async function lintOpenApi(source = renderOpenApiFile(), absoluteRef = 'openapi/openapi.json'): Promise<LintReport> {
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({ source, absoluteRef, config });
  return {
    errors: problems.filter((problem) => problem.severity === 'error'),
    warnings: problems.filter((problem) => problem.severity === 'warn'),
  };
}

export function formatProblem(problem: NormalizedProblem): string {
  const where = problem.location[0]?.pointer ?? '';
  return `${problem.severity.padEnd(5)} ${problem.ruleId}: ${problem.message} (${where})`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  let failed = false;
  for (const { path, render } of OPENAPI_FILES) {
    const { errors, warnings } = await lintOpenApi(render(), path);
    for (const problem of [...errors, ...warnings]) console.log(formatProblem(problem));
    console.log(`${path}: ${errors.length} error(s), ${warnings.length} warning(s) (Redocly recommended ruleset)`);
    failed ||= errors.length > 0;
  }
  process.exitCode = failed ? 1 : 0;
}
