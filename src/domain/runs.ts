/** Listing an agent's runs: the filters and the page (a run itself is src/domain/chat.ts). */
import { z } from 'zod';
import { Run, RunStatus, SessionId } from './chat.ts';
import { Pagination, PaginationInput, Slug } from './common.ts';

export const RunsInput = PaginationInput.extend({
  name: Slug.describe('Agent name.'),
  session_id: SessionId.optional().describe("Only this session's runs."),
  status: RunStatus.optional().describe('Only runs in this state.'),
});
export type RunsInput = z.infer<typeof RunsInput>;

export const RunList = z.object({ runs: z.array(Run).describe('Newest first.'), pagination: Pagination }).meta({ id: 'RunList' });
export type RunList = z.infer<typeof RunList>;
