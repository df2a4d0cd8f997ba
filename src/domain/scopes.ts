/** Token scopes: what a bearer token may do. `*` allows everything. */
import { z } from 'zod';

export const SCOPES = [
  'agents:read',
  'agents:write',
  'chat',
  'memory:read',
  'memory:write',
  'skills:read',
  'skills:write',
  'skills:invoke',
  'vault:read',
  'vault:write',
  'channels:read',
  'channels:write',
  'webhooks:read',
  'webhooks:write',
  'events:read',
  'tokens:admin',
  '*',
] as const;

export const Scope = z.enum(SCOPES).meta({ id: 'Scope' });
export type Scope = z.infer<typeof Scope>;
