/**
 * Token scopes: what a bearer token may do. `*` allows every operation except host powers; `admin` allows
 * everything, host powers included (src/domain/host-powers.ts).
 */
import { z } from 'zod';

export const SCOPES = [
  'agents:read',
  'agents:write',
  'chat',
  'approvals:write',
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
  'admin',
] as const;

export const Scope = z
  .enum(SCOPES)
  .describe('`*` allows every operation but host powers; `admin` allows everything, host powers included.')
  .meta({ id: 'Scope' });
export type Scope = z.infer<typeof Scope>;

/** Whether a token holding `held` may do what needs `needed`. */
export function scopesGrant(held: readonly Scope[], needed: Scope): boolean {
  if (held.includes('admin') || held.includes(needed)) return true;
  return needed !== 'admin' && held.includes('*');
}
