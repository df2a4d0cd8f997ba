/** Server health. */
import { z } from 'zod';
import { SandboxKind } from './skills.ts';

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
    sandbox: SandboxKind.describe('"bwrap": skills and stdio MCP servers run in bubblewrap; "none": they run on the host unsandboxed (see warnings).'),
    warnings: z.array(z.string()).describe('What weakens this server\'s guarantees (no sandbox, limits not enforced), in words.'),
  })
  .meta({ id: 'Health' });
export type Health = z.infer<typeof Health>;
