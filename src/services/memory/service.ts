/** Memory: store, list, ranked recall (FTS5 bm25, optionally fused with vector search) and forgetting, per agent and user. */
import { and, count, desc, eq, inArray, isNull, or, sql, type SQL } from 'drizzle-orm';
import type { MoxxyConfig } from '../../config/schema.ts';
import type { Db } from '../../db/client.ts';
import { memories } from '../../db/schema.ts';
import { paginate, type PaginationInput } from '../../domain/common.ts';
import { AppError } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import {
  bm25Relevance,
  cosineRelevance,
  COMMON_TERM_MIN_CORPUS,
  focusTokens,
  ftsMatchOf,
  fuseRankings,
  queryTokens,
  type Memory,
  type MemoryAdd,
  type MemoryList,
  type MemoryListInput,
  type MemorySearchMode,
} from '../../domain/memory.ts';
import type { AgentService } from '../agents.ts';
import { openAiEmbedder, type Embedder } from './embeddings.ts';
import { VectorIndex } from './vector-index.ts';

export interface MemoryEvent {
  agent_id: string;
  run_id: string | null;
  event_type: 'memory.stored' | 'memory.recalled';
  payload: Record<string, unknown>;
}

export interface MemoryServiceOptions {
  config: MoxxyConfig['memory'];
  emit: (event: MemoryEvent) => Promise<unknown>;
}

/**
 * Whose memories a query sees: everyone's (userId undefined, the API without user_id), the agent-wide ones
 * (null), or one user's — plus the agent-wide ones when `withShared` (what a run recalls).
 */
interface UserScope {
  userId?: string | null;
  withShared?: boolean;
}

export interface MemorySearch {
  query: string;
  user_id?: string | null;
  limit?: number;
  offset?: number;
}

export interface RankedMemories {
  memories: Memory[];
  mode: MemorySearchMode;
  /** Matches for fts; for vector and hybrid, the candidates considered (every memory is somewhat similar). */
  total: number;
}

type MemoryRow = typeof memories.$inferSelect;

/** Rows per INSERT: 8 bound values each, well under SQLite's 32766-variable limit. */
const INSERT_CHUNK = 500;
/** Texts per embeddings request. */
const EMBED_CHUNK = 64;
/** How long a word's document frequency is trusted, and how many words are remembered. */
const FREQUENCY_TTL_MS = 5 * 60_000;
const FREQUENCY_CACHE_SIZE = 10_000;
/** Characters of a query sent for embedding; recall may pass a whole user message. */
const EMBED_QUERY_CHARS = 8000;

function toMemory(row: MemoryRow): Memory {
  return {
    id: row.id,
    agent: row.agent,
    content: row.content,
    user_id: row.userId,
    session_id: row.sessionId,
    metadata: row.metadata,
    tags: row.tags,
    created_at: row.createdAt,
  };
}

function toRow(memory: Memory): Omit<MemoryRow, 'seq'> {
  return {
    id: memory.id,
    agent: memory.agent,
    userId: memory.user_id,
    sessionId: memory.session_id,
    content: memory.content,
    metadata: memory.metadata,
    tags: memory.tags,
    createdAt: memory.created_at,
  };
}

function chunks<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

function scopeWhere(agent: string, scope: UserScope): SQL {
  const { userId, withShared } = scope;
  if (userId === undefined) return eq(memories.agent, agent);
  if (userId === null) return and(eq(memories.agent, agent), isNull(memories.userId))!;
  const user = withShared ? or(eq(memories.userId, userId), isNull(memories.userId)) : eq(memories.userId, userId);
  return and(eq(memories.agent, agent), user)!;
}

export class MemoryService {
  private readonly embed: Embedder | undefined;
  private readonly vectors: VectorIndex | undefined;

  constructor(
    private readonly db: Db,
    private readonly agents: AgentService,
    private readonly options: MemoryServiceOptions,
  ) {
    const embeddings = options.config.embeddings;
    if (embeddings) {
      this.embed = openAiEmbedder(embeddings);
      this.vectors = new VectorIndex(db, embeddings.dimensions);
    }
  }

  /** Creates the vector table for the configured dimensions; called once at start-up. */
  async init(): Promise<void> {
    await this.vectors?.ensure();
  }

  async add(agent: string, input: MemoryAdd, runId: string | null = null): Promise<Memory> {
    const [memory] = await this.addMany(agent, [input], runId);
    return memory!;
  }

  /** Stores many memories in one transaction (with one embeddings request per 64); the bulk path for imports. */
  async addMany(agent: string, inputs: MemoryAdd[], runId: string | null = null): Promise<Memory[]> {
    await this.agents.get(agent);
    const createdAt = new Date();
    const added: Memory[] = inputs.map((input) => ({
      id: newId('mem'),
      agent,
      content: input.content,
      user_id: input.user_id ?? null,
      session_id: input.session_id ?? null,
      metadata: input.metadata ?? {},
      tags: input.tags ?? [],
      created_at: createdAt,
    }));
    const vectors = await this.embedAll(added.map((memory) => memory.content));
    const statements = [
      ...chunks(added, INSERT_CHUNK).map((chunk) => this.db.insert(memories).values(chunk.map(toRow))),
      ...(vectors && this.vectors ? added.map((memory, i) => this.vectors!.insert(memory.id, vectors[i]!)) : []),
    ];
    if (statements.length > 0) await this.db.batch(statements as [(typeof statements)[number], ...typeof statements]);
    for (const memory of added) {
      await this.options.emit({
        agent_id: agent,
        run_id: runId,
        event_type: 'memory.stored',
        payload: { memory_id: memory.id, user_id: memory.user_id, session_id: memory.session_id, tags: memory.tags, content: memory.content },
      });
    }
    return added;
  }

  /** The API listing: newest first, or ranked when a query is given. */
  async list(agent: string, input: MemoryListInput): Promise<MemoryList> {
    await this.agents.get(agent);
    const page = { limit: input.limit, offset: input.offset };
    const scope = { userId: input.user_id };
    if (input.query?.trim()) {
      const ranked = await this.rank(agent, scope, input.query, page);
      return { memories: ranked.memories, pagination: paginate(ranked.total, page), mode: ranked.mode };
    }
    const where = scopeWhere(agent, scope);
    const [rows, [totals]] = await Promise.all([
      this.db.select().from(memories).where(where).orderBy(desc(memories.createdAt), desc(memories.seq)).limit(page.limit).offset(page.offset),
      this.db.select({ total: count() }).from(memories).where(where),
    ]);
    return { memories: rows.map(toMemory), pagination: paginate(totals?.total ?? 0, page) };
  }

  /** Ranked search. `user_id`: a user's memories only; null: only those with no user; absent: everyone's. */
  async search(agent: string, search: MemorySearch): Promise<RankedMemories> {
    await this.agents.get(agent);
    const page = { limit: search.limit ?? this.options.config.recallLimit, offset: search.offset ?? 0 };
    return this.rank(agent, { userId: search.user_id }, search.query, page);
  }

  /**
   * What a run remembers: the memories of its user plus the agent-wide ones (no user), best first.
   * A run without a user sees only the agent-wide ones. Emits memory.recalled.
   */
  async recall(agentName: string, userId: string | null, text: string, limit = this.options.config.recallLimit, runId: string | null = null): Promise<Memory[]> {
    const ranked = await this.rank(agentName, { userId, withShared: true }, text, { limit, offset: 0 });
    await this.options.emit({
      agent_id: agentName,
      run_id: runId,
      event_type: 'memory.recalled',
      payload: {
        query: text,
        user_id: userId,
        mode: ranked.mode,
        memories: ranked.memories.map((memory) => ({ id: memory.id, relevance_score: memory.relevance_score })),
      },
    });
    return ranked.memories;
  }

  async delete(agent: string, id: string): Promise<void> {
    await this.agents.get(agent);
    const rows = await this.db
      .delete(memories)
      .where(and(eq(memories.agent, agent), eq(memories.id, id)))
      .returning({ id: memories.id });
    if (rows.length === 0) throw new AppError('MEMORY_NOT_FOUND', `Memory '${id}' not found`, { agent, id });
  }

  /** Forgets every memory of the agent, or one user's; returns how many. */
  async clear(agent: string, userId?: string): Promise<number> {
    await this.agents.get(agent);
    const result = await this.db.delete(memories).where(scopeWhere(agent, { userId }));
    return result.rowsAffected;
  }

  /** Full-text alone, or — with embeddings configured and answering — vector search fused with it. */
  private async rank(agent: string, scope: UserScope, text: string, page: PaginationInput): Promise<RankedMemories> {
    const where = scopeWhere(agent, scope);
    const match = ftsMatchOf(await this.focus(queryTokens(text)));
    const queryVector = this.vectors ? (await this.embedAll([text.slice(0, EMBED_QUERY_CHARS)]))?.[0] : undefined;
    if (!queryVector || !this.vectors) {
      if (!match) return { memories: [], mode: 'fts', total: 0 };
      const { hits, total } = await this.ftsHits(match, where, page);
      return { memories: await this.withScores(hits), mode: 'fts', total };
    }
    // Each list goes deeper than the page so that fusion near the page's end sees the same candidates.
    const depth = page.offset + 2 * page.limit;
    const nearest = await this.vectors.nearest(queryVector, where, depth);
    if (!match) {
      const ranked = nearest.map((hit) => ({ seq: hit.seq, score: cosineRelevance(hit.distance) }));
      return { memories: await this.withScores(ranked.slice(page.offset, page.offset + page.limit)), mode: 'vector', total: ranked.length };
    }
    const { hits } = await this.ftsHits(match, where, { limit: depth, offset: 0 });
    const fused = fuseRankings([hits.map((hit) => hit.seq), nearest.map((hit) => hit.seq)]);
    const ranked = fused.map((item) => ({ seq: item.key, score: item.score }));
    return { memories: await this.withScores(ranked.slice(page.offset, page.offset + page.limit)), mode: 'hybrid', total: ranked.length };
  }

  /**
   * One page of bm25-ranked matches inside the scope (filtered before the limit), with relevance in 0..1.
   * CROSS JOIN fixes the join order: left to itself, SQLite walks the agent's memories and re-runs the
   * full-text query for each one (quadratic; seconds at 100k memories).
   */
  private async ftsHits(match: string, where: SQL, page: PaginationInput) {
    const rows = await this.db.all<{ seq: number; score: number; total: number; best: number }>(sql`
      SELECT ${memories.seq} AS seq, hits.score AS score, count(*) OVER () AS total, min(hits.score) OVER () AS best
      FROM (SELECT rowid, bm25(memories_fts, 1.0, 0.5) AS score FROM memories_fts WHERE memories_fts MATCH ${match}) AS hits
      CROSS JOIN ${memories} ON ${memories.seq} = hits.rowid
      WHERE ${where}
      ORDER BY hits.score, ${memories.seq} DESC
      LIMIT ${page.limit} OFFSET ${page.offset}`);
    let total = rows[0]?.total ?? 0;
    if (rows.length === 0 && page.offset > 0) {
      // Past the last page the window functions have no row to report on.
      const [counted] = await this.db.all<{ total: number }>(sql`
        SELECT count(*) AS total FROM memories_fts CROSS JOIN ${memories} ON ${memories.seq} = memories_fts.rowid
        WHERE memories_fts MATCH ${match} AND ${where}`);
      total = counted?.total ?? 0;
    }
    return { hits: rows.map((row) => ({ seq: row.seq, score: bm25Relevance(row.score, row.best) })), total };
  }

  /** The query words to match on (see focusTokens), from document frequencies cached per word. */
  private async focus(tokens: string[]): Promise<string[]> {
    if (tokens.length < 2) return tokens;
    const corpus = await this.corpusSize();
    if (corpus < COMMON_TERM_MIN_CORPUS) return tokens;
    const frequencies = await Promise.all(tokens.map((token) => this.documentFrequency(token, corpus)));
    return focusTokens(tokens, frequencies, corpus);
  }

  private corpusCache: { size: number; at: number } | undefined;

  /** How many memories the full-text index holds, re-counted at most every few seconds. */
  private async corpusSize(): Promise<number> {
    const now = Date.now();
    if (this.corpusCache && now - this.corpusCache.at < FREQUENCY_TTL_MS / 60) return this.corpusCache.size;
    const [row] = await this.db.all<{ size: number }>(sql`SELECT count(*) AS size FROM ${memories}`);
    this.corpusCache = { size: row?.size ?? 0, at: now };
    return this.corpusCache.size;
  }

  private readonly frequencies = new Map<string, { docs: number; corpus: number; at: number }>();

  /** How many memories contain the word, cached until the store has changed size by a tenth or a few minutes pass. */
  private async documentFrequency(token: string, corpus: number): Promise<number> {
    const now = Date.now();
    const cached = this.frequencies.get(token);
    if (cached && now - cached.at < FREQUENCY_TTL_MS && Math.abs(corpus - cached.corpus) <= corpus / 10) return cached.docs;
    const [row] = await this.db.all<{ docs: number }>(sql`SELECT count(*) AS docs FROM memories_fts WHERE memories_fts MATCH ${ftsMatchOf([token])}`);
    if (this.frequencies.size >= FREQUENCY_CACHE_SIZE) this.frequencies.delete(this.frequencies.keys().next().value!);
    this.frequencies.set(token, { docs: row?.docs ?? 0, corpus, at: now });
    return row?.docs ?? 0;
  }

  private async withScores(ranked: Array<{ seq: number; score: number }>): Promise<Memory[]> {
    if (ranked.length === 0) return [];
    const rows = await this.db.select().from(memories).where(inArray(memories.seq, ranked.map((item) => item.seq)));
    const bySeq = new Map(rows.map((row) => [row.seq, row]));
    return ranked.flatMap(({ seq, score }) => {
      const row = bySeq.get(seq);
      return row ? [{ ...toMemory(row), relevance_score: score }] : [];
    });
  }

  /** Embeddings for the texts, or undefined when none are configured or the endpoint fails: recall falls back to full text. */
  private async embedAll(texts: string[]): Promise<number[][] | undefined> {
    if (!this.embed || texts.length === 0) return undefined;
    try {
      const vectors: number[][] = [];
      for (const chunk of chunks(texts, EMBED_CHUNK)) vectors.push(...(await this.embed(chunk)));
      return vectors;
    } catch {
      return undefined;
    }
  }
}
