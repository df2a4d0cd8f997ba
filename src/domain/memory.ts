/** Memory: what an agent remembers, per user, and the pure rules of ranked recall (query building, scores, fusion). */
import { z } from 'zod';
import { Pagination, PaginationInput, Slug } from './common.ts';

export const MEMORY_CONTENT_MAX = 16_000;

const UserId = z.string().min(1).max(200);
const Tag = z.string().min(1).max(64);

export const MemorySearchMode = z.enum(['fts', 'vector', 'hybrid']);
export type MemorySearchMode = z.infer<typeof MemorySearchMode>;

export const Memory = z
  .object({
    id: z.string().describe('mem_ + UUIDv7.'),
    agent: Slug,
    content: z.string(),
    user_id: z.string().nullable(),
    session_id: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    tags: z.array(z.string()),
    created_at: z.date(),
    relevance_score: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        'Only on ranked results. fts: bm25 / best bm25 of the query (the best match is 1). vector: cosine similarity, ' +
          'floored at 0. hybrid: reciprocal-rank-fusion score / its maximum 2/(60+1) (1 = first in both lists).',
      ),
  })
  .meta({ id: 'Memory' });
export type Memory = z.infer<typeof Memory>;

export const MemoryAdd = z.strictObject({
  content: z.string().min(1).max(MEMORY_CONTENT_MAX),
  user_id: UserId.optional().describe('The user this memory is about; other users never see it.'),
  session_id: z.string().min(1).max(200).optional(),
  metadata: z.record(z.string(), z.unknown()).default({}),
  tags: z.array(Tag).max(32).default([]),
});
export type MemoryAdd = z.input<typeof MemoryAdd>;

export const MemoryListInput = PaginationInput.extend({
  query: z.string().max(2000).optional().describe('Ranks results by relevance; without it, newest first.'),
  user_id: UserId.optional().describe("Only this user's memories."),
});
export type MemoryListInput = z.infer<typeof MemoryListInput>;

export const MemoryList = z
  .object({
    memories: z.array(Memory),
    pagination: Pagination,
    mode: MemorySearchMode.optional().describe(
      'Present when `query` was given: how results were ranked — full-text (BM25), embeddings, or both fused by reciprocal rank.',
    ),
  })
  .meta({ id: 'MemoryList' });
export type MemoryList = z.infer<typeof MemoryList>;

export const MemoryClearInput = z.object({ user_id: UserId.optional().describe("Only this user's memories; all when absent.") });

export const MemoryCleared = z.object({ deleted: z.number().int().min(0) }).meta({ id: 'MemoryCleared' });

export const MemoryRef = z.object({ id: z.string().min(1).max(128).describe('Memory id.') });

export const MemoryDeleted = z.object({ id: z.string(), status: z.literal('deleted') }).meta({ id: 'MemoryDeleted' });

/** Arguments of the `memory.store` and `memory.search` tools (their JSON Schemas are generated from these). */
export const MemoryStoreToolArgs = z.strictObject({
  content: z.string().min(1).max(MEMORY_CONTENT_MAX).describe('One self-contained fact worth remembering about the user or the task.'),
  tags: z.array(Tag).max(32).default([]).describe('Optional labels.'),
});
export const MemorySearchToolArgs = z.strictObject({
  query: z.string().min(1).max(2000).describe('What to look for, in plain words.'),
  limit: z.number().int().min(1).max(50).optional().describe('Most memories to return.'),
});

/** Query words that carry no meaning for recall; dropped unless the query has nothing else. */
const STOPWORDS = new Set(
  (
    'a an and are as at be but by did do does for from had has have he her his how i if in into is it its me my no not of on or ' +
    'our she so than that the their them then there these they this to was we were what when where which who whom why will with ' +
    'would you your about any can could just should user users'
  ).split(' '),
);

const MAX_QUERY_TOKENS = 32;

/** The words of a text as FTS5 sees them (letters, digits and combining marks), lowercased and de-duplicated. */
export function queryTokens(text: string): string[] {
  const words = [...new Set((text.toLowerCase().match(/[\p{L}\p{N}\p{M}]+/gu) ?? []))];
  const meaningful = words.filter((word) => !STOPWORDS.has(word));
  return (meaningful.length > 0 ? meaningful : words).slice(0, MAX_QUERY_TOKENS);
}

/**
 * The FTS5 MATCH expression of tokens from queryTokens, or null when there are none. Every token is a quoted string
 * (letters, digits and marks only, so quoting is safe), so FTS5 syntax in the text (quotes, `*`, `-`, NEAR, OR, NOT,
 * parentheses, column filters) is just words; tokens are OR-ed for recall and bm25 puts documents with more (and
 * rarer) query words first. Limited to the text columns: a query word never matches the scope column.
 */
export function ftsMatchOf(tokens: string[]): string | null {
  return tokens.length > 0 ? `{content tags} : (${tokens.map((token) => `"${token}"`).join(' OR ')})` : null;
}

function hexOf(value: string): string {
  return Array.from(new TextEncoder().encode(value), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Who a search may see, as memories_fts's scope words (the SQL that writes them is memories.scope in src/db/schema.ts). */
export interface MemoryScope {
  /** undefined: every user's; null: agent-wide memories only; a string: that user's. */
  userId?: string | null;
  /** With a user: their memories and the agent-wide ones (what a run recalls). */
  withShared?: boolean;
}

/** The FTS5 condition that keeps a search to one agent and, optionally, one user: exact, inside the index. */
export function ftsScopeOf(agent: string, scope: MemoryScope): string {
  const hexAgent = hexOf(agent);
  const shared = `"n${hexAgent}0"`;
  if (scope.userId === undefined) return `scope : "a${hexAgent}0"`;
  if (scope.userId === null) return `scope : ${shared}`;
  const user = `"u${hexAgent}x${hexOf(scope.userId)}0"`;
  return scope.withShared ? `scope : (${user} OR ${shared})` : `scope : ${user}`;
}

/** A word in more than this share of the memories says little about any of them (bm25 gives it almost no weight). */
export const COMMON_TERM_SHARE = 0.1;
/** Below this many memories every query word is kept: ranking all matches is cheap. */
export const COMMON_TERM_MIN_CORPUS = 2_000;

/**
 * The query words worth matching on: in a large store, words found in more than COMMON_TERM_SHARE of the
 * memories are dropped when rarer ones remain (a "common terms" cut, as search engines do). "what is the
 * user allergic to" then matches memories about allergies instead of ranking every memory that says "user".
 */
export function focusTokens(tokens: string[], documentFrequencies: number[], corpus: number): string[] {
  if (tokens.length < 2 || corpus < COMMON_TERM_MIN_CORPUS) return tokens;
  const limit = corpus * COMMON_TERM_SHARE;
  const rare = tokens.filter((_, index) => documentFrequencies[index]! <= limit);
  return rare.length > 0 ? rare : tokens;
}

/** bm25 is negative, lower is better; the best hit scores 1 and the others the fraction of it they reach. */
export function bm25Relevance(score: number, best: number): number {
  return best < 0 ? clamp01(score / best) : 1;
}

/** libSQL's cosine distance is 1 - cosine similarity. */
export function cosineRelevance(distance: number): number {
  return clamp01(1 - distance);
}

export const RRF_K = 60;

/**
 * Reciprocal rank fusion of ranked lists: score(d) = sum of 1 / (RRF_K + rank), rank from 1, divided by its
 * maximum (first in every list) so it lies in 0..1. Ties keep the order of first appearance.
 */
export function fuseRankings<K>(lists: K[][]): Array<{ key: K; score: number }> {
  const scores = new Map<K, number>();
  for (const list of lists) list.forEach((key, index) => scores.set(key, (scores.get(key) ?? 0) + 1 / (RRF_K + index + 1)));
  const max = lists.length / (RRF_K + 1);
  return [...scores].map(([key, score]) => ({ key, score: clamp01(score / max) })).sort((a, b) => b.score - a.score);
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}
