/** System router: health. */
import { z } from 'zod';
import { Health } from '../domain/system.ts';
import { procedure, router } from './trpc.ts';

export const systemRouter = router({
  health: procedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/health',
        tags: ['system'],
        summary: 'Server health: version and database status',
        scope: null,
        rateLimit: false,
      },
    })
    .input(z.object({}).optional())
    .output(Health)
    .query(({ ctx }) => ctx.services.system.health()),
});
