/** Raw system routes: the OpenAPI document itself, handed in by src/http/openapi-document.ts (the document is made from the routes, so importing it here would be a cycle). */
import { z } from 'zod';
import { defineRawRoute, type RawRouteSpec } from '../raw-routes.ts';
import { JSON_CONTENT_TYPE } from '../content-type.ts';

/** The route serving the document; `json` gives it as served. */
export const openApiRoute = (json: () => string): RawRouteSpec => defineRawRoute({
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
  handler: async (_input, _request, reply) => reply.type(JSON_CONTENT_TYPE).send(json()),
});
