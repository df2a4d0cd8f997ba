import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChangeFeed } from '../src/services/changes/feed.ts';
import { MemoryService, memoryTools, type MemoryEvent } from '../src/services/memory/index.ts';
import type { ToolContext } from '../src/services/tools/types.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

interface MemoryJson {
  id: string;
  content: string;
  user_id: string | null;
  relevance_score?: number;
}

const memoryPath = (agent: string, query: Record<string, string | number> = {}) => {
  const search = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
  return `/api/agents/${agent}/memory${search ? `?${search}` : ''}`;
};

function expectRanked(memories: MemoryJson[]) {
  for (const memory of memories) {
    expect(memory.relevance_score).toBeGreaterThanOrEqual(0);
    expect(memory.relevance_score).toBeLessThanOrEqual(1);
  }
  const scores = memories.map((m) => m.relevance_score!);
  expect(scores).toEqual([...scores].sort((a, b) => b - a));
}

/** Deterministic fake embeddings: one axis per concept, so "pets" lands next to a retriever with no shared word. */
const CONCEPTS = [/\b(dog|retriever|puppy|cat|pets?)\b|🐶/, /\b(curry|pizza|food|cuisine)\b/, /\b(trip|flight|kyoto|travel)\b/];
function fakeEmbedding(text: string): number[] {
  const lower = text.toLowerCase();
  return [...CONCEPTS.map((concept) => (concept.test(lower) ? 1 : 0)), 0.05, 0, 0, 0, 0];
}

const EMBEDDINGS_URL = 'http://embeddings.test/v1';
const BROKEN_EMBEDDINGS_URL = 'http://embeddings-down.test/v1';
const embeddingRequests: string[][] = [];
const mockServer = setupServer(
  http.post(`${EMBEDDINGS_URL}/embeddings`, async ({ request }) => {
    const body = (await request.json()) as { model: string; input: string[] };
    embeddingRequests.push(body.input);
    return HttpResponse.json({ object: 'list', model: body.model, data: body.input.map((text, index) => ({ object: 'embedding', index, embedding: fakeEmbedding(text) })) });
  }),
  http.post(`${BROKEN_EMBEDDINGS_URL}/embeddings`, () => HttpResponse.json({ error: { message: 'overloaded' } }, { status: 503 })),
);

let server: TestServer;
beforeAll(async () => {
  mockServer.listen({ onUnhandledRequest: 'bypass' });
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
  mockServer.close();
});

async function newAgent(name: string) {
  expect((await server.api.post('/api/agents', { name })).status).toBe(201);
}

async function add(agent: string, content: string, extra: Record<string, unknown> = {}): Promise<MemoryJson> {
  const res = await server.api.post(memoryPath(agent), { content, ...extra });
  expect(res.status).toBe(201);
  return res.body.data;
}

describe('memory over REST', () => {
  it('adds a memory with 201 and every field', async () => {
    await newAgent('mem-add');
    const res = await server.api.post(memoryPath('mem-add'), {
      content: 'User prefers vegetarian food',
      user_id: 'user123',
      session_id: 'ses_1',
      metadata: { source: 'conversation', importance: 'high' },
      tags: ['food', 'preferences'],
    });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({
      agent: 'mem-add',
      content: 'User prefers vegetarian food',
      user_id: 'user123',
      session_id: 'ses_1',
      metadata: { source: 'conversation', importance: 'high' },
      tags: ['food', 'preferences'],
    });
    expect(res.body.data.id).toMatch(/^mem_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(new Date(res.body.data.created_at).toISOString()).toBe(res.body.data.created_at);
    expect(res.body.data).not.toHaveProperty('relevance_score');
    const minimal = await add('mem-add', 'Just a note');
    expect(minimal).toMatchObject({ user_id: null, session_id: null, metadata: {}, tags: [] });
  });

  it('lists newest first with limit, offset and next_offset', async () => {
    await newAgent('mem-page');
    for (const n of [1, 2, 3, 4, 5]) await add('mem-page', `note number ${n}`);
    const all = await server.api.get(memoryPath('mem-page'));
    expect(all.body.data.memories.map((m: MemoryJson) => m.content)).toEqual([5, 4, 3, 2, 1].map((n) => `note number ${n}`));
    expect(all.body.data).not.toHaveProperty('mode');
    const page = await server.api.get(memoryPath('mem-page', { limit: 2, offset: 1 }));
    expect(page.body.data.memories.map((m: MemoryJson) => m.content)).toEqual(['note number 4', 'note number 3']);
    expect(page.body.data.pagination).toEqual({ total: 5, limit: 2, offset: 1, next_offset: 3 });
    const last = await server.api.get(memoryPath('mem-page', { limit: 2, offset: 4 }));
    expect(last.body.data.pagination.next_offset).toBeNull();
  });

  it('ranks search results best first with relevance_score in 0..1 and mode fts', async () => {
    await newAgent('mem-rank');
    await add('mem-rank', 'User lives in New York');
    await add('mem-rank', 'User mentioned they like sunny weather');
    await add('mem-rank', 'User likes running in the sunny mornings; sunny days make them happy');
    await add('mem-rank', 'User owns a bicycle');
    const res = await server.api.get(memoryPath('mem-rank', { query: 'sunny weather' }));
    expect(res.status).toBe(200);
    expect(res.body.data.mode).toBe('fts');
    const memories: MemoryJson[] = res.body.data.memories;
    expect(memories.map((m) => m.content)).toEqual([
      'User mentioned they like sunny weather',
      'User likes running in the sunny mornings; sunny days make them happy',
    ]);
    expectRanked(memories);
    expect(memories[0]!.relevance_score).toBe(1);
    expect(memories[1]!.relevance_score).toBeLessThan(1);
    expect(res.body.data.pagination).toEqual({ total: 2, limit: 50, offset: 0, next_offset: null });
  });

  it('paginates ranked results', async () => {
    await newAgent('mem-rank-page');
    for (const n of [1, 2, 3]) await add('mem-rank-page', `garden tomato harvest ${'tomato '.repeat(n)}`);
    const first = await server.api.get(memoryPath('mem-rank-page', { query: 'tomato', limit: 2 }));
    expect(first.body.data.pagination).toEqual({ total: 3, limit: 2, offset: 0, next_offset: 2 });
    const second = await server.api.get(memoryPath('mem-rank-page', { query: 'tomato', limit: 2, offset: 2 }));
    expect(second.body.data.memories).toHaveLength(1);
    expect(second.body.data.memories[0].relevance_score).toBeLessThanOrEqual(first.body.data.memories[1].relevance_score);
    const beyond = await server.api.get(memoryPath('mem-rank-page', { query: 'tomato', offset: 10 }));
    expect(beyond.body.data).toMatchObject({ memories: [], pagination: { total: 3, next_offset: null } });
  });

  it("never shows one user's memories to another, even when they match better", async () => {
    await newAgent('mem-users');
    await add('mem-users', 'Alice is allergic to peanuts', { user_id: 'alice' });
    await add('mem-users', 'Bob: peanuts peanuts peanuts, allergic to peanuts', { user_id: 'bob' });
    const alice = await server.api.get(memoryPath('mem-users', { query: 'peanuts allergy', user_id: 'alice', limit: 1 }));
    expect(alice.body.data.memories.map((m: MemoryJson) => m.user_id)).toEqual(['alice']);
    expect(alice.body.data.pagination.total).toBe(1);
    const carol = await server.api.get(memoryPath('mem-users', { query: 'peanuts', user_id: 'carol' }));
    expect(carol.body.data.memories).toEqual([]);
    const listed = await server.api.get(memoryPath('mem-users', { user_id: 'bob' }));
    expect(listed.body.data.memories.map((m: MemoryJson) => m.user_id)).toEqual(['bob']);
    const everyone = await server.api.get(memoryPath('mem-users', { query: 'peanuts' }));
    expect(everyone.body.data.memories).toHaveLength(2);
  });

  it("clears one user's memories and leaves the rest, then all of them", async () => {
    await newAgent('mem-clear');
    await add('mem-clear', 'first alice fact', { user_id: 'alice' });
    await add('mem-clear', 'second alice fact', { user_id: 'alice' });
    await add('mem-clear', 'bob fact', { user_id: 'bob' });
    await add('mem-clear', 'agent-wide fact');
    const cleared = await server.api.delete(memoryPath('mem-clear', { user_id: 'alice' }));
    expect(cleared.status).toBe(200);
    expect(cleared.body.data).toEqual({ deleted: 2 });
    const left = await server.api.get(memoryPath('mem-clear'));
    expect(left.body.data.memories.map((m: MemoryJson) => m.content).sort()).toEqual(['agent-wide fact', 'bob fact']);
    const searched = await server.api.get(memoryPath('mem-clear', { query: 'alice' }));
    expect(searched.body.data.memories).toEqual([]);
    expect((await server.api.delete(memoryPath('mem-clear'))).body.data).toEqual({ deleted: 2 });
    expect((await server.api.get(memoryPath('mem-clear'))).body.data.pagination.total).toBe(0);
  });

  it('deletes one memory by id, then answers 404 MEMORY_NOT_FOUND', async () => {
    await newAgent('mem-del');
    const keep = await add('mem-del', 'keep this one about zebras');
    const doomed = await add('mem-del', 'forget this one about zebras');
    const res = await server.api.delete(`${memoryPath('mem-del')}/${doomed.id}`);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ id: doomed.id, status: 'deleted' });
    const search = await server.api.get(memoryPath('mem-del', { query: 'zebras' }));
    expect(search.body.data.memories.map((m: MemoryJson) => m.id)).toEqual([keep.id]);
    const again = await server.api.delete(`${memoryPath('mem-del')}/${doomed.id}`);
    expect(again.status).toBe(404);
    expect(again.body.error).toMatchObject({ code: 'MEMORY_NOT_FOUND', message: `Memory '${doomed.id}' not found` });
  });

  it('keeps agents apart', async () => {
    await newAgent('mem-a');
    await newAgent('mem-b');
    const a = await add('mem-a', 'the launch code word is pelican');
    expect((await server.api.get(memoryPath('mem-b', { query: 'pelican' }))).body.data.memories).toEqual([]);
    expect((await server.api.get(memoryPath('mem-b'))).body.data.memories).toEqual([]);
    expect((await server.api.delete(`${memoryPath('mem-b')}/${a.id}`)).body.error.code).toBe('MEMORY_NOT_FOUND');
    expect((await server.api.delete(memoryPath('mem-b'))).body.data).toEqual({ deleted: 0 });
    expect((await server.api.get(memoryPath('mem-a', { query: 'pelican' }))).body.data.memories).toHaveLength(1);
  });

  it('forgets an agent’s memories when the agent is deleted', async () => {
    await newAgent('mem-gone');
    await add('mem-gone', 'remember the alamo');
    await server.api.delete('/api/agents/mem-gone');
    await newAgent('mem-gone');
    expect((await server.api.get(memoryPath('mem-gone'))).body.data.pagination.total).toBe(0);
  });

  it('returns 404 AGENT_NOT_FOUND for an unknown agent on every operation', async () => {
    const responses = await Promise.all([
      server.api.get(memoryPath('nobody')),
      server.api.get(memoryPath('nobody', { query: 'x' })),
      server.api.post(memoryPath('nobody'), { content: 'x' }),
      server.api.delete(memoryPath('nobody')),
      server.api.delete(`${memoryPath('nobody')}/mem_x`),
    ]);
    for (const res of responses) {
      expect(res.status).toBe(404);
      expect(res.body.error).toMatchObject({ code: 'AGENT_NOT_FOUND', message: "Agent 'nobody' not found" });
    }
  });

  it('rejects empty, too long and unknown fields with VALIDATION_ERROR', async () => {
    const empty = await server.api.post(memoryPath('default'), { content: '' });
    expect(empty.status).toBe(400);
    expect(empty.body.error.details.issues[0]).toMatchObject({ path: 'content' });
    const long = await server.api.post(memoryPath('default'), { content: 'x'.repeat(16_001) });
    expect(long.body.error.details.issues[0]).toMatchObject({ path: 'content', code: 'too_big' });
    expect((await server.api.post(memoryPath('default'), { content: 'x'.repeat(16_000) })).status).toBe(201);
    const unknown = await server.api.post(memoryPath('default'), { content: 'x', importance: 'high' });
    expect(unknown.body.error.code).toBe('VALIDATION_ERROR');
    expect((await server.api.get(memoryPath('default', { limit: 101 }))).status).toBe(400);
  });
});

const HOSTILE_QUERIES = [
  '"',
  "'",
  '""',
  '*',
  'foo*',
  '-foo',
  'NEAR(a b)',
  'NEAR(marathon running, 2)',
  'a OR b',
  'AND',
  'OR',
  'NOT',
  'NOT marathon',
  '()',
  '(marathon',
  ':',
  'content:marathon',
  'tags:x',
  '^',
  '^marathon',
  '+',
  '{}',
  '[x]',
  '\\',
  '%_',
  '\u0000',
  'a "b c',
  "Robert'); DROP TABLE memories;--",
  '🦄🔥',
  '日本語',
  'Ελληνικά κείμενο',
  'نص عربي',
  'naïve café',
  '!!!',
  '   ',
  'x'.repeat(2000),
];

describe('hostile search text', () => {
  beforeAll(async () => {
    await newAgent('mem-hostile');
    await add('mem-hostile', 'User is training for a marathon and enjoys running');
    await add('mem-hostile', '日本語 を勉強している');
  });

  it.each(HOSTILE_QUERIES.map((query) => [JSON.stringify(query).slice(0, 40), query]))('never fails on %s', async (_label, query) => {
    const rest = await server.api.get(`${memoryPath('mem-hostile')}?query=${encodeURIComponent(query)}`);
    expect(rest.status).toBe(200);
    expect(Array.isArray(rest.body.data.memories)).toBe(true);
    const rpc = await server.trpc.memory.list.query({ name: 'mem-hostile', query });
    expect(rpc.memories.length).toBe(rest.body.data.memories.length);
  });

  it('treats operators as plain words, so the words around them still match', async () => {
    for (const query of ['-marathon', 'NOT marathon', 'NEAR(marathon running, 2)', 'content:marathon', '"marathon', 'marathon*', '日本語']) {
      const res = await server.trpc.memory.list.query({ name: 'mem-hostile', query });
      expect(res.memories.length, query).toBe(1);
    }
    expect((await server.trpc.memory.list.query({ name: 'mem-hostile', query: '!!!' })).memories).toEqual([]);
  });

  it('never matches the index\'s scope words, whatever the query says', async () => {
    // The agent-wide memories of mem-hostile carry the scope words "a6d656d2d686f7374696c650" and "n6d656d2d686f7374696c650".
    const words = ['a6d656d2d686f7374696c650', 'n6d656d2d686f7374696c650'];
    for (const query of [...words, `scope:${words[1]}`, `scope : ${words[0]}`, `{scope}: ${words[1]}`]) {
      const res = await server.api.get(`${memoryPath('mem-hostile')}?query=${encodeURIComponent(query)}`);
      expect(res.status, query).toBe(200);
      expect(res.body.data.memories, query).toEqual([]);
    }
  });
});

describe('memory over tRPC', () => {
  it('adds, lists, searches and deletes with Date timestamps', async () => {
    await server.trpc.agents.create.mutate({ name: 'mem-rpc' });
    const added = await server.trpc.memory.add.mutate({ name: 'mem-rpc', content: 'User likes jazz piano', user_id: 'u1', tags: ['music'] });
    expect(added.created_at).toBeInstanceOf(Date);
    const found = await server.trpc.memory.list.query({ name: 'mem-rpc', query: 'music', user_id: 'u1' });
    expect(found).toMatchObject({ mode: 'fts', memories: [{ id: added.id, relevance_score: 1 }] });
    expect(await server.trpc.memory.delete.mutate({ name: 'mem-rpc', id: added.id })).toEqual({ id: added.id, status: 'deleted' });
    await expect(server.trpc.memory.delete.mutate({ name: 'mem-rpc', id: added.id })).rejects.toMatchObject({
      data: { code: 'MEMORY_NOT_FOUND', httpStatus: 404 },
    });
    expect(await server.trpc.memory.clear.mutate({ name: 'mem-rpc' })).toEqual({ deleted: 0 });
  });
});

describe('memory tools and recall for the runtime', () => {
  const events: MemoryEvent[] = [];
  let memory: MemoryService;
  const context = async (userId: string | null): Promise<ToolContext> => ({
    agent: await server.services.agents.get('mem-tools'),
    runId: 'run_test',
    sessionId: 'ses_test',
    userId,
    signal: new AbortController().signal,
    allowLists: [],
  });

  beforeAll(async () => {
    await newAgent('mem-tools');
    memory = new MemoryService(server.services.database.db, server.services.agents, {
      config: server.services.config.memory,
      emit: async (event) => events.push(event),
    });
  });

  it('memory.store saves for the calling user and memory.search recalls only theirs plus agent-wide ones', async () => {
    const [store, search] = memoryTools(memory);
    expect(store).toMatchObject({ name: 'memory.store', kind: 'primitive', inputSchema: { type: 'object', required: ['content'] } });
    expect(search).toMatchObject({ name: 'memory.search', kind: 'primitive', inputSchema: { type: 'object', required: ['query'] } });
    const stored = await store!.execute({ content: 'Prefers window seats on trains' }, await context('alice'));
    expect(stored.isError).toBeUndefined();
    expect(stored.data).toMatchObject({ user_id: 'alice', session_id: 'ses_test', metadata: { source: 'tool' } });
    await store!.execute({ content: 'Prefers aisle seats on trains' }, await context('bob'));
    await memory.add('mem-tools', { content: 'Trains to Porto leave hourly' });

    const alice = await search!.execute({ query: 'seats trains' }, await context('alice'));
    const found = (alice.data as { memories: MemoryJson[] }).memories;
    expect(found.map((m) => m.content).sort()).toEqual(['Prefers window seats on trains', 'Trains to Porto leave hourly']);
    expect(alice.output).toMatch(/^1\. Prefers window seats on trains \(relevance 1\.00\)/);
    const anonymous = await memory.recall('mem-tools', null, 'seats trains');
    expect(anonymous.map((m) => m.content)).toEqual(['Trains to Porto leave hourly']);

    expect(events.filter((e) => e.event_type === 'memory.stored').map((e) => [e.run_id, e.payload.user_id])).toEqual([
      ['run_test', 'alice'],
      ['run_test', 'bob'],
      [null, null],
    ]);
    expect(events.filter((e) => e.event_type === 'memory.recalled')[0]).toMatchObject({
      agent_id: 'mem-tools',
      run_id: 'run_test',
      payload: { query: 'seats trains', user_id: 'alice', mode: 'fts' },
    });
  });

  it('recalls what another process stored for an agent it had found holding no memories', async () => {
    await newAgent('mem-elsewhere');
    const { db } = server.services.database;
    // Two processes sharing the database: each with its own change feed (its own origin) and memory service.
    const [feedHere, feedThere] = await Promise.all([ChangeFeed.open(db, () => 'inst_here'), ChangeFeed.open(db, () => 'inst_there')]);
    const options = { config: server.services.config.memory, emit: async () => undefined };
    const here = new MemoryService(db, server.services.agents, { ...options, changes: feedHere });
    const there = new MemoryService(db, server.services.agents, { ...options, changes: feedThere });
    try {
      expect(await here.recall('mem-elsewhere', null, 'green tea')).toEqual([]);
      await there.add('mem-elsewhere', { content: 'Likes green tea' });
      await feedHere.catchUp();
      expect((await here.recall('mem-elsewhere', null, 'green tea')).map((m) => m.content)).toEqual(['Likes green tea']);
      await here.clear('mem-elsewhere');
      expect(await here.recall('mem-elsewhere', null, 'green tea')).toEqual([]);
      await here.add('mem-elsewhere', { content: 'Drinks green tea at noon' });
      expect((await here.recall('mem-elsewhere', null, 'green tea')).map((m) => m.content)).toEqual(['Drinks green tea at noon']);
    } finally {
      await Promise.all([feedHere.close(), feedThere.close()]);
    }
  });

  it('answers bad tool arguments with an error result instead of throwing', async () => {
    const [store, search] = memoryTools(memory);
    expect(await store!.execute({ content: '' }, await context('alice'))).toMatchObject({ isError: true });
    expect(await search!.execute({ limit: 3 }, await context('alice'))).toMatchObject({ isError: true });
  });
});

describe('hybrid recall with embeddings', () => {
  let hybrid: TestServer;
  beforeAll(async () => {
    hybrid = await startTestServer({ memory: { embeddings: { baseUrl: EMBEDDINGS_URL, model: 'fake-embed', dimensions: 8 } } });
    await hybrid.api.post('/api/agents', { name: 'pets' });
    for (const [content, user_id] of [
      ['User owns a golden retriever named Max', 'alice'],
      ['User loves spicy Thai curry', 'alice'],
      ['User is planning a trip to Kyoto', 'alice'],
      ['User bought a new laptop for work', 'alice'],
      ['User has a puppy called Rex', 'bob'],
    ]) {
      expect((await hybrid.api.post(memoryPath('pets'), { content, user_id })).status).toBe(201);
    }
  });
  afterAll(() => hybrid.close());

  it('finds a memory that shares no word with the query and fuses it with full-text (mode hybrid)', async () => {
    const res = await hybrid.api.get(memoryPath('pets', { query: 'my pets', user_id: 'alice' }));
    expect(res.status).toBe(200);
    expect(res.body.data.mode).toBe('hybrid');
    const memories: MemoryJson[] = res.body.data.memories;
    expect(memories[0]!.content).toBe('User owns a golden retriever named Max');
    expect(memories.every((m) => m.user_id === 'alice')).toBe(true);
    expectRanked(memories);
    // A small page is answered from the ANN index's candidates alone (no exact scan).
    const top = await hybrid.api.get(memoryPath('pets', { query: 'my pets', user_id: 'alice', limit: 1 }));
    expect(top.body.data.memories.map((m: MemoryJson) => m.content)).toEqual(['User owns a golden retriever named Max']);

    const both = await hybrid.api.get(memoryPath('pets', { query: 'Thai curry', user_id: 'alice' }));
    expect(both.body.data.memories[0]).toMatchObject({ content: 'User loves spicy Thai curry', relevance_score: 1 });
    expect(embeddingRequests.flat()).toContain('User owns a golden retriever named Max');
  });

  it('uses vectors alone when the query has no words (mode vector)', async () => {
    const res = await hybrid.api.get(`${memoryPath('pets')}?query=${encodeURIComponent('🐶')}&user_id=bob`);
    expect(res.body.data.mode).toBe('vector');
    expect(res.body.data.memories.map((m: MemoryJson) => m.content)).toEqual(['User has a puppy called Rex']);
    expectRanked(res.body.data.memories);
  });

  it('degrades to full-text when the embeddings endpoint fails, and still stores memories', async () => {
    const broken = await startTestServer({ memory: { embeddings: { baseUrl: BROKEN_EMBEDDINGS_URL, model: 'fake-embed', dimensions: 8 } } });
    try {
      const added = await broken.api.post(memoryPath('default'), { content: 'User owns a golden retriever named Max' });
      expect(added.status).toBe(201);
      const res = await broken.api.get(memoryPath('default', { query: 'retriever' }));
      expect(res.body.data.mode).toBe('fts');
      expect(res.body.data.memories.map((m: MemoryJson) => m.id)).toEqual([added.body.data.id]);
    } finally {
      await broken.close();
    }
  });
});

describe('common words in a large store', () => {
  it('matches on the rarer words of a query once a word is in more than a tenth of the memories', async () => {
    await newAgent('mem-common');
    const pets = ['dog', 'cat', 'parrot', 'rabbit'];
    const bulk = Array.from({ length: 2_400 }, (_, i) => ({ content: `User has a ${pets[i % 4]} called pet${i}` }));
    bulk.push({ content: 'User is allergic to shellfish' }, { content: 'User is allergic to peanuts' });
    await server.services.memory.addMany('mem-common', bulk);
    // "user" is in every memory, so only "allergic" decides: the two allergies, not 2,402 weak matches.
    const res = await server.api.get(`${memoryPath('mem-common')}?query=${encodeURIComponent('what is the user allergic to?')}&limit=5`);
    expect(res.status).toBe(200);
    expect(res.body.data.memories.map((m: { content: string }) => m.content).sort()).toEqual(['User is allergic to peanuts', 'User is allergic to shellfish']);
    expect(res.body.data.pagination.total).toBe(2);
    // A query of common words only keeps them all: still an answer, ranked.
    const broad = await server.api.get(`${memoryPath('mem-common')}?query=user&limit=3`);
    expect(broad.body.data.pagination.total).toBe(2_402);
  });

  it('keeps every word while the store is small, and drops a common one only when rarer ones remain', async () => {
    const { focusTokens } = await import('../src/domain/memory.ts');
    expect(focusTokens(['user', 'allergic'], [1_000, 2], 1_500)).toEqual(['user', 'allergic']);
    expect(focusTokens(['user', 'allergic'], [9_000, 2], 10_000)).toEqual(['allergic']);
    expect(focusTokens(['user', 'people'], [9_000, 5_000], 10_000)).toEqual(['user', 'people']);
    expect(focusTokens(['user'], [9_000], 10_000)).toEqual(['user']);
  });
});

describe('a store that holds one agent', () => {
  it('searches without the scope word while every memory is that agent\'s, and with it as soon as another agent has one', async () => {
    const solo = await startTestServer();
    try {
      await solo.api.post('/api/agents/default/memory', { content: 'User collects vinyl records' });
      const alone = await solo.api.get('/api/agents/default/memory?query=vinyl');
      expect(alone.body.data.memories.map((m: { content: string }) => m.content)).toEqual(['User collects vinyl records']);
      expect((await solo.api.post('/api/agents', { name: 'other' })).status).toBe(201);
      await solo.api.post('/api/agents/other/memory', { content: 'Other agent: vinyl shop on Main Street' });
      const after = await solo.api.get('/api/agents/default/memory?query=vinyl');
      expect(after.body.data.memories.map((m: { content: string }) => m.content)).toEqual(['User collects vinyl records']);
      expect(after.body.data.pagination.total).toBe(1);
      const other = await solo.api.get('/api/agents/other/memory?query=vinyl');
      expect(other.body.data.memories.map((m: { content: string }) => m.content)).toEqual(['Other agent: vinyl shop on Main Street']);
    } finally {
      await solo.close();
    }
  });
});
