/** Every raw route, in the order openapi.json lists them. */
import type { RawRouteSpec } from '../raw-routes.ts';
import { openApiRoute } from './system.ts';

export const rawRoutes: RawRouteSpec[] = [openApiRoute];
