/** Every raw route, in the order openapi.json lists them. */
import type { RawRouteSpec } from '../raw-routes.ts';
import { auditRoute, eventStreamRoute } from './events.ts';
import { channelHttpRoutes } from './channel-http.ts';
import { chatRoutes } from './chat.ts';
import { docsAssetRoutes, docsPageRoute } from './docs.ts';
import { openApiRoute } from './system.ts';
import { webhookRoutes } from './webhooks.ts';

export const rawRoutes: RawRouteSpec[] = [openApiRoute, docsPageRoute, ...docsAssetRoutes, eventStreamRoute, auditRoute, ...chatRoutes, ...channelHttpRoutes, ...webhookRoutes];
