/** Every raw route, in the order openapi.json lists them. */
import type { RawRouteSpec } from '../raw-routes.ts';
import { auditRoute, eventStreamRoute } from './events.ts';
import { channelHttpRoutes } from './channel-http.ts';
import { chatRoutes } from './chat.ts';
import { openApiRoute } from './system.ts';

export const rawRoutes: RawRouteSpec[] = [openApiRoute, eventStreamRoute, auditRoute, ...chatRoutes, ...channelHttpRoutes];
