import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderTemplate } from '../src/domain/webhooks.ts';
import { signGitHub, signStandardWebhooks } from '../src/services/webhooks/signatures.ts';
import { MOXXY_BIN } from './helpers/process.ts';
import { makeTempHome, startTestServer, startTestServerIn, type ApiResponse, type TestServer } from './helpers/server.ts';

const GITHUB_SECRET = 'gh-canary-secret-5f1e9a';
const STANDARD_SECRET = `whsec_${Buffer.from('standard-canary-key-0c7d2b4e').toString('base64')}`;

let server: TestServer;
/** Every REST answer of this suite, to check no secret ever leaves the server. */
const seen: string[] = [];

function record<T extends ApiResponse>(response: T): T {
  seen.push(JSON.stringify(response.body));
  return response;
}

const now = () => Math.floor(Date.now() / 1000);

function trigger(name: string, body: string, headers: Record<string, string> = {}, target: TestServer = server) {
  return target.api.request('POST', `/api/webhooks/${name}/trigger`, { rawBody: body, headers: { 'content-type': 'application/json', ...headers } }).then(record);
}

/** A GitHub delivery: a fresh X-GitHub-Delivery id each time, as GitHub sends. */
function githubHeaders(body: string, secret = GITHUB_SECRET, event = 'pull_request', delivery = randomUUID()) {
  return { 'x-github-event': event, 'x-github-delivery': delivery, 'x-hub-signature-256': signGitHub(secret, body) };
}

function standardHeaders(body: string, id: string, timestamp = now(), secret = STANDARD_SECRET) {
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signStandardWebhooks(secret, id, timestamp, body) };
}

/** Polls GET /api/runs/{id} until the run has ended. */
async function finishedRun(id: string, target: TestServer = server, headers: Record<string, string> = {}) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const res = record(await target.api.get(`/api/runs/${id}`, { headers }));
    expect(res.status).toBe(200);
    if (res.body.data.status !== 'running') return res.body.data;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`run ${id} did not end`);
}

async function createWebhook(body: Record<string, unknown>, target: TestServer = server) {
  const res = record(await target.api.post('/api/webhooks', body));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.data;
}

beforeAll(async () => {
  server = await startTestServer();
  await createWebhook({
    name: 'github',
    agent: 'default',
    prompt_template: 'GitHub {{event}}: "{{body.pull_request.title}}" by {{body.sender.login}} ({{headers.x-github-event}})',
    secret: GITHUB_SECRET,
  });
  await createWebhook({ name: 'standard', agent: 'default', prompt_template: 'Stripe {{event}} for {{body.data.amount}}', secret: STANDARD_SECRET });
  await createWebhook({ name: 'open', agent: 'default', prompt_template: 'Event {{event}}; body {{body}}; missing [{{body.nope.deeper}}]' });
});
afterAll(() => server.close());

describe('webhooks CRUD over REST', () => {
  it('creates a webhook (201) that says has_secret and never shows the secret', async () => {
    const created = await createWebhook({ name: 'crud-a', agent: 'default', prompt_template: 'Hi {{body.name}}', secret: 'crud-secret-value-123', description: 'for CRUD' });
    expect(created).toEqual({
      id: expect.stringMatching(/^whk_[0-9a-f-]{36}$/),
      name: 'crud-a',
      agent: 'default',
      description: 'for CRUD',
      prompt_template: 'Hi {{body.name}}',
      has_secret: true,
      signature_scheme: 'github',
      enabled: true,
      trigger_path: '/api/webhooks/crud-a/trigger',
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const got = record(await server.api.get('/api/webhooks/crud-a'));
    expect(got.body.data).toEqual(created);
    expect(JSON.stringify(got.body)).not.toContain('crud-secret-value-123');
  });

  it('lists webhooks by name with pagination', async () => {
    const list = record(await server.api.get('/api/webhooks?limit=2&offset=0'));
    expect(list.status).toBe(200);
    const all = record(await server.api.get('/api/webhooks'));
    const names = all.body.data.webhooks.map((w: { name: string }) => w.name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['github', 'standard', 'open']));
    expect(list.body.data.webhooks.map((w: { name: string }) => w.name)).toEqual(names.slice(0, 2));
    expect(list.body.data.pagination).toEqual({ total: names.length, limit: 2, offset: 0, next_offset: 2 });
    expect(all.body.data.webhooks.find((w: { name: string }) => w.name === 'open').has_secret).toBe(false);
  });

  it('answers 409 WEBHOOK_EXISTS, 404 AGENT_NOT_FOUND and 400 for bad names, templates and secrets', async () => {
    const again = record(await server.api.post('/api/webhooks', { name: 'github', agent: 'default', prompt_template: 'x' }));
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('WEBHOOK_EXISTS');

    const ghost = record(await server.api.post('/api/webhooks', { name: 'ghosted', agent: 'ghost', prompt_template: 'x' }));
    expect(ghost.status).toBe(404);
    expect(ghost.body.error.code).toBe('AGENT_NOT_FOUND');

    const badName = record(await server.api.post('/api/webhooks', { name: '../etc', agent: 'default', prompt_template: 'x' }));
    expect(badName.status).toBe(400);
    expect(badName.body.error.code).toBe('VALIDATION_ERROR');

    const badTag = record(await server.api.post('/api/webhooks', { name: 'bad-tag', agent: 'default', prompt_template: 'Run {{process.env.HOME}} {{ body.ok }}' }));
    expect(badTag.status).toBe(400);
    expect(badTag.body.error.details.issues).toEqual([expect.objectContaining({ path: 'prompt_template', message: expect.stringContaining('{{process.env.HOME}}') })]);

    const badSecret = record(await server.api.post('/api/webhooks', { name: 'bad-secret', agent: 'default', prompt_template: 'x', secret: 'whsec_not base64!' }));
    expect(badSecret.status).toBe(400);
    expect(badSecret.body.error.details.issues[0].path).toBe('secret');
  });

  it('updates a webhook: the next delivery uses the new template and agent, and a secret can be set and removed', async () => {
    await server.api.post('/api/agents', { name: 'hooked' });
    const created = await createWebhook({ name: 'editable', agent: 'default', prompt_template: 'old {{body.x}}' });
    const patched = record(await server.api.patch('/api/webhooks/editable', { agent: 'hooked', prompt_template: 'new {{body.x}}', description: 'edited' }));
    expect(patched.status).toBe(200);
    expect(patched.body.data).toMatchObject({ agent: 'hooked', prompt_template: 'new {{body.x}}', description: 'edited', has_secret: false, enabled: true });
    expect(Date.parse(patched.body.data.updated_at)).toBeGreaterThanOrEqual(Date.parse(created.updated_at));
    const run = await finishedRun((await trigger('editable', '{"x":"value"}')).body.data.run_id);
    expect(run).toMatchObject({ status: 'completed', agent_id: 'hooked', output: 'new value' });

    // A secret set by PATCH is required from then on; removing it (null) makes the trigger need credentials again.
    const secured = record(await server.api.patch('/api/webhooks/editable', { secret: 'patched-secret-value-42' }));
    expect(secured.body.data.has_secret).toBe(true);
    expect((await trigger('editable', '{"x":1}')).body.error.code).toBe('INVALID_SIGNATURE');
    expect((await trigger('editable', '{"x":1}', githubHeaders('{"x":1}', 'patched-secret-value-42'))).status).toBe(202);
    expect(record(await server.api.patch('/api/webhooks/editable', { secret: null })).body.data.has_secret).toBe(false);
    expect((await trigger('editable', '{"x":1}')).status).toBe(202);
  });

  it('refuses deliveries to a disabled webhook with 409 WEBHOOK_DISABLED and logs them, until it is enabled again', async () => {
    await createWebhook({ name: 'pausable', agent: 'default', prompt_template: 'ping {{body.n}}' });
    expect(record(await server.api.patch('/api/webhooks/pausable', { enabled: false })).body.data.enabled).toBe(false);
    const refused = await trigger('pausable', '{"n":1}');
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'WEBHOOK_DISABLED', details: { name: 'pausable' } });
    const log = record(await server.api.get('/api/webhooks/pausable/deliveries'));
    expect(log.body.data.deliveries).toEqual([expect.objectContaining({ status: 'rejected', http_status: 409, run_id: null, error: expect.objectContaining({ code: 'WEBHOOK_DISABLED' }) })]);
    expect(record(await server.api.patch('/api/webhooks/pausable', { enabled: true })).body.data.enabled).toBe(true);
    expect((await trigger('pausable', '{"n":2}')).status).toBe(202);

    // With a secret, the signature is checked first: only the signed sender learns the webhook is off.
    await createWebhook({ name: 'pausable-signed', agent: 'default', prompt_template: 'ping', secret: GITHUB_SECRET });
    await server.api.patch('/api/webhooks/pausable-signed', { enabled: false });
    expect((await trigger('pausable-signed', '{}')).body.error.code).toBe('INVALID_SIGNATURE');
    expect((await trigger('pausable-signed', '{}', githubHeaders('{}'))).body.error.code).toBe('WEBHOOK_DISABLED');
  });

  it('answers a bad update with 404 WEBHOOK_NOT_FOUND, 404 AGENT_NOT_FOUND or 400, and changes nothing', async () => {
    await createWebhook({ name: 'steady', agent: 'default', prompt_template: 'steady {{body}}' });
    expect(record(await server.api.patch('/api/webhooks/nobody', { enabled: false })).body.error.code).toBe('WEBHOOK_NOT_FOUND');
    expect(record(await server.api.patch('/api/webhooks/steady', { agent: 'ghost' })).body.error.code).toBe('AGENT_NOT_FOUND');
    const bad = record(await server.api.patch('/api/webhooks/steady', { prompt_template: '{{process.env}}', enabled: 'no', color: 'red' }));
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_ERROR');
    expect(record(await server.api.get('/api/webhooks/steady')).body.data).toMatchObject({ agent: 'default', prompt_template: 'steady {{body}}', enabled: true });
  });

  it('deletes a webhook (then 404 WEBHOOK_NOT_FOUND everywhere)', async () => {
    await createWebhook({ name: 'crud-b', agent: 'default', prompt_template: 'x' });
    const deleted = record(await server.api.delete('/api/webhooks/crud-b'));
    expect(deleted.body).toEqual({ success: true, data: { name: 'crud-b', status: 'deleted' } });
    for (const res of [
      await server.api.get('/api/webhooks/crud-b'),
      await server.api.delete('/api/webhooks/crud-b'),
      await server.api.get('/api/webhooks/crud-b/deliveries'),
      await trigger('crud-b', '{}'),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('WEBHOOK_NOT_FOUND');
    }
  });

  it('deletes the webhooks of a deleted agent', async () => {
    expect(record(await server.api.post('/api/agents', { name: 'short-lived' })).status).toBe(201);
    await createWebhook({ name: 'of-short-lived', agent: 'short-lived', prompt_template: 'x', secret: 'short-lived-secret' });
    expect(record(await server.api.delete('/api/agents/short-lived')).status).toBe(200);
    expect(record(await server.api.get('/api/webhooks/of-short-lived')).body.error.code).toBe('WEBHOOK_NOT_FOUND');
  });
});

describe('webhooks CRUD over tRPC', () => {
  it('creates, lists, gets and deletes with Dates, and answers the same codes', async () => {
    const created = await server.trpc.webhooks.create.mutate({ name: 'trpc-hook', agent: 'default', prompt_template: '{{body}}', secret: 'trpc-secret-value' });
    expect(created).toMatchObject({ name: 'trpc-hook', has_secret: true, description: '' });
    expect(created.created_at).toBeInstanceOf(Date);
    expect(JSON.stringify(created)).not.toContain('trpc-secret-value');
    expect((await server.trpc.webhooks.get.query({ name: 'trpc-hook' })).id).toBe(created.id);
    expect((await server.trpc.webhooks.list.query({ limit: 100 })).webhooks.map((w) => w.name)).toContain('trpc-hook');
    expect(await server.trpc.webhooks.deliveries.query({ name: 'trpc-hook' })).toEqual({
      deliveries: [],
      pagination: { total: 0, limit: 50, offset: 0, next_offset: null },
    });
    expect(await server.trpc.webhooks.delete.mutate({ name: 'trpc-hook' })).toEqual({ name: 'trpc-hook', status: 'deleted' });
    const error = await server.trpc.webhooks.get.query({ name: 'trpc-hook' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<any>).data).toMatchObject({ code: 'WEBHOOK_NOT_FOUND', httpStatus: 404 });
  });
});

describe('trigger without a secret', () => {
  it('answers 202 with the run id, and the run renders the template on the echo provider', async () => {
    const body = JSON.stringify({ type: 'invoice.paid', amount: 42 });
    const res = await trigger('open', body);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      success: true,
      data: {
        delivery_id: expect.stringMatching(/^dlv_/),
        run_id: expect.stringMatching(/^run_/),
        webhook: 'open',
        agent: 'default',
        event_type: 'invoice.paid',
        status: 'accepted',
      },
    });
    const run = await finishedRun(res.body.data.run_id);
    expect(run).toMatchObject({ status: 'completed', source: 'webhook:open', agent_id: 'default' });
    expect(run.output).toBe('Event invoice.paid; body {"type":"invoice.paid","amount":42}; missing []');
  });

  it('accepts form bodies (GitHub\'s payload field unwrapped) and text', async () => {
    const form = await server.api.request('POST', '/api/webhooks/open/trigger', {
      rawBody: `payload=${encodeURIComponent(JSON.stringify({ type: 'from-form', n: 1 }))}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(202);
    expect((await finishedRun(form.body.data.run_id)).output).toBe('Event from-form; body {"type":"from-form","n":1}; missing []');

    const text = await server.api.request('POST', '/api/webhooks/open/trigger', { rawBody: 'plain words', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(202);
    expect((await finishedRun(text.body.data.run_id)).output).toBe('Event ; body plain words; missing []');
  });

  it('refuses bad JSON (400 INVALID_JSON), other content types (415) and bodies over 64 KB (413)', async () => {
    const bad = await trigger('open', '{"oops":');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_JSON');
    const xml = await server.api.request('POST', '/api/webhooks/open/trigger', { rawBody: '<a/>', headers: { 'content-type': 'application/xml' } });
    expect(xml.status).toBe(415);
    expect(xml.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const big = await trigger('open', JSON.stringify({ blob: 'x'.repeat(70 * 1024) }));
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('trigger with a GitHub signature', () => {
  const body = JSON.stringify({ action: 'opened', pull_request: { title: 'Fix the flux capacitor' }, sender: { login: 'octocat' } });

  it('accepts a good X-Hub-Signature-256 and runs the template with body, headers and event', async () => {
    const res = await trigger('github', body, githubHeaders(body));
    expect(res.status).toBe(202);
    expect(res.body.data.event_type).toBe('pull_request');
    const run = await finishedRun(res.body.data.run_id);
    expect(run.status).toBe('completed');
    expect(run.output).toBe('GitHub pull_request: "Fix the flux capacitor" by octocat (pull_request)');
  });

  it('answers 401 INVALID_SIGNATURE to a wrong secret, a tampered body and a malformed header', async () => {
    const wrongSecret = await trigger('github', body, githubHeaders(body, 'not-the-secret'));
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.body.error).toMatchObject({ code: 'INVALID_SIGNATURE', details: { reason: 'mismatch', scheme: 'github' } });
    const tampered = await trigger('github', body.replace('octocat', 'mallory'), githubHeaders(body));
    expect(tampered.body.error).toMatchObject({ code: 'INVALID_SIGNATURE', details: { reason: 'mismatch' } });
    const malformed = await trigger('github', body, { 'x-hub-signature-256': 'sha1=abc' });
    expect(malformed.body.error).toMatchObject({ code: 'INVALID_SIGNATURE', details: { reason: 'malformed' } });
  });

  it('answers 401 INVALID_SIGNATURE when the signature is missing, even with API credentials', async () => {
    const res = await trigger('github', body, { 'x-github-event': 'push' });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: 'INVALID_SIGNATURE', details: { reason: 'missing' } });
  });

  it('audits refused signatures as security.violation', async () => {
    const audit = record(await server.api.get('/api/audit?event_type=security.violation&limit=100'));
    const reasons = audit.body.data.events.filter((e: any) => e.payload.webhook === 'github').map((e: any) => e.payload.reason);
    expect(reasons).toEqual(expect.arrayContaining(['signature_mismatch', 'signature_missing', 'signature_malformed']));
  });
});

describe('trigger with Standard Webhooks', () => {
  const body = JSON.stringify({ type: 'payment.succeeded', data: { amount: 1999 } });

  it('accepts a good signature (among several) and starts the run', async () => {
    const headers = standardHeaders(body, 'msg_good_1');
    const res = await trigger('standard', body, { ...headers, 'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')} ${headers['webhook-signature']}` });
    expect(res.status).toBe(202);
    expect(res.body.data.event_type).toBe('payment.succeeded');
    const run = await finishedRun(res.body.data.run_id);
    expect(run.output).toBe('Stripe payment.succeeded for 1999');
  });

  it('refuses a timestamp more than 5 minutes old or ahead (401)', async () => {
    for (const timestamp of [now() - 10 * 60, now() + 10 * 60]) {
      const res = await trigger('standard', body, standardHeaders(body, `msg_stale_${timestamp}`, timestamp));
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ code: 'INVALID_SIGNATURE', details: { reason: 'timestamp_out_of_tolerance', scheme: 'standard' } });
    }
  });

  it('verifies each webhook with its one scheme: a delivery signed under the other one is refused', async () => {
    // The same secret on two webhooks, one per scheme: a captured Standard Webhooks delivery carries a valid
    // signature over `${id}.${timestamp}.${body}`, never one over the body alone, and the reverse holds too.
    const shared = `whsec_${Buffer.from('one-secret-two-schemes').toString('base64')}`;
    await createWebhook({ name: 'as-standard', agent: 'default', prompt_template: '{{event}}', secret: shared });
    const asGithub = await createWebhook({ name: 'as-github', agent: 'default', prompt_template: '{{event}}', secret: shared, signature_scheme: 'github' });
    expect(asGithub.signature_scheme).toBe('github');
    const captured = standardHeaders(body, 'msg_cross_scheme', now(), shared);
    expect((await trigger('as-standard', body, captured)).status).toBe(202);
    const asGithubStyle = await trigger('as-github', body, { ...captured, ...githubHeaders(body, shared) });
    expect(asGithubStyle.status).toBe(202);
    const standardOnGithub = await trigger('as-github', body, captured);
    expect(standardOnGithub.status).toBe(401);
    expect(standardOnGithub.body.error).toMatchObject({ code: 'INVALID_SIGNATURE', details: { reason: 'missing', scheme: 'github' } });
    const githubOnStandard = await trigger('as-standard', body, githubHeaders(body, shared));
    expect(githubOnStandard.status).toBe(401);
    expect(githubOnStandard.body.error.details).toMatchObject({ reason: 'missing', scheme: 'standard' });
    // The scheme stays when the secret changes.
    const patched = record(await server.api.patch('/api/webhooks/as-github', { secret: 'another-github-secret' }));
    expect(patched.body.data.signature_scheme).toBe('github');
  });

  it('refuses a replayed GitHub delivery: by its X-GitHub-Delivery id, and by its body under a new id', async () => {
    const payload = JSON.stringify({ action: 'opened', pull_request: { title: `replay ${randomUUID()}` }, sender: { login: 'octo' } });
    const headers = githubHeaders(payload);
    expect((await trigger('github', payload, headers)).status).toBe(202);
    const sameId = await trigger('github', payload, headers);
    expect(sameId.status).toBe(409);
    expect(sameId.body.error).toMatchObject({ code: 'WEBHOOK_REPLAYED', details: { webhook_id: headers['x-github-delivery'] } });
    const newId = await trigger('github', payload, githubHeaders(payload));
    expect(newId.status).toBe(409);
    expect(newId.body.error.code).toBe('WEBHOOK_REPLAYED');
    const fresh = JSON.stringify({ other: randomUUID() });
    const { 'x-github-delivery': _dropped, ...withoutId } = githubHeaders(fresh);
    const anonymous = await trigger('github', fresh, withoutId);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.details).toMatchObject({ reason: 'missing', scheme: 'github' });
  });

  it('refuses a replayed webhook-id with 409 WEBHOOK_REPLAYED naming the original delivery', async () => {
    const headers = standardHeaders(body, 'msg_replay_1');
    const first = await trigger('standard', body, headers);
    expect(first.status).toBe(202);
    const replay = await trigger('standard', body, headers);
    expect(replay.status).toBe(409);
    expect(replay.body.error).toMatchObject({
      code: 'WEBHOOK_REPLAYED',
      details: { webhook_id: 'msg_replay_1', delivery_id: first.body.data.delivery_id, run_id: first.body.data.run_id },
    });
  });

  it('refuses a bad signature (401) and does not burn its webhook-id', async () => {
    const good = standardHeaders(body, 'msg_bad_then_good');
    const bad = await trigger('standard', body, { ...good, 'webhook-signature': signStandardWebhooks('whsec_d3Jvbmcta2V5', 'msg_bad_then_good', Number(good['webhook-timestamp']), body) });
    expect(bad.status).toBe(401);
    expect(bad.body.error).toMatchObject({ code: 'INVALID_SIGNATURE', details: { reason: 'mismatch' } });
    const incomplete = await trigger('standard', body, { 'webhook-id': 'msg_x' });
    expect(incomplete.body.error).toMatchObject({ code: 'INVALID_SIGNATURE', details: { reason: 'missing' } });
    expect((await trigger('standard', body, good)).status).toBe(202);
  });
});

describe('deliveries log', () => {
  it('lists every delivery newest first: accepted with its run, refused with why', async () => {
    const res = record(await server.api.get('/api/webhooks/standard/deliveries'));
    expect(res.status).toBe(200);
    const deliveries = res.body.data.deliveries;
    const times = deliveries.map((d: { received_at: string }) => d.received_at);
    expect(times).toEqual([...times].sort().reverse());
    expect(deliveries[0]).toMatchObject({ status: 'accepted', http_status: 202, delivery_key: 'msg_bad_then_good', run_id: expect.stringMatching(/^run_/), error: null });
    const replayed = deliveries.find((d: any) => d.error?.code === 'WEBHOOK_REPLAYED');
    expect(replayed).toMatchObject({ webhook: 'standard', status: 'rejected', http_status: 409, run_id: null, delivery_key: null, event_type: 'payment.succeeded' });
    const stale = deliveries.filter((d: any) => d.error?.code === 'INVALID_SIGNATURE');
    expect(stale.length).toBe(4);
    expect(deliveries.filter((d: any) => d.status === 'accepted').map((d: any) => d.delivery_key).sort()).toEqual(['msg_bad_then_good', 'msg_good_1', 'msg_replay_1']);
    expect(res.body.data.pagination).toEqual({ total: 8, limit: 50, offset: 0, next_offset: null });

    const page = record(await server.api.get('/api/webhooks/standard/deliveries?limit=3&offset=3'));
    expect(page.body.data.deliveries.map((d: { id: string }) => d.id)).toEqual(deliveries.slice(3, 6).map((d: { id: string }) => d.id));
    expect(page.body.data.pagination.next_offset).toBe(6);
  });

  it('logs refused bodies of a webhook without a secret', async () => {
    const res = record(await server.api.get('/api/webhooks/open/deliveries'));
    expect(res.body.data.deliveries.map((d: any) => d.error?.code ?? d.status)).toEqual(
      expect.arrayContaining(['INVALID_JSON', 'UNSUPPORTED_MEDIA_TYPE', 'accepted']),
    );
  });
});

describe('secrets', () => {
  it('redacts a secret that shows up in a delivery from the run\'s events', async () => {
    const leaky = 'leaky-secret-shown-by-its-sender';
    await createWebhook({ name: 'leaky', agent: 'default', prompt_template: 'Stripe {{event}} for {{body.data.amount}}', secret: leaky });
    const body = JSON.stringify({ type: 'leak', data: { amount: leaky } });
    const res = await trigger('leaky', body, githubHeaders(body, leaky, 'leak'));
    expect(res.status).toBe(202);
    await finishedRun(res.body.data.run_id);
    const events = record(await server.api.get(`/api/audit?run_id=${res.body.data.run_id}&limit=100`)).body.data.events;
    expect(JSON.stringify(events)).toContain('Stripe leak for [REDACTED]');
  });

  it('never appear in any response, the audit log or the database files', async () => {
    record(await server.api.get('/api/audit?limit=1000'));
    record(await server.api.get('/api/webhooks'));
    for (const name of ['github', 'standard']) record(await server.api.get(`/api/webhooks/${name}/deliveries?limit=100`));
    const all = seen.join('\n');
    expect(all).toContain('has_secret');
    for (const secret of [GITHUB_SECRET, STANDARD_SECRET, STANDARD_SECRET.slice('whsec_'.length)]) expect(all).not.toContain(secret);

    await server.services.database.client.execute('PRAGMA wal_checkpoint(TRUNCATE)');
    const files = ['moxxy.db', 'moxxy.db-wal'].map((name) => join(server.home, name)).filter((file) => existsSync(file));
    expect(files.length).toBeGreaterThan(0);
    const bytes = Buffer.concat(files.map((file) => readFileSync(file)));
    expect(bytes.includes('Fix the flux capacitor'), 'the files hold the data').toBe(true);
    for (const secret of [GITHUB_SECRET, STANDARD_SECRET, STANDARD_SECRET.slice('whsec_'.length)]) expect(bytes.includes(secret), secret).toBe(false);
  });
});

describe('trigger auth with an internal token configured', () => {
  const INTERNAL = 'internal-token-for-webhooks';
  let secured: TestServer;

  beforeAll(async () => {
    secured = await startTestServer({}, { MOXXY_INTERNAL_TOKEN: INTERNAL });
    const headers = { 'x-moxxy-internal-token': INTERNAL };
    for (const body of [
      { name: 'signed', agent: 'default', prompt_template: 'signed {{body.n}}', secret: GITHUB_SECRET },
      { name: 'unsigned', agent: 'default', prompt_template: 'unsigned {{body.n}}' },
    ]) {
      expect((await secured.api.post('/api/webhooks', body, { headers })).status).toBe(201);
    }
  });
  afterAll(() => secured.close());

  it('lets a signed delivery through with no credentials (the signature is the auth)', async () => {
    const body = '{"n":1}';
    const res = await trigger('signed', body, githubHeaders(body), secured);
    expect(res.status).toBe(202);
    const run = await finishedRun(res.body.data.run_id, secured, { 'x-moxxy-internal-token': INTERNAL });
    expect(run).toMatchObject({ status: 'completed', output: 'signed 1' });
  });

  it('needs webhooks:write for a webhook without a secret, and logs the refusal', async () => {
    const anonymous = await trigger('unsigned', '{"n":2}', {}, secured);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('UNAUTHORIZED');
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="moxxy"');

    const token = await secured.api.post('/api/tokens', { name: 'reader', scopes: ['webhooks:read'] }, { headers: { 'x-moxxy-internal-token': INTERNAL } });
    const forbidden = await trigger('unsigned', '{"n":2}', { authorization: `Bearer ${token.body.data.token}` }, secured);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error).toMatchObject({ code: 'FORBIDDEN', details: { required_scope: 'webhooks:write' } });

    const allowed = await trigger('unsigned', '{"n":2}', { 'x-moxxy-internal-token': INTERNAL }, secured);
    expect(allowed.status).toBe(202);

    const log = await secured.api.get('/api/webhooks/unsigned/deliveries', { headers: { 'x-moxxy-internal-token': INTERNAL } });
    expect(log.body.data.deliveries.map((d: any) => [d.status, d.http_status])).toEqual([
      ['accepted', 202],
      ['rejected', 403],
      ['rejected', 401],
    ]);
  });

  it('answers 401 for an unknown webhook without credentials, so names cannot be probed', async () => {
    const res = await trigger('nope', '{}', {}, secured);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHORIZED');
  });
});

describe('template rendering', () => {
  it('looks up own properties only and never runs anything', () => {
    const context = { body: { a: [{ b: 'first' }], n: 0, flag: false, obj: { x: 1 } }, headers: { 'x-id': '7' }, event: null };
    expect(renderTemplate('{{body.a.0.b}} {{body.n}} {{body.flag}} {{body.obj}} {{headers.x-id}} [{{event}}]', context)).toBe('first 0 false {"x":1} 7 []');
    expect(renderTemplate('[{{body.constructor}}] [{{body.__proto__}}] [{{body.toString}}] {{body.a.length}}', context)).toBe('[] [] [] 1');
  });
});

describe('moxxy vault rotate-key', () => {
  it('re-encrypts webhook secrets with the vault, so signed deliveries still verify', async () => {
    const home = makeTempHome();
    try {
      let target = await startTestServerIn(home);
      await createWebhook({ name: 'rotated', agent: 'default', prompt_template: 'rotated {{body.n}}', secret: GITHUB_SECRET }, target);
      const before = await target.services.database.client.execute("SELECT secret_ciphertext, secret_key_id FROM webhooks WHERE name = 'rotated'");
      await target.close();

      const child = spawn(process.execPath, [MOXXY_BIN, 'vault', 'rotate-key'], { env: { ...process.env, MOXXY_HOME: home, MOXXY_LOG_LEVEL: 'silent' } });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      expect(await new Promise((resolve) => child.once('close', resolve)), stderr).toBe(0);
      expect(stderr).toContain('Re-encrypted 1 secret(s)');

      target = await startTestServerIn(home);
      try {
        const after = await target.services.database.client.execute("SELECT secret_ciphertext, secret_key_id FROM webhooks WHERE name = 'rotated'");
        expect(after.rows[0]!.secret_key_id).not.toBe(before.rows[0]!.secret_key_id);
        expect(after.rows[0]!.secret_ciphertext).not.toBe(before.rows[0]!.secret_ciphertext);
        const body = '{"n":3}';
        const res = await trigger('rotated', body, githubHeaders(body), target);
        expect(res.status).toBe(202);
        expect((await finishedRun(res.body.data.run_id, target)).output).toBe('rotated 3');
      } finally {
        await target.close();
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
