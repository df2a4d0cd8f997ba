/** Server health. */
import { z } from 'zod';

export const Health = z
  .object({
    status: z.enum(['ok', 'degraded']),
    version: z.string(),
    uptime_s: z.number(),
    database: z.object({
      status: z.enum(['ok', 'error']),
      kind: z.enum(['file', 'memory', 'remote']),
      latency_ms: z.number().nullable(),
    }),
  })
  .meta({ id: 'Health' });
export type Health = z.infer<typeof Health>;
