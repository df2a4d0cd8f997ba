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
  ftsScopeOf,
  fuseRankings,
  queryTokens,
  type Memory,
  type MemoryAdd,
  type MemoryList,
  type MemoryListInput,
  type MemoryScope,
  type MemorySearchMode,
} from '../../domain/memory.ts';
import type { AgentService } from '../agents.ts';
import type { ChangeFeed } from '../changes/feed.ts';
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
  /**
   * The change feed: a memory stored here is recorded there (in the same transaction), and one stored by another
   * process reaches this one, so an agent known to hold no memories is asked again. Without it, every recall searches.
   */
  changes?: ChangeFeed;
}

/**
 * Whose memories a query sees: everyone's (userId undefined, the API without user_id), the agent-wide ones
 * (null), or one user's — plus the agent-wide ones when `withShared` (what a run recalls).
 */
type UserScope = MemoryScope;

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
/** Agents whose holding any memory or none is kept (see MemoryService.holding). */
const HOLDING_CACHE_SIZE = 10_000;
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

function toRow(memory: Memory): Omit<MemoryRow, 'seq' | 'scope'> {
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

  /**
   * Agents known to hold memories (true) or none (false), for recall: a run of an agent with none needs no search.
   * Forgotten when a memory is stored (here, or by another process: the change feed), or deleted here.
   */
  private readonly holding = new Map<string, boolean>();
  /** Bumped whenever `holding` is forgotten, so that a look-up that raced a store does not record its stale answer. */
  private holdingGeneration = 0;

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
    options.changes?.on('memory', (agent) => this.forgetHolding(agent));
  }

  private forgetHolding(agent: string): void {
    this.holding.delete(agent);
    this.holdingGeneration += 1;
  }

  /** Whether the agent holds any memory (anyone's), from the cache when it knows. */
  private async holdsAny(agent: string): Promise<boolean> {
    const known = this.holding.get(agent);
    if (known !== undefined) return known;
    const generation = this.holdingGeneration;
    const [row] = await this.db.select({ seq: memories.seq }).from(memories).where(eq(memories.agent, agent)).limit(1);
    const holds = row !== undefined;
    if (generation === this.holdingGeneration) {
      if (this.holding.size >= HOLDING_CACHE_SIZE) this.holding.clear();
      this.holding.set(agent, holds);
    }
    return holds;
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
      ...(added.length > 0 && this.options.changes ? [this.options.changes.record('memory', agent)] : []),
    ];
    if (statements.length > 0) {
      // Forgotten before and after: a look-up racing this store must not keep "none".
      this.forgetHolding(agent);
      await this.db.batch(statements as [(typeof statements)[number], ...typeof statements]);
      this.forgetHolding(agent);
    }
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

  /** The API listing: newest first, or ranked when a query is given (a search, recorded as memory.recalled like a run's). */
  async list(agent: string, input: MemoryListInput): Promise<MemoryList> {
    await this.agents.get(agent);
    const page = { limit: input.limit, offset: input.offset };
    const scope = { userId: input.user_id };
    if (input.query?.trim()) {
      const ranked = await this.rank(agent, scope, input.query, page);
      await this.recalled(agent, null, input.query, input.user_id ?? null, ranked);
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
  async recall(
    agentName: string,
    userId: string | null,
    text: string,
    limit = this.options.config.recallLimit,
    runId: string | null = null,
    /**
     * Takes the memory.recalled event's write instead of waiting for it here: a run's turn awaits it with its other
     * events before it answers, so it is written with them (one write, not one in the middle of the turn).
     */
    whenStored?: (stored: Promise<void>) => void,
  ): Promise<Memory[]> {
    // Full text only (no embeddings to ask for) and nothing to search: what the search would find, without it.
    const nothing = !this.vectors && this.options.changes && !(await this.holdsAny(agentName));
    const ranked: RankedMemories = nothing ? { memories: [], mode: 'fts', total: 0 } : await this.rank(agentName, { userId, withShared: true }, text, { limit, offset: 0 });
    const stored = this.recalled(agentName, runId, text, userId, ranked);
    if (whenStored) whenStored(stored);
    else await stored;
    return ranked.memories;
  }

  /** memory.recalled: what was searched for, for whom, and what was found, best first. */
  private async recalled(agent: string, runId: string | null, query: string, userId: string | null, ranked: RankedMemories): Promise<void> {
    await this.options.emit({
      agent_id: agent,
      run_id: runId,
      event_type: 'memory.recalled',
      payload: {
        query,
        user_id: userId,
        mode: ranked.mode,
        memories: ranked.memories.map((memory) => ({ id: memory.id, relevance_score: memory.relevance_score })),
      },
    });
  }

  async delete(agent: string, id: string): Promise<void> {
    await this.agents.get(agent);
    const rows = await this.db
      .delete(memories)
      .where(and(eq(memories.agent, agent), eq(memories.id, id)))
      .returning({ id: memories.id });
    this.forgetHolding(agent);
    if (rows.length === 0) throw new AppError('MEMORY_NOT_FOUND', `Memory '${id}' not found`, { agent, id });
  }

  /** Forgets every memory of the agent, or one user's; returns how many. */
  async clear(agent: string, userId?: string): Promise<number> {
    await this.agents.get(agent);
    const result = await this.db.delete(memories).where(scopeWhere(agent, { userId }));
    this.forgetHolding(agent);
    return result.rowsAffected;
  }

  /** Full-text alone, or — with embeddings configured and answering — vector search fused with it. */
  private async rank(agent: string, scope: UserScope, text: string, page: PaginationInput): Promise<RankedMemories> {
    const where = scopeWhere(agent, scope);
    const terms = ftsMatchOf(await this.focus(queryTokens(text)));
    // Every memory is this agent's (a store with one agent): its scope word would match them all, so skip it.
    const everything = scope.userId === undefined && (await this.holdsEverything(agent));
    const match = terms && (everything ? terms : `(${terms}) AND ${ftsScopeOf(agent, scope)}`);
    const queryVector = this.vectors ? (await this.embedAll([text.slice(0, EMBED_QUERY_CHARS)]))?.[0] : undefined;
    if (!queryVector || !this.vectors) {
      if (!match) return { memories: [], mode: 'fts', total: 0 };
      const { hits, total } = await this.ftsHits(match, page);
      return { memories: await this.withScores(hits), mode: 'fts', total };
    }
    // Each list goes deeper than the page so that fusion near the page's end sees the same candidates.
    const depth = page.offset + 2 * page.limit;
    const nearest = await this.vectors.nearest(queryVector, where, depth);
    if (!match) {
      const ranked = nearest.map((hit) => ({ seq: hit.seq, score: cosineRelevance(hit.distance) }));
      return { memories: await this.withScores(ranked.slice(page.offset, page.offset + page.limit)), mode: 'vector', total: ranked.length };
    }
    const { hits } = await this.ftsHits(match, { limit: depth, offset: 0 });
    const fused = fuseRankings([hits.map((hit) => hit.seq), nearest.map((hit) => hit.seq)]);
    const ranked = fused.map((item) => ({ seq: item.key, score: item.score }));
    return { memories: await this.withScores(ranked.slice(page.offset, page.offset + page.limit)), mode: 'hybrid', total: ranked.length };
  }

  /**
   * One page of bm25-ranked matches inside the scope, with relevance in 0..1, and how many there are. The
   * scope is part of the MATCH (the index's scope column), so ranking and counting never leave FTS5: no
   * join to memories per match, which cost about 1 µs each (tens of ms when a word is in thousands).
   */
  private async ftsHits(match: string, page: PaginationInput) {
    const ranked = (limit: number, offset: number) =>
      this.db.all<{ seq: number; score: number }>(sql`
        SELECT rowid AS seq, bm25(memories_fts, 1.0, 0.5, 0.0) AS score FROM memories_fts
        WHERE memories_fts MATCH ${match} ORDER BY score, rowid DESC LIMIT ${limit} OFFSET ${offset}`);
    const rows = await ranked(page.limit, page.offset);
    const [counted] = await this.db.all<{ total: number }>(sql`SELECT count(*) AS total FROM memories_fts WHERE memories_fts MATCH ${match}`);
    // bm25 is relative: the best match of the whole result scores 1, on every page.
    const best = page.offset === 0 || rows.length === 0 ? rows[0]?.score : (await ranked(1, 0))[0]?.score;
    return { hits: rows.map((row) => ({ seq: row.seq, score: bm25Relevance(row.score, best ?? 0) })), total: counted?.total ?? 0 };
  }

  /** Whether every memory in the store is the agent's: two index probes (min and max agent), exact. */
  private async holdsEverything(agent: string): Promise<boolean> {
    const [row] = await this.db.all<{ first: string | null; last: string | null }>(
      sql`SELECT (SELECT min(agent) FROM ${memories}) AS first, (SELECT max(agent) FROM ${memories}) AS last`,
    );
    return row?.first === agent && row.last === agent;
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
