import { eq } from 'drizzle-orm';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiTokens } from '../src/db/schema.ts';
import { hashToken } from '../src/services/auth/tokens.ts';
import { runCli } from './helpers/process.ts';
import { makeTempHome, startTestServer, type TestServer } from './helpers/server.ts';

const INTERNAL_TOKEN = 'internal-token-for-token-tests';
const internal = { headers: { 'x-moxxy-internal-token': INTERNAL_TOKEN } };
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({}, { MOXXY_INTERNAL_TOKEN: INTERNAL_TOKEN });
});
afterAll(() => server.close());

describe('API tokens over REST', () => {
  it('creates a mox_ token, shown once with its id, prefix and scopes, and stores only its SHA-256', async () => {
    const res = await server.api.post('/api/tokens', { name: 'ci', scopes: ['agents:read', 'chat'] }, internal);
    expect(res.status).toBe(201);
    const created = res.body.data;
    expect(created).toMatchObject({ name: 'ci', scopes: ['agents:read', 'chat'], expires_at: null });
    expect(created.id).toMatch(/^tok_/);
    expect(created.token).toMatch(/^mox_[A-Za-z0-9_-]{43}$/);
    expect(created.token.startsWith(created.prefix)).toBe(true);
    const [row] = await server.services.database.db.select().from(apiTokens).where(eq(apiTokens.id, created.id));
    expect(row!.hash).toBe(hashToken(created.token));
    expect(JSON.stringify(row)).not.toContain(created.token);
  });

  it('lists tokens without the token or its hash', async () => {
    const created = (await server.api.post('/api/tokens', { name: 'listed', scopes: ['*'] }, internal)).body.data;
    const res = await server.api.get('/api/tokens', internal);
    expect(res.status).toBe(200);
    const listed = res.body.data.tokens.find((t: { id: string }) => t.id === created.id);
    expect(listed).toMatchObject({ name: 'listed', scopes: ['*'], prefix: created.prefix, revoked_at: null, last_used_at: null });
    expect(JSON.stringify(res.body)).not.toContain(created.token);
    expect(JSON.stringify(res.body)).not.toContain(hashToken(created.token));
  });

  it('accepts a token with its scope, then 401 once it is revoked; revoking an unknown id is 404 TOKEN_NOT_FOUND', async () => {
    const created = (await server.api.post('/api/tokens', { name: 'short-lived', scopes: ['agents:read'] }, internal)).body.data;
    expect((await server.api.get('/api/agents', bearer(created.token))).status).toBe(200);
    const revoked = await server.api.delete(`/api/tokens/${created.id}`, internal);
    expect(revoked.status).toBe(200);
    expect(revoked.body.data).toEqual({ id: created.id, status: 'revoked' });
    const refused = await server.api.get('/api/agents', bearer(created.token));
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('UNAUTHORIZED');
    const unknown = await server.api.delete('/api/tokens/tok_unknown', internal);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('TOKEN_NOT_FOUND');
  });

  it('records last_used_at on use', async () => {
    const created = (await server.api.post('/api/tokens', { name: 'used', scopes: ['agents:read'] }, internal)).body.data;
    await server.api.get('/api/agents', bearer(created.token));
    await server.api.get('/api/agents', bearer(created.token));
    const deadline = Date.now() + 2000;
    let token;
    do {
      token = (await server.api.get('/api/tokens', internal)).body.data.tokens.find((t: { id: string }) => t.id === created.id);
    } while (!token.last_used_at && Date.now() < deadline);
    expect(Date.parse(token.last_used_at)).toBeGreaterThanOrEqual(Date.parse(created.created_at));
  });

  it('expires a token after expires_in seconds or at expires_at', async () => {
    const inAnHour = (await server.api.post('/api/tokens', { name: 'hour', scopes: ['agents:read'], expires_in: 3600 }, internal)).body.data;
    expect(Date.parse(inAnHour.expires_at) - Date.parse(inAnHour.created_at)).toBe(3_600_000);
    const at = new Date(Date.now() + 86_400_000).toISOString();
    const dated = await server.api.post('/api/tokens', { name: 'dated', scopes: ['agents:read'], expires_at: at }, internal);
    expect(dated.body.data.expires_at).toBe(at);
    expect((await server.api.get('/api/agents', bearer(inAnHour.token))).status).toBe(200);
    // Move the expiry into the past rather than waiting for it.
    await server.services.database.db.update(apiTokens).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(apiTokens.id, inAnHour.id));
    expect((await server.api.get('/api/agents', bearer(inAnHour.token))).status).toBe(401);
  });

  it('rejects unknown scopes, an expiry in the past and both expiry forms with 400 VALIDATION_ERROR', async () => {
    for (const body of [
      { name: 'x', scopes: ['agents:everything'] },
      { name: 'x', scopes: [] },
      { name: 'x', scopes: ['chat'], expires_at: '2001-01-01T00:00:00Z' },
      { name: 'x', scopes: ['chat'], expires_in: 60, expires_at: new Date(Date.now() + 60_000).toISOString() },
    ]) {
      const res = await server.api.post('/api/tokens', body, internal);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
    }
  });

  it('needs tokens:admin: a token without it is 403', async () => {
    const reader = (await server.api.post('/api/tokens', { name: 'reader', scopes: ['agents:read'] }, internal)).body.data;
    const admin = (await server.api.post('/api/tokens', { name: 'admin', scopes: ['tokens:admin'] }, internal)).body.data;
    expect((await server.api.get('/api/tokens', bearer(reader.token))).status).toBe(403);
    expect((await server.api.get('/api/tokens', bearer(admin.token))).status).toBe(200);
  });
});

describe('moxxy tokens', () => {
  it('creates (printing the token once), lists and revokes tokens on the database', async () => {
    const home = makeTempHome();
    try {
      const env = { MOXXY_HOME: home, MOXXY_LOG_LEVEL: 'silent' };
      const created = await runCli(['tokens', 'create', '--name', 'cli', '--scopes', 'agents:read,chat', '--expires-in', '3600'], env, home);
      expect(created.code).toBe(0);
      const token = created.stdout.trim();
      expect(token).toMatch(/^mox_[A-Za-z0-9_-]{43}$/);
      const id = /Created (tok_\S+)/.exec(created.stderr)![1]!;

      const listed = await runCli(['tokens', 'list'], env, home);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain(id);
      expect(listed.stdout).toContain('agents:read,chat');
      expect(listed.stdout).toContain('active');
      expect(listed.stdout).not.toContain(token);

      expect((await runCli(['tokens', 'revoke', id], env, home)).code).toBe(0);
      expect((await runCli(['tokens', 'list'], env, home)).stdout).toContain('revoked');
      const unknown = await runCli(['tokens', 'revoke', 'tok_nope'], env, home);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain("Token 'tok_nope' not found");

      const invalid = await runCli(['tokens', 'create', '--name', 'bad', '--scopes', 'root'], env, home);
      expect(invalid.code).toBe(1);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
