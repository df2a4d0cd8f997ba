/** Recall quality of full-text search alone: a labelled set of memories and questions a run would ask. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.ts';

const MEMORIES = [
  'User is allergic to shellfish and carries an EpiPen',
  'User is vegetarian but eats eggs and dairy',
  'User prefers oat milk in their coffee',
  'User drinks two espressos every morning before 9am',
  "User's favourite cuisine is Thai, especially green curry",
  'User dislikes coriander; it tastes like soap to them',
  'User lives in Lisbon, Portugal, in the Alfama neighbourhood',
  'User moved from Toronto to Lisbon in 2021',
  'User works as a backend engineer at a fintech startup called Paybridge',
  "User's manager is named Sofia Almeida",
  'User is learning Japanese and takes lessons on Tuesdays',
  'User speaks English, French and conversational Portuguese',
  'User has a golden retriever named Biscuit',
  "User's cat, Miso, is fourteen years old and has kidney problems",
  'User has two children: Leo (7) and Ana (4)',
  "User's wife Marta is a pediatric nurse",
  "User's birthday is on March 14th",
  'User runs half marathons; personal best is 1:42',
  'User is training for the Berlin marathon in September',
  'User injured their left knee skiing in 2019',
  'User does yoga on Sunday mornings',
  'User plays bass guitar in a weekend jazz band',
  'User is reading "The Three-Body Problem" trilogy',
  'User loves science fiction novels, especially Ursula K. Le Guin',
  'User dislikes horror movies',
  'User prefers dark mode in every editor and app',
  'User writes most code in TypeScript and Go',
  'User uses Neovim with a custom Lua configuration',
  'User deploys services on Kubernetes with ArgoCD',
  'User prefers concise answers with code examples over long explanations',
  'User wants replies in British English spelling',
  'User is saving for a house deposit; target is 60,000 euros by 2026',
  'User banks with Millennium BCP and uses Revolut for travel',
  'User invests monthly in a low-cost index fund',
  'User has a dentist appointment on the 3rd of every quarter',
  'User takes medication for high blood pressure each morning',
  'User is planning a trip to Kyoto in April to see the cherry blossoms',
  'User is afraid of flying and prefers trains when possible',
  'User always books an aisle seat on flights',
  'User drives a 2018 Toyota Prius hybrid',
  'User commutes by bike three days a week',
  'User volunteers at an animal shelter one Saturday a month',
  'User supports Benfica football club',
  'User grows tomatoes and basil on the balcony',
  'User is lactose intolerant only with fresh milk, aged cheese is fine',
  "User's mother lives in Montreal and calls every Sunday",
  'User has a standing desk and a split ergonomic keyboard',
  'User sleeps badly when they drink caffeine after 3pm',
  'User wants to run a 10k under 45 minutes this year',
  'User password manager of choice is Bitwarden',
];

/** Each question with the memory that should come first. */
const QUERIES: Array<[query: string, expected: string]> = [
  ['what food allergies does the user have?', 'User is allergic to shellfish and carries an EpiPen'],
  ['which city does the user live in', 'User lives in Lisbon, Portugal, in the Alfama neighbourhood'],
  ["what's the name of the user's dog", 'User has a golden retriever named Biscuit'],
  ['where does the user work', 'User works as a backend engineer at a fintech startup called Paybridge'],
  ['when is the birthday', "User's birthday is on March 14th"],
  ['upcoming marathon race', 'User is training for the Berlin marathon in September'],
  ['which programming languages does the user write?', 'User writes most code in TypeScript and Go'],
  ['travel plans for Japan in spring: Kyoto', 'User is planning a trip to Kyoto in April to see the cherry blossoms'],
  ['how does the user take their coffee, milk?', 'User prefers oat milk in their coffee'],
  ['what instrument does the user play', 'User plays bass guitar in a weekend jazz band'],
];

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await server.trpc.agents.create.mutate({ name: 'quality' });
  for (const content of MEMORIES) await server.trpc.memory.add.mutate({ name: 'quality', content, user_id: 'u1' });
});
afterAll(() => server.close());

describe('memory recall quality (full-text only)', () => {
  it('ranks the expected memory in the top 3 for at least 9 of 10 questions', async () => {
    const misses: string[] = [];
    for (const [query, expected] of QUERIES) {
      const result = await server.trpc.memory.list.query({ name: 'quality', query, user_id: 'u1', limit: 3 });
      expect(result.mode).toBe('fts');
      const top = result.memories.map((m) => m.content);
      if (!top.includes(expected)) misses.push(`"${query}": expected "${expected}", got ${JSON.stringify(top)}`);
    }
    if (misses.length) console.log(`recall misses (${misses.length}):\n${misses.join('\n')}`);
    expect(QUERIES.length - misses.length).toBeGreaterThanOrEqual(9);
  });
});
