import { describe, expect, it } from 'vitest';
import { formatProblem, lintOpenApi } from '../scripts/lint-openapi.ts';

describe('OpenAPI lint (Redocly recommended ruleset)', () => {
  it('finds no errors in the document the code emits', async () => {
    const { errors } = await lintOpenApi();
    expect(errors.map(formatProblem)).toEqual([]);
  });

  it('reports a broken document as errors, so a clean result means something', async () => {
    const broken = JSON.stringify({ openapi: '3.1.0', info: { title: 'x', version: '1' }, paths: { '/x': { get: { responses: { 200: { $ref: '#/components/responses/Missing' } } } } } });
    const { errors } = await lintOpenApi(broken);
    expect(errors.map((problem) => problem.ruleId)).toEqual(expect.arrayContaining(['no-unresolved-refs']));
  });
});
