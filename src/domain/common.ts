/** Schemas shared by every area: names, pagination, timestamps. */
import { z } from 'zod';

export const SLUG_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export const Slug = z
  .string()
  .regex(SLUG_PATTERN, 'must be a slug: lowercase letters, digits, "_" or "-", starting with a letter or digit, at most 64 characters');

/** The `agent` path parameter of every route under /api/agents/{agent}/... */
export const AgentParam = z.object({ agent: Slug.describe('Agent name.') });

export const PaginationInput = z.object({
  limit: z.number().int().min(1).max(100).default(50).describe('Items per page (1-100).'),
  offset: z.number().int().min(0).default(0).describe('Items to skip.'),
});
export type PaginationInput = z.infer<typeof PaginationInput>;

export const Pagination = z
  .object({
    total: z.number().int().min(0),
    limit: z.number().int(),
    offset: z.number().int(),
    next_offset: z.number().int().nullable().describe('Offset of the next page, or null on the last page.'),
  })
  .meta({ id: 'Pagination' });
export type Pagination = z.infer<typeof Pagination>;

export function paginate(total: number, page: PaginationInput): Pagination {
  const next = page.offset + page.limit;
  return { total, limit: page.limit, offset: page.offset, next_offset: next < total ? next : null };
}
