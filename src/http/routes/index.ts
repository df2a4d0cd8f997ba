/** Every raw route but openapi.json's own (src/http/openapi-document.ts adds it first), in the order openapi.json lists them. */
import type { RawRouteSpec } from '../raw-routes.ts';
import { a2aRoutes } from '../doors/a2a.ts';
import { mcpRoutes } from '../doors/mcp.ts';
import { openAiRoutes } from '../doors/openai.ts';
import { auditRoute, eventStreamRoute } from './events.ts';
import { channelHttpRoutes } from './channel-http.ts';
import { chatRoutes } from './chat.ts';
import { consoleRoutes } from './console.ts';
import { docsAssetRoutes, docsPageRoute } from './docs.ts';
import { sessionRoutes } from './session.ts';
import { webhookRoutes } from './webhooks.ts';

export const rawRoutes: RawRouteSpec[] = [docsPageRoute, ...docsAssetRoutes, eventStreamRoute, auditRoute, ...chatRoutes, ...channelHttpRoutes, ...webhookRoutes, ...sessionRoutes, ...consoleRoutes, ...openAiRoutes, ...mcpRoutes, ...a2aRoutes];
