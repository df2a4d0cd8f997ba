/**
 * Memory embeddings in libSQL's native vector type. The column width comes from config, so the table is made
 * at start-up (IF NOT EXISTS) and named by it: changing `dimensions` starts a new table instead of mixing widths.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { memories } from '../../db/schema.ts';

export interface VectorHit {
  seq: number;
  distance: number;
}

/** Nearest neighbours fetched from the ANN index per wanted result, before the agent/user filter is applied. */
const ANN_OVERFETCH = 10;
const ANN_MIN_CANDIDATES = 100;

export class VectorIndex {
  private readonly table: ReturnType<typeof sql.identifier>;
  private readonly indexName: string;

  constructor(
    private readonly db: Db,
    readonly dimensions: number,
  ) {
    this.table = sql.identifier(`memory_vectors_${dimensions}`);
    this.indexName = `memory_vectors_${dimensions}_idx`;
  }

  async ensure(): Promise<void> {
    const d = sql.raw(String(this.dimensions));
    // memory_seq is the rowid, so vector_top_k's ids join straight to memories.seq.
    await this.db.run(sql`CREATE TABLE IF NOT EXISTS ${this.table} (memory_seq INTEGER PRIMARY KEY, embedding F32_BLOB(${d}) NOT NULL)`);
    await this.db.run(sql`CREATE INDEX IF NOT EXISTS ${sql.identifier(this.indexName)} ON ${this.table} (libsql_vector_idx(embedding, 'metric=cosine'))`);
    await this.db.run(
      sql`CREATE TRIGGER IF NOT EXISTS ${sql.identifier(`memory_vectors_${this.dimensions}_forget`)} AFTER DELETE ON ${memories}
          BEGIN DELETE FROM ${this.table} WHERE memory_seq = old.seq; END`,
    );
  }

  /** A statement (for a batch with the memory's insert) storing the vector of the memory with this id. */
  insert(memoryId: string, vector: number[]) {
    return this.db.run(sql`INSERT INTO ${this.table} (memory_seq, embedding) SELECT ${memories.seq}, vector32(${JSON.stringify(vector)}) FROM ${memories} WHERE ${memories.id} = ${memoryId}`);
  }

  /**
   * The `limit` memories matching `where` closest to `vector`, by cosine distance. The ANN index cannot filter,
   * so its candidates are filtered afterwards; when that leaves too few (the agent or user owns a small share of
   * all vectors), an exact scan over just the matching memories answers instead, so no one else's memories
   * ever take the places.
   */
  async nearest(vector: number[], where: SQL, limit: number): Promise<VectorHit[]> {
    const v = JSON.stringify(vector);
    const candidates = Math.max(ANN_MIN_CANDIDATES, limit * ANN_OVERFETCH);
    const approximate = await this.db.all<VectorHit>(sql`
      SELECT ${memories.seq} AS seq, vector_distance_cos(vectors.embedding, vector32(${v})) AS distance
      FROM vector_top_k(${this.indexName}, vector32(${v}), ${candidates}) AS top
      JOIN ${this.table} AS vectors ON vectors.memory_seq = top.id
      JOIN ${memories} ON ${memories.seq} = vectors.memory_seq
      WHERE ${where}
      ORDER BY distance LIMIT ${limit}`);
    if (approximate.length >= limit) return approximate;
    return this.db.all<VectorHit>(sql`
      SELECT ${memories.seq} AS seq, vector_distance_cos(vectors.embedding, vector32(${v})) AS distance
      FROM ${memories} JOIN ${this.table} AS vectors ON vectors.memory_seq = ${memories.seq}
      WHERE ${where}
      ORDER BY distance LIMIT ${limit}`);
  }
}
