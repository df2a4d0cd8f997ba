import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerRawRoutes } from '../src/http/raw-routes.ts';
import { consoleBuildProblem, createConsoleRoutes } from '../src/http/routes/console.ts';
import type { Services } from '../src/services/container.ts';
import { staleness } from '../scripts/console-build-info.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
/** Where the browser tests leave a screenshot of every page (and metrics.json); .ci/run prints it. */
const SHOTS = fileURLToPath(new URL('../test-results/console/', import.meta.url));

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

/** The page's script and style sheet, as the built index.html names them. */
async function assetPaths(baseUrl: string): Promise<string[]> {
  const html = await (await fetch(`${baseUrl}/`)).text();
  return [...html.matchAll(/<(?:script|link)\b[^>]*(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
}

describe('the console build', () => {
  it('matches its sources: run `npm run build:console` when this fails', () => {
    expect(staleness()).toEqual([]);
  });
});

describe('GET / over plain HTTP', () => {
  it('serves the built page, whose scripts and styles all come from this server', async () => {
    const res = await server.api.get('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('<div id="app"></div>');
    expect(res.body).not.toMatch(/<script>|<style|style="|https?:\/\//);
    const assets = await assetPaths(server.url);
    expect(assets.length).toBeGreaterThanOrEqual(3);
    for (const path of assets) expect(path).toMatch(/^\/console\/assets\/[\w-]+\.(js|css|svg)$/);
  });

  it('sends a same-origin Content-Security-Policy with the page and its assets', async () => {
    for (const path of ['/', ...(await assetPaths(server.url))]) {
      const res = await fetch(`${server.url}${path}`);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("default-src 'none'");
      expect(csp, path).toContain("script-src 'self';");
      expect(csp, path).toContain("connect-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).not.toMatch(/unsafe-inline|unsafe-eval|data:|https?:|\*/);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
  });

  it('serves assets with their content types, cached for good as their names carry a hash', async () => {
    for (const path of await assetPaths(server.url)) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(200);
      const type = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml' }[path.split('.').pop()!];
      expect(res.headers.get('content-type'), path).toBe(type);
      expect(res.headers.get('cache-control'), path).toBe('public, max-age=31536000, immutable');
    }
    expect((await fetch(`${server.url}/`)).headers.get('cache-control')).toBe('no-cache');
  });

  it('answers an unknown or malformed asset name with the 404 envelope', async () => {
    for (const path of ['/console/assets/missing-abc.js', '/console/assets/..%2F..%2Fpackage.json', '/console/assets/index.html', '/console/assets/build.json']) {
      const res = await server.api.get(path);
      expect(res.status, path).toBe(404);
      expect(res.body.error.code, path).toBe('ROUTE_NOT_FOUND');
    }
  });

  it('is public even when the API requires a token, like the API reference', async () => {
    const locked = await startTestServer({ auth: { internalToken: 'console-public-page-token' } });
    try {
      expect((await locked.api.get('/')).status).toBe(200);
      expect((await locked.api.get('/api/agents')).status).toBe(401);
    } finally {
      await locked.close();
    }
  });

  it('says how to build the console when the build is missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'moxxy-console-'));
    const app = Fastify();
    try {
      registerRawRoutes(app, createConsoleRoutes(empty), {} as Services);
      const res = await app.inject({ method: 'GET', url: '/' });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body).toContain('npm run build:console');
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
      expect(consoleBuildProblem(empty)).toContain('npm run build:console');
      mkdirSync(join(empty, 'assets'));
      writeFileSync(join(empty, 'index.html'), '<!doctype html><title>built</title>');
      expect(consoleBuildProblem(empty)).toBeUndefined();
      expect((await app.inject({ method: 'GET', url: '/' })).body).toContain('<title>built</title>');
    } finally {
      await app.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

const hasChromium = existsSync(CHROMIUM);
describe.runIf(hasChromium || process.env.CI)(`the console in headless Chromium (skipped only outside CI when ${CHROMIUM} is missing)`, () => {
  let browser: Browser;
  const metrics: Record<string, number> = {};

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    if (Object.keys(metrics).length) writeFileSync(join(SHOTS, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
    console.log(`console screenshots and metrics: ${SHOTS}`, metrics);
  });

  /** A page that records what would be a problem: requests off this origin, failed answers, console errors, CSP violations. */
  async function openPage(options: { width?: number; height?: number; baseUrl?: string } = {}) {
    const base = options.baseUrl ?? server.url;
    const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: options.height ?? 860 } });
    const page = await context.newPage();
    const problems: string[] = [];
    const offOrigin: string[] = [];
    page.on('request', (request) => void (!request.url().startsWith(`${base}/`) && offOrigin.push(request.url())));
    page.on('console', (message) => void (message.type() === 'error' && problems.push(message.text())));
    page.on('pageerror', (error) => problems.push(error.message));
    return { page, context, problems, offOrigin };
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  it('renders the agents page from this origin only, under its CSP, without an error', async () => {
    const { page, context, problems, offOrigin } = await openPage();
    // The time since navigation start at which the agents table first shows an agent, seen by the page itself.
    // (In-page code is given as text: the tests are type-checked without the DOM's types.)
    await page.addInitScript(`new MutationObserver((_changes, observer) => {
      if (!document.querySelector('main table tbody tr')) return;
      window.firstRender = performance.now();
      observer.disconnect();
    }).observe(document, { childList: true, subtree: true });`);
    const times: number[] = [];
    for (let load = 0; load < 5; load++) {
      await page.goto(`${server.url}/?load=${load}#/agents`);
      // A function, not text: text would be eval'd in the page, which its Content-Security-Policy forbids.
      const firstRender = await page.waitForFunction(() => (globalThis as { firstRender?: number }).firstRender);
      times.push((await firstRender.jsonValue()) as number);
    }
    times.sort((a, b) => a - b);
    metrics.first_render_ms_median = Math.round(times[2]!);
    metrics.first_contentful_paint_ms = Math.round(await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1));
    let gzip = 0;
    let raw = 0;
    for (const path of await assetPaths(server.url)) {
      const body = Buffer.from(await (await fetch(`${server.url}${path}`)).arrayBuffer());
      raw += body.length;
      gzip += gzipSync(body, { level: 9 }).length;
    }
    metrics.bundle_bytes = raw;
    metrics.bundle_gzip_bytes = gzip;

    await expect(page.getByRole('heading', { level: 1, name: 'Agents' }).isVisible()).resolves.toBe(true);
    await expect(page.getByRole('link', { name: 'default' }).isVisible()).resolves.toBe(true);
    await shot(page, 'agents');
    expect(offOrigin).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('creates an agent with memory.* allowed, host tools marked', async () => {
    const { page, context, problems } = await openPage();
    await page.goto(`${server.url}/#/agents`);
    await page.getByRole('link', { name: 'New agent' }).click();
    await page.getByLabel('Name', { exact: true }).fill('console-e2e');
    await page.getByLabel('System prompt').fill('Answer briefly.');
    await page.getByLabel('Add a tool or pattern').fill('memory.*');
    await page.getByLabel('Add a tool or pattern').press('Enter');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByRole('heading', { name: 'Agent console-e2e' }).waitFor();
    const created = (await server.api.get('/api/agents/console-e2e')).body.data;
    expect(created).toMatchObject({ system_prompt: 'Answer briefly.', allowed_tools: ['memory.*'] });
    // The catalogue: memory.store ticked through the pattern, host_shell marked as a host power.
    await expect(page.getByLabel('memory.store').isChecked()).resolves.toBe(true);
    await expect(page.locator('label[for="tool-host_shell"] .badge').textContent()).resolves.toBe('host power');
    await shot(page, 'agent-edit');
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('chats: the reply streams in with the tool call, its arguments and result, the run status and live events', async () => {
    const { page, context, problems } = await openPage();
    const streams: string[] = [];
    page.on('response', (answer) => void (answer.headers()['content-type']?.includes('text/event-stream') && streams.push(new URL(answer.url()).pathname)));
    await page.goto(`${server.url}/#/chat/console-e2e`);
    await page.getByLabel('Message').fill('Please remember <invoke name="memory.store">{"content":"x"}</invoke>');
    await page.getByRole('button', { name: 'Send' }).click();

    const card = page.locator('.tool-card');
    await card.getByText('memory.store').waitFor();
    await page.locator('.run-line[data-run-status="completed"]').waitFor({ timeout: 15_000 });
    expect(JSON.parse((await card.locator('pre').first().textContent())!)).toEqual({ content: 'x' });
    await expect(card.locator('pre').nth(1).textContent()).resolves.toMatch(/^Stored memory mem_/);
    await expect(page.locator('.bubble.assistant').last().textContent()).resolves.toContain('Stored memory');
    await expect(page.locator('.run-line').textContent()).resolves.toMatch(/\d+ in \/ \d+ out tokens/);
    // The run's events, replayed then followed live, end with its completion.
    await page.locator('.run-events [data-event-type="run.completed"]').waitFor();
    const types = await page.locator('.run-events [data-event-type]').evaluateAll((items) => items.map((item) => item.getAttribute('data-event-type')));
    expect(types).toEqual(expect.arrayContaining(['run.started', 'message.user', 'primitive.called', 'memory.stored', 'primitive.result', 'run.completed']));
    expect(streams).toContain('/api/agents/console-e2e/chat/stream');
    expect(page.url()).toMatch(/#\/chat\/console-e2e\/ses_/);
    await shot(page, 'chat');
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it("shows a call waiting for approval with Approve / Deny buttons: in the chat (the streamed turn then finishes) and on the run's page", async () => {
    await server.api.post('/api/agents', { name: 'console-ask', allowed_tools: ['memory.*'], tool_policy: { 'memory.store': 'ask' } });
    const { page, context, problems } = await openPage();
    await page.goto(`${server.url}/#/chat/console-ask`);
    await page.getByLabel('Message').fill('Please remember <invoke name="memory.store">{"content":"approved in the console"}</invoke>');
    await page.getByRole('button', { name: 'Send' }).click();

    const approval = page.getByRole('group', { name: 'Approval for memory.store' });
    await approval.getByText('awaiting approval').waitFor({ timeout: 15_000 });
    expect(JSON.parse((await approval.locator('pre').first().textContent())!)).toEqual({ content: 'approved in the console' });
    await page.locator('.run-line[data-run-status="awaiting_approval"]').waitFor();
    await shot(page, 'chat-approval');
    await approval.getByRole('button', { name: 'Approve' }).click();
    await page.locator('.run-line[data-run-status="completed"]').waitFor({ timeout: 15_000 });
    await expect(approval.getByRole('button', { name: 'Approve' }).count()).resolves.toBe(0);
    await expect(page.locator('.bubble.assistant').last().textContent()).resolves.toContain('Stored memory');
    const memories = await server.api.get('/api/agents/console-ask/memory');
    expect(memories.body.data.memories.map((m: { content: string }) => m.content)).toEqual(['approved in the console']);

    // A run paused elsewhere (here: over the API) is decided on its page.
    const paused = (await server.api.post('/api/agents/console-ask/chat', { message: '<invoke name="memory.store">{"content":"denied in the console"}</invoke>' })).body.data;
    await page.goto(`${server.url}/#/runs/console-ask/${paused.run_id}`);
    const pending = page.getByRole('group', { name: 'Approval for memory.store' });
    await pending.getByRole('button', { name: 'Deny' }).click();
    await pending.getByText('denied', { exact: true }).waitFor();
    await expect.poll(async () => (await server.api.get(`/api/runs/${paused.run_id}`)).body.data.status).toBe('completed');
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('shows a busy session (409 SESSION_BUSY) as it comes, and cancels a running turn', async () => {
    await server.api.post('/api/agents/console-e2e/skills', { name: 'nap', language: 'bash', code: 'sleep 5\necho rested' });
    await server.api.patch('/api/agents/console-e2e', { allowed_tools: ['memory.*', 'nap'] });
    const slow = '<invoke name="nap">[]</invoke>';
    const busy = server.api.post('/api/agents/console-e2e/chat', { message: slow, session_id: 'ses-console-busy' });
    const { page, context, problems } = await openPage();
    await page.goto(`${server.url}/#/chat/console-e2e/ses-console-busy`);
    await page.getByLabel('Message').fill('Are you there?');
    await page.getByRole('button', { name: 'Send' }).click();
    const notice = page.locator('.notice.error');
    await notice.waitFor();
    await expect(notice.textContent()).resolves.toContain('This session is busy');
    await expect(notice.locator('code').textContent()).resolves.toBe('SESSION_BUSY');
    await shot(page, 'chat-busy');
    await busy;

    await page.getByLabel('Message').fill(slow);
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('.run-line[data-run-status="running"]').waitFor();
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.locator('.run-line[data-run-status="cancelled"]').waitFor({ timeout: 15_000 });
    // The browser reports the 409 answer itself as a failed resource; nothing else went wrong.
    expect(problems.filter((problem) => !problem.includes('409'))).toEqual([]);
    await context.close();
  }, 60_000);

  it('shows a failed run and a rate limit (429) as they come', async () => {
    await server.api.post('/api/agents', { name: 'console-nokey', model: { provider: 'openai', name: 'gpt-4o-mini' } });
    const { page, context, problems } = await openPage();
    await page.goto(`${server.url}/#/chat/console-nokey`);
    await page.getByLabel('Message').fill('Hello?');
    await page.getByRole('button', { name: 'Send' }).click();
    const failed = page.locator('.run-line[data-run-status="failed"]');
    await failed.waitFor({ timeout: 15_000 });
    await expect(failed.locator('[role="alert"]').textContent()).resolves.toContain('PROVIDER_NOT_CONFIGURED');
    await shot(page, 'chat-failed');
    expect(problems).toEqual([]);
    await context.close();

    // One chat a second, on a clock that stands still: once the budget is spent, every turn is refused.
    const limited = await startTestServer({ rateLimits: { enabled: true, chat: 1, read: 100_000, write: 100_000 } }, {}, { now: () => 1_800_000_000_000 });
    try {
      const second = await openPage({ baseUrl: limited.url });
      await second.page.goto(`${limited.url}/#/chat/default`);
      await second.page.getByLabel('Message').fill('One more?');
      expect((await limited.api.post('/api/agents/default/chat', { message: 'spend the budget' })).status).toBe(200);
      await second.page.getByRole('button', { name: 'Send' }).click();
      const notice = second.page.locator('.notice.error');
      await notice.waitFor();
      await expect(notice.textContent()).resolves.toMatch(/Rate limited.*RATE_LIMITED/);
      await expect(second.page.getByLabel('Message').inputValue()).resolves.toBe('One more?');
      expect(second.problems.filter((problem) => !problem.includes('429'))).toEqual([]);
      await second.context.close();
    } finally {
      await limited.close();
    }
  }, 60_000);

  it("lists the agent's runs and shows one run's steps", async () => {
    const { page, context, problems } = await openPage();
    await page.goto(`${server.url}/#/runs/console-e2e`);
    await page.getByRole('cell', { name: 'completed' }).first().waitFor();
    await shot(page, 'runs');
    const completed = page.locator('tr', { has: page.getByText('completed', { exact: true }) }).last();
    await completed.getByRole('link').click();
    await page.getByRole('heading', { name: 'Steps' }).waitFor();
    await expect(page.locator('.step.tool').first().textContent()).resolves.toContain('memory.store');
    await page.locator('.run-events [data-event-type="run.completed"]').waitFor();
    await shot(page, 'run');
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('follows the live event stream and shows events as they happen', async () => {
    const { page, context, problems } = await openPage();
    await page.goto(`${server.url}/#/events`);
    await page.getByLabel('Agent').fill('default');
    await page.getByLabel('Agent').press('Enter');
    await page.getByText('live', { exact: true }).waitFor();
    // The stream is open once the server has a subscriber; give it a moment, then start a run elsewhere.
    await page.waitForTimeout(300);
    await server.api.post('/api/agents/default/chat', { message: 'hello from the live events test' });
    await page.locator('.events [data-event-type="run.completed"]').waitFor({ timeout: 15_000 });
    await expect(page.locator('.events [data-event-type="run.started"] .event-summary').textContent()).resolves.toBe('hello from the live events test');
    await shot(page, 'events');
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('searches the audit log by agent and type', async () => {
    const { page, context, problems } = await openPage();
    await page.goto(`${server.url}/#/audit`);
    await page.getByLabel('Agent').fill('console-e2e');
    await page.getByLabel('Event types').fill('run.completed');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('.events [data-event-type]').first().waitFor();
    const types = await page.locator('.events [data-event-type]').evaluateAll((items) => items.map((item) => item.getAttribute('data-event-type')));
    expect(new Set(types)).toEqual(new Set(['run.completed']));
    await shot(page, 'audit');
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('searches memory with relevance scores, adds and deletes a memory', async () => {
    const { page, context, problems } = await openPage();
    await page.goto(`${server.url}/#/memory/console-e2e`);
    await page.getByLabel('Search', { exact: true }).fill('x');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByText('relevance 1.00').waitFor();
    await expect(page.locator('.memory p').first().textContent()).resolves.toBe('x');
    await shot(page, 'memory');
    await page.getByLabel('Search', { exact: true }).fill('');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByLabel('Content').fill('Ana prefers green tea');
    await page.getByRole('button', { name: 'Add memory' }).click();
    const added = page.locator('.memory', { hasText: 'Ana prefers green tea' });
    await added.waitFor();
    await added.getByRole('button', { name: /Delete memory/ }).click();
    await added.waitFor({ state: 'detached' });
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('creates a skill from code and invokes it: output, exit code and time', async () => {
    const { page, context, problems } = await openPage();
    await page.goto(`${server.url}/#/skills/console-e2e/new`);
    await page.getByLabel('Name', { exact: true }).fill('greet');
    await expect(page.getByLabel('Code').inputValue()).resolves.toContain('echo "Hello, $1"');
    await page.getByRole('button', { name: 'Create skill' }).click();
    await page.getByRole('heading', { name: 'Run greet' }).waitFor();
    await page.getByLabel('Arguments').fill('world');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const result = page.locator('.result');
    await result.waitFor();
    await expect(result.locator('pre').textContent()).resolves.toBe('Hello, world\n');
    await expect(result.locator('.facts dd').first().textContent()).resolves.toBe('0');
    await expect(result.textContent()).resolves.toMatch(/Time\d+ ms/);
    await shot(page, 'skills');
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('renders every other page: MCP, vault (keys only), channels, webhooks, heartbeats, tokens (shown once)', async () => {
    await server.api.post('/api/webhooks', { name: 'console-hook', agent: 'console-e2e', prompt_template: 'Event {{event}}' });
    await server.api.post('/api/webhooks/console-hook/trigger', { type: 'ping' });
    await server.api.post('/api/agents/console-e2e/heartbeats', { name: 'daily', prompt: 'Anything new?', cron: '0 9 * * *', timezone: 'Europe/Paris' });
    const { page, context, problems } = await openPage();

    await page.goto(`${server.url}/#/vault/console-e2e`);
    await page.getByLabel('Key').fill('SERVICE_PASSWORD');
    await page.getByLabel('Value').fill('hunter2-console-secret');
    await page.getByRole('button', { name: 'Save secret' }).click();
    await page.getByRole('cell', { name: 'SERVICE_PASSWORD', exact: true }).waitFor();
    expect(await page.content()).not.toContain('hunter2-console-secret');
    await shot(page, 'vault');

    await page.goto(`${server.url}/#/webhooks/console-hook`);
    await page.getByText('accepted', { exact: true }).waitFor();
    await shot(page, 'webhooks');

    await page.goto(`${server.url}/#/heartbeats/console-e2e`);
    await page.getByRole('cell', { name: '0 9 * * * (Europe/Paris)' }).waitFor();
    await shot(page, 'heartbeats');

    await page.goto(`${server.url}/#/tokens`);
    await page.getByLabel('Name').fill('console-made');
    await page.getByRole('button', { name: 'Create token' }).click();
    const token = await page.getByLabel('The new token').inputValue();
    expect(token).toMatch(/^mox_/);
    await shot(page, 'tokens');
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.content()).not.toContain(token);

    for (const [hash, name, heading] of [['#/mcp/console-e2e', 'mcp', 'MCP servers'], ['#/channels/console-e2e', 'channels', 'Channels']] as const) {
      await page.goto(`${server.url}/${hash}`);
      await page.getByRole('heading', { level: 1, name: heading }).waitFor();
      await page.getByText(/^No (MCP servers|channels) for console-e2e\.$/).waitFor();
      await shot(page, name);
    }
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('fits a narrow window and can be used from the keyboard', async () => {
    const { page, context, problems } = await openPage({ width: 390, height: 844 });
    await page.goto(`${server.url}/#/chat/console-e2e`);
    await page.getByLabel('Message').waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await shot(page, 'narrow-chat');

    // A fresh load, as a person opening the console: focus starts at the top of the page.
    await page.goto(`${server.url}/?fresh#/agents`);
    await page.getByRole('link', { name: 'default' }).waitFor();
    await page.keyboard.press('Tab');
    const focused = () => page.evaluate<string | undefined>('document.activeElement?.textContent');
    await expect(focused()).resolves.toBe('Skip to content');
    await page.keyboard.press('Enter');
    await expect(focused()).resolves.toBe('Agents');
    // Every control on the agent form has a name a screen reader can say.
    await page.goto(`${server.url}/#/agents/console-e2e`);
    await page.getByRole('button', { name: 'Save' }).waitFor();
    const unnamed = await page.evaluate<number>(`[...document.querySelectorAll('input, select, textarea, button')].filter((control) =>
      !(control.labels?.length || control.getAttribute('aria-label') || (control.tagName === 'BUTTON' && control.textContent.trim()))).length`);
    expect(unnamed).toBe(0);
    await shot(page, 'narrow-agent');
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('asks for a token when the server has one, keeps a session cookie, and logs out', async () => {
    const internalToken = 'console-login-test-internal-token';
    const locked = await startTestServer({ auth: { internalToken } });
    try {
      const { page, context, problems } = await openPage({ baseUrl: locked.url });
      await page.goto(`${locked.url}/`);
      await page.getByRole('heading', { name: 'Moxxy console' }).waitFor();
      await shot(page, 'login');
      await page.getByLabel('Token').fill('not-the-token');
      await page.getByRole('button', { name: 'Log in' }).click();
      await expect(page.locator('.notice.error').textContent()).resolves.toContain('Wrong internal token');

      await page.getByLabel('Token').fill(internalToken);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('link', { name: 'default' }).waitFor();
      const [cookie] = await context.cookies();
      expect(cookie).toMatchObject({ name: 'moxxy_session', httpOnly: true, sameSite: 'Strict', path: '/' });
      expect(cookie!.value).toMatch(/^s\.mox_/);
      expect(cookie!.value).not.toContain(internalToken);
      expect(await page.evaluate('document.cookie')).toBe('');

      // A stream under the cookie: the live events page sees a run started elsewhere.
      await page.goto(`${locked.url}/#/events`);
      await page.getByText('live', { exact: true }).waitFor();
      await page.waitForTimeout(300);
      await locked.api.post('/api/agents/default/chat', { message: 'hello behind a login' }, { headers: { 'x-moxxy-internal-token': internalToken } });
      await page.locator('.events [data-event-type="run.completed"]').waitFor({ timeout: 15_000 });

      // A session revoked elsewhere: the next load forgets the cookie and asks again.
      const asAdmin = { headers: { 'x-moxxy-internal-token': internalToken } };
      const [first] = (await locked.api.get('/api/tokens', asAdmin)).body.data.tokens;
      await locked.api.delete(`/api/tokens/${first.id}`, asAdmin);
      await page.reload();
      await page.getByText('Your session ended: log in again.').waitFor();
      expect(await context.cookies()).toEqual([]);

      await page.getByLabel('Token').fill(internalToken);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.getByRole('button', { name: 'Log in' }).waitFor();
      expect(await context.cookies()).toEqual([]);
      const tokens = (await locked.api.get('/api/tokens', asAdmin)).body.data.tokens;
      expect(tokens).toHaveLength(2);
      expect(tokens.every((token: { name: string; revoked_at: string | null }) => token.name === 'console session' && token.revoked_at)).toBe(true);
      // The refused login shows up as a failed 401 resource; nothing else went wrong.
      expect(problems.filter((problem) => !problem.includes('401'))).toEqual([]);
      await context.close();
    } finally {
      await locked.close();
    }
  }, 60_000);
});
