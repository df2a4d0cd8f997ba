/** Raw system routes: the OpenAPI document itself. */
import { z } from 'zod';
import { defineRawRoute } from '../raw-routes.ts';
import { openApiJson } from '../openapi-document.ts';

export const openApiRoute = defineRawRoute({
  id: 'system.openapi',
  method: 'GET',
  path: '/api/openapi.json',
  tags: ['system'],
  summary: 'This OpenAPI 3.1 document (raw JSON, no envelope)',
  scope: null,
  rateLimit: false,
  responses: {
    200: { description: 'The OpenAPI 3.1 document', contentType: 'application/json', schema: z.record(z.string(), z.unknown()) },
  },
  handler: async (_input, _request, reply) => reply.type('application/json; charset=utf-8').send(openApiJson()),
});
