/**
 * Lints the OpenAPI document the code emits (the same text as openapi/openapi.json) with Redocly's
 * `recommended` ruleset. Exits 1 on any error; warnings are listed. Usage: npm run lint:openapi
 */
import { pathToFileURL } from 'node:url';
import { createConfig, lintFromString, type NormalizedProblem } from '@redocly/openapi-core';
import { renderOpenApiFile } from '../src/http/openapi-document.ts';

export interface LintReport {
  errors: NormalizedProblem[];
  warnings: NormalizedProblem[];
}

export async function lintOpenApi(source = renderOpenApiFile()): Promise<LintReport> {
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({ source, absoluteRef: 'openapi/openapi.json', config });
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
  const { errors, warnings } = await lintOpenApi();
  for (const problem of [...errors, ...warnings]) console.log(formatProblem(problem));
  console.log(`openapi.json: ${errors.length} error(s), ${warnings.length} warning(s) (Redocly recommended ruleset)`);
  process.exitCode = errors.length ? 1 : 0;
}
