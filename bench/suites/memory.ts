/** Memory: bulk insert rate and full-text search latency over 100,000 memories in a real libSQL file. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/db/client.ts';
import type { MemoryAdd } from '../../src/domain/memory.ts';
import { AgentService } from '../../src/services/agents.ts';
import { MemoryService } from '../../src/services/memory/index.ts';
import { fmt, summarize, type BenchSection } from '../lib.ts';

const TOTAL = Number(process.env.BENCH_MEMORIES ?? 100_000);
const BATCH = 1_000;
const QUERIES = 200;
const USERS = 50;
const INSERT_BUDGET_MS = 180_000;

/** A seeded generator, so every run searches the same corpus. */
function random(seed: number) {
  return () => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}
const rand = random(42);
const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)]!;

const FUNCTION_WORDS = 'the a of to and in is for on with that at by from their they likes prefers wants has was'.split(' ');
const TOPIC_WORDS = (
  'coffee tea breakfast dinner curry pizza sushi vegetarian allergy peanuts gluten running marathon cycling yoga swimming ' +
  'hiking climbing guitar piano jazz concert novel poetry podcast movie series typescript python golang kubernetes database ' +
  'deadline meeting manager promotion salary budget mortgage savings invoice travel flight train hotel passport visa kyoto ' +
  'lisbon berlin toronto weekend birthday anniversary wedding daughter son partner mother father dog cat garden balcony ' +
  'tomatoes basil bicycle car insurance dentist doctor medication sleep insomnia headache keyboard monitor laptop phone'
).split(' ');
/** Rarer words (names, places, products), drawn with a Zipf-like skew so some are common and most are rare. */
const SYLLABLES = 'ka lo mi ra ten vo shi pe du gan mar el ost rin bel cor'.split(' ');
const RARE_WORDS = Array.from({ length: 3_000 }, (_, i) => SYLLABLES[i % 16]! + SYLLABLES[Math.floor(i / 16) % 16]! + SYLLABLES[Math.floor(i / 256) % 16]!);
const zipf = () => RARE_WORDS[Math.floor(RARE_WORDS.length ** rand()) - 1]!;

function memoryText(): string {
  const words = Array.from({ length: 8 + Math.floor(rand() * 10) }, () => {
    const r = rand();
    return r < 0.35 ? pick(FUNCTION_WORDS) : r < 0.75 ? pick(TOPIC_WORDS) : zipf();
  });
  return `User ${words.join(' ')}`;
}

function queryText(i: number): string {
  switch (i % 5) {
    case 0:
      return pick(TOPIC_WORDS);
    case 1:
      return `what does the user think about ${pick(TOPIC_WORDS)} and ${pick(TOPIC_WORDS)}?`;
    case 2:
      return `${zipf()} ${pick(TOPIC_WORDS)}`;
    case 3:
      return `remind me: ${pick(TOPIC_WORDS)} ${pick(TOPIC_WORDS)} ${zipf()} ${pick(TOPIC_WORDS)}`;
    default:
      return `"${pick(TOPIC_WORDS)}" OR NEAR(${zipf()} -${pick(TOPIC_WORDS)}) 🙂`;
  }
}

export default async function memoryBench(): Promise<BenchSection> {
  const home = mkdtempSync(join(tmpdir(), 'moxxy-bench-memory-'));
  const database = await openDatabase(`file:${join(home, 'moxxy.db')}`);
  try {
    const agents = new AgentService(database.db);
    await agents.ensureDefault();
    // Events are another area's cost; this measures the memory store itself.
    const memory = new MemoryService(database.db, agents, { config: { recallLimit: 5 }, emit: async () => undefined });
    await memory.init();

    const started = performance.now();
    let inserted = 0;
    while (inserted < TOTAL && performance.now() - started < INSERT_BUDGET_MS) {
      const batch: MemoryAdd[] = Array.from({ length: Math.min(BATCH, TOTAL - inserted) }, (_, i) => ({
        content: memoryText(),
        user_id: `user-${(inserted + i) % USERS}`,
      }));
      await memory.addMany('default', batch);
      inserted += batch.length;
    }
    const insertSeconds = (performance.now() - started) / 1000;

    const queries = Array.from({ length: QUERIES }, (_, i) => ({ query: queryText(i), user_id: i % 2 ? `user-${i % USERS}` : undefined }));
    for (const q of queries.slice(0, 20)) await memory.list('default', { ...q, limit: 10, offset: 0 }); // warm-up: JIT, page cache
    const timings: number[] = [];
    let hits = 0;
    for (const q of queries) {
      const t0 = performance.now();
      const result = await memory.list('default', { ...q, limit: 10, offset: 0 });
      timings.push(performance.now() - t0);
      hits += result.memories.length;
    }
    const s = summarize(timings);
    return {
      title: 'Memory: bulk insert and full-text search (target: search p95 <= 10 ms)',
      markdown: [
        `${inserted.toLocaleString('en')} memories (8-17 words, ${USERS} users, one agent) in a libSQL file with WAL, inserted by MemoryService.addMany ` +
          `in batches of ${BATCH} (one transaction each, FTS5 kept in step by triggers), no embeddings, events to a no-op.`,
        `Then ${QUERIES} varied queries (single words, questions, rare names, FTS5 operators and emoji; half filtered by user_id) through ` +
          'MemoryService.list with limit 10, i.e. bm25 ranking with total count, after 20 warm-up queries.',
        '',
        '| measure | value |',
        '|---|---:|',
        `| inserts/s | ${fmt(inserted / insertSeconds, 0)} |`,
        `| insert time (s) | ${fmt(insertSeconds, 1)} |`,
        `| search p50 (ms) | ${fmt(s.p50)} |`,
        `| search p95 (ms) | ${fmt(s.p95)} |`,
        `| search p99 (ms) | ${fmt(s.p99)} |`,
        `| search max (ms) | ${fmt(s.max)} |`,
        `| mean results per query | ${fmt(hits / QUERIES, 1)} |`,
      ].join('\n'),
    };
  } finally {
    database.close();
    rmSync(home, { recursive: true, force: true });
  }
}
