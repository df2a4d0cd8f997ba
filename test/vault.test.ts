import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { createServices } from '../src/services/container.ts';
import { decryptSecret, encryptSecret } from '../src/services/vault/crypto.ts';
import { parseMasterKey } from '../src/services/vault/master-key.ts';
import { MOXXY_BIN } from './helpers/process.ts';
import { makeTempHome, startTestServer, startTestServerIn, type TestServer } from './helpers/server.ts';

const OPENAI = 'https://api.openai.test/v1';
const HEX_KEY = 'a'.repeat(64);
const msw = setupServer();
let server: TestServer;

beforeAll(async () => {
  msw.listen({ onUnhandledRequest: 'bypass' });
  server = await startTestServer({ providers: { openai: { baseUrl: OPENAI, apiKey: '${vault:OPENAI_KEY}' }, maxRetries: 0, retryBaseDelayMs: 1 } });
});
afterEach(() => msw.resetHandlers());
afterAll(async () => {
  msw.close();
  await server.close();
});

async function audit(eventType: string): Promise<Array<{ agent_id: string; payload: any }>> {
  const res = await server.api.get(`/api/audit?event_type=${eventType}&limit=1000`);
  return res.body.data.events;
}

async function storedRow(agent: string, key: string) {
  const result = await server.services.database.client.execute({ sql: 'SELECT ciphertext, key_id FROM secrets WHERE agent = ? AND key = ?', args: [agent, key] });
  return result.rows[0] as unknown as { ciphertext: string; key_id: string } | undefined;
}

/** Runs `moxxy` with optional stdin, to completion. */
function moxxy(args: string[], env: Record<string, string>, stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MOXXY_BIN, ...args], { env: { ...process.env, MOXXY_LOG_LEVEL: 'silent', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(stdin ?? '');
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

describe('vault API', () => {
  it('stores, lists without values, reads, replaces and deletes a secret', async () => {
    const created = await server.api.post('/api/agents/default/vault', { key: 'gateway_port', value: '18900-secret' });
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({ key: 'gateway_port', created: true });

    const list = await server.api.get('/api/agents/default/vault');
    expect(list.status).toBe(200);
    expect(list.body.data.secrets).toEqual([{ key: 'gateway_port', created_at: expect.any(String), updated_at: expect.any(String) }]);
    expect(JSON.stringify(list.body)).not.toContain('18900-secret');

    const read = await server.api.get('/api/agents/default/vault/gateway_port');
    expect(read.body.data).toMatchObject({ key: 'gateway_port', value: '18900-secret' });

    const replaced = await server.api.post('/api/agents/default/vault', { key: 'gateway_port', value: 'replaced-value' });
    expect(replaced.status).toBe(201);
    expect(replaced.body.data.created).toBe(false);
    expect((await server.api.get('/api/agents/default/vault/gateway_port')).body.data.value).toBe('replaced-value');

    const deleted = await server.api.delete('/api/agents/default/vault/gateway_port');
    expect(deleted.body.data).toEqual({ key: 'gateway_port', status: 'deleted' });
    const again = await server.api.delete('/api/agents/default/vault/gateway_port');
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('SECRET_NOT_FOUND');
    expect((await server.api.get('/api/agents/default/vault/gateway_port')).body.error.code).toBe('SECRET_NOT_FOUND');
  });

  it('audits the explicit read as vault.accessed with the key, never the value', async () => {
    await server.api.post('/api/agents/default/vault', { key: 'AUDITED', value: 'audited-value-123' });
    await server.api.get('/api/agents/default/vault/AUDITED');
    const accessed = (await audit('vault.accessed')).filter((event) => event.payload.key === 'AUDITED');
    expect(accessed).toEqual([expect.objectContaining({ agent_id: 'default', payload: { key: 'AUDITED', source: 'api' } })]);
  });

  it('answers 404 AGENT_NOT_FOUND for an unknown agent and 400 for a bad key or an oversized value', async () => {
    for (const res of [
      await server.api.get('/api/agents/ghost/vault'),
      await server.api.get('/api/agents/ghost/vault/KEY'),
      await server.api.post('/api/agents/ghost/vault', { key: 'KEY', value: 'value' }),
      await server.api.delete('/api/agents/ghost/vault/KEY'),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('AGENT_NOT_FOUND');
    }
    const badKey = await server.api.post('/api/agents/default/vault', { key: '9lives', value: 'value' });
    expect(badKey.status).toBe(400);
    expect(badKey.body.error.code).toBe('VALIDATION_ERROR');
    const tooLarge = await server.api.post('/api/agents/default/vault', { key: 'BIG', value: 'x'.repeat(32 * 1024 + 1) });
    expect(tooLarge.status).toBe(400);
  });

  it('keeps secrets per agent: another agent sees none of them', async () => {
    await server.api.post('/api/agents', { name: 'other' });
    await server.api.post('/api/agents/default/vault', { key: 'MINE', value: 'default-only-value' });
    expect((await server.api.get('/api/agents/other/vault')).body.data.secrets).toEqual([]);
    expect((await server.api.get('/api/agents/other/vault/MINE')).body.error.code).toBe('SECRET_NOT_FOUND');
  });

  it("deletes an agent's secrets with the agent", async () => {
    await server.api.post('/api/agents', { name: 'doomed' });
    await server.api.post('/api/agents/doomed/vault', { key: 'GONE', value: 'gone-with-agent' });
    await server.api.delete('/api/agents/doomed');
    expect(await storedRow('doomed', 'GONE')).toBeUndefined();
  });
});

describe('vault encryption', () => {
  it('stores AES-256-GCM ciphertext (nonce | tag | ciphertext) tagged with the key fingerprint, never the value', async () => {
    await server.api.post('/api/agents/default/vault', { key: 'AT_REST', value: 'plain-text-at-rest' });
    const row = (await storedRow('default', 'AT_REST'))!;
    expect(row.key_id).toMatch(/^[0-9a-f]{16}$/);
    expect(row.ciphertext).not.toContain('plain-text-at-rest');
    expect(Buffer.from(row.ciphertext, 'base64').length).toBe(12 + 16 + 'plain-text-at-rest'.length);
    // A fresh nonce per write: the same value never gives the same ciphertext.
    await server.api.post('/api/agents/default/vault', { key: 'AT_REST', value: 'plain-text-at-rest' });
    expect((await storedRow('default', 'AT_REST'))!.ciphertext).not.toBe(row.ciphertext);
  });

  it('refuses a ciphertext moved to another agent or key', () => {
    const key = parseMasterKey(HEX_KEY, 'test');
    const blob = encryptSecret(key, { agent: 'a', key: 'K' }, 'value');
    expect(decryptSecret(key, { agent: 'a', key: 'K' }, blob)).toBe('value');
    expect(() => decryptSecret(key, { agent: 'b', key: 'K' }, blob)).toThrow(/does not decrypt/);
    expect(() => decryptSecret(key, { agent: 'a', key: 'K2' }, blob)).toThrow(/does not decrypt/);
  });

  it('accepts a master key as 64 hex or 44 base64 characters and refuses anything else', () => {
    expect(parseMasterKey(HEX_KEY, 'x')).toHaveLength(32);
    expect(parseMasterKey(Buffer.alloc(32, 7).toString('base64'), 'x')).toEqual(Buffer.alloc(32, 7));
    for (const bad of ['', 'short', 'a'.repeat(63), 'a'.repeat(66), Buffer.alloc(31).toString('base64')]) {
      expect(() => parseMasterKey(bad, 'MOXXY_VAULT_KEY')).toThrow(/MOXXY_VAULT_KEY is not a vault master key/);
    }
  });
});

describe('master key', () => {
  it('creates <home>/vault.key with mode 0600 and reads the vault back after a restart', async () => {
    const home = makeTempHome();
    try {
      const first = await startTestServerIn(home);
      const file = join(home, 'vault.key');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      await first.api.post('/api/agents/default/vault', { key: 'PERSISTED', value: 'survives-restart' });
      await first.close();
      const second = await startTestServerIn(home);
      expect((await second.api.get('/api/agents/default/vault/PERSISTED')).body.data.value).toBe('survives-restart');
      await second.close();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('refuses to start with a key file readable by others, a malformed MOXXY_VAULT_KEY, or the wrong key', async () => {
    const home = makeTempHome();
    try {
      const first = await startTestServerIn(home);
      await first.api.post('/api/agents/default/vault', { key: 'LOCKED', value: 'locked-value' });
      await first.close();
      chmodSync(join(home, 'vault.key'), 0o644);
      await expect(startTestServerIn(home)).rejects.toThrow(/readable by group or others.*chmod 600/);
      chmodSync(join(home, 'vault.key'), 0o600);
      await expect(startTestServerIn(home, {}, { MOXXY_VAULT_KEY: 'not-a-key' })).rejects.toThrow(/MOXXY_VAULT_KEY .*is not a vault master key/);
      await expect(startTestServerIn(home, {}, { MOXXY_VAULT_KEY: HEX_KEY })).rejects.toThrow(/encrypted with master key .* but the key in use is/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('uses MOXXY_VAULT_KEY instead of a key file', async () => {
    const local = await startTestServer({}, { MOXXY_VAULT_KEY: HEX_KEY });
    try {
      await local.api.post('/api/agents/default/vault', { key: 'FROM_ENV', value: 'env-keyed-value' });
      expect(existsSync(join(local.home, 'vault.key'))).toBe(false);
      expect((await local.api.get('/api/agents/default/vault/FROM_ENV')).body.data.value).toBe('env-keyed-value');
    } finally {
      await local.close();
    }
  });
});

describe('the server vault', () => {
  it('stores, lists without values, reads (audited with no agent), replaces and deletes a server secret, apart from every agent', async () => {
    const created = await server.api.post('/api/vault', { key: 'SERVER_ONLY', value: 'server-only-value' });
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({ key: 'SERVER_ONLY', created: true });
    expect((await server.api.post('/api/vault', { key: 'SERVER_ONLY', value: 'server-only-value-2' })).body.data.created).toBe(false);

    const list = (await server.api.get('/api/vault')).body.data;
    expect(list.secrets.map((secret: any) => secret.key)).toContain('SERVER_ONLY');
    expect(JSON.stringify(list)).not.toContain('server-only-value');
    expect((await server.api.get('/api/vault/SERVER_ONLY')).body.data.value).toBe('server-only-value-2');
    const accessed = (await audit('vault.accessed')).filter((event) => event.payload.key === 'SERVER_ONLY');
    expect(accessed).toEqual([expect.objectContaining({ agent_id: null, payload: { key: 'SERVER_ONLY', source: 'api' } })]);

    expect((await server.api.get('/api/agents/default/vault/SERVER_ONLY')).body.error.code).toBe('SECRET_NOT_FOUND');
    expect((await storedRow('@server', 'SERVER_ONLY'))?.ciphertext).not.toContain('server-only-value');
    expect(await server.trpc.serverVault.get.query({ key: 'SERVER_ONLY' })).toMatchObject({ key: 'SERVER_ONLY', value: 'server-only-value-2' });

    expect((await server.api.delete('/api/vault/SERVER_ONLY')).body.data).toEqual({ key: 'SERVER_ONLY', status: 'deleted' });
    const gone = await server.api.get('/api/vault/SERVER_ONLY');
    expect(gone.status).toBe(404);
    expect(gone.body.error).toMatchObject({ code: 'SECRET_NOT_FOUND', message: "Server secret 'SERVER_ONLY' not found" });
  });

  it('registers server secrets with the redactor', async () => {
    await server.api.post('/api/vault', { key: 'REDACT_ME', value: 'server-secret-in-a-message' });
    const reply = (await server.api.post('/api/agents/default/chat', { message: 'say server-secret-in-a-message' })).body.data;
    expect(reply.content).toBe('say [REDACTED]');
  });

  it('is the operator\'s: a token needs the admin scope, vault:read and vault:write are not enough', async () => {
    const locked = await startTestServer({}, { MOXXY_INTERNAL_TOKEN: 'server-vault-internal-token-0123456789' });
    try {
      const internal = { 'x-moxxy-internal-token': 'server-vault-internal-token-0123456789' };
      const mint = async (scopes: string[]) => (await locked.api.post('/api/tokens', { name: scopes.join('-'), scopes }, { headers: internal })).body.data.token;
      const vaultToken = { authorization: `Bearer ${await mint(['vault:read', 'vault:write'])}` };
      const adminToken = { authorization: `Bearer ${await mint(['admin'])}` };
      const refused = await locked.api.post('/api/vault', { key: 'K', value: 'v' }, { headers: vaultToken });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('FORBIDDEN');
      expect((await locked.api.get('/api/vault', { headers: vaultToken })).status).toBe(403);
      expect((await locked.api.post('/api/vault', { key: 'K', value: 'v' }, { headers: adminToken })).status).toBe(201);
      expect((await locked.api.get('/api/vault/K', { headers: internal })).body.data.value).toBe('v');
    } finally {
      await locked.close();
    }
  });
});

describe('${vault:KEY} resolution', () => {
  it("resolves an agent's settings with its own secrets and the server's configuration with the server's", async () => {
    await server.api.post('/api/agents', { name: 'resolver' });
    await server.api.post('/api/agents/resolver/vault', { key: 'USER', value: 'resolver-user' });
    await server.api.post('/api/agents/default/vault', { key: 'USER', value: 'default-user' });
    await server.api.post('/api/vault', { key: 'USER', value: 'server-user' });
    await server.api.post('/api/vault', { key: 'PASS', value: 'server-pass' });
    expect(await server.services.resolveSecret('${vault:USER}:${vault:PASS}@host ${vault:USER}')).toBe('server-user:server-pass@host server-user');
    expect(await server.services.resolveSecret('u=${vault:USER}', 'resolver')).toBe('u=resolver-user');
    expect(await server.services.resolveSecret('no references')).toBe('no references');
  });

  it("fails with SECRET_NOT_FOUND naming the missing key of an agent's setting", async () => {
    await expect(server.services.resolveSecret('Bearer ${vault:NOPE}', 'default')).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND', message: expect.stringContaining('${vault:NOPE}') });
  });

  it('fails with 503 CONFIG_UNRESOLVED, saying how to fix it, for configuration naming a server secret that is missing or an agent\'s', async () => {
    await expect(server.services.resolveSecret('Bearer ${vault:NOPE}')).rejects.toMatchObject({
      code: 'CONFIG_UNRESOLVED',
      status: 503,
      message: "The server configuration refers to ${vault:NOPE}, but the server has no secret 'NOPE': store it with moxxy vault set --server NOPE or POST /api/vault",
    });
    await expect(server.services.resolveSecret('${vault:default/USER}')).rejects.toMatchObject({ code: 'CONFIG_UNRESOLVED', message: expect.stringContaining('moxxy vault set --server USER') });
  });

  it("refuses and audits a reference to another agent's secret", async () => {
    await server.api.post('/api/agents', { name: 'victim' });
    await server.api.post('/api/agents/victim/vault', { key: 'THEIRS', value: 'victim-secret' });
    await expect(server.services.resolveSecret('${vault:victim/THEIRS}', 'default')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const denied = (await audit('vault.denied')).filter((event) => event.payload.key === 'THEIRS');
    expect(denied).toEqual([expect.objectContaining({ agent_id: 'default', payload: { key: 'THEIRS', reason: 'other_agent', source: 'config' } })]);
  });

  it("gives every agent's model provider the server's ${vault:OPENAI_KEY}, and answers 503 CONFIG_UNRESOLVED while it is missing", async () => {
    await server.api.post('/api/agents', { name: 'paid', model: { provider: 'openai', name: 'gpt-4o-mini' } });
    await server.api.post('/api/agents', { name: 'also-paid', model: { provider: 'openai', name: 'gpt-4o-mini' } });
    const missing = await server.api.post('/api/agents/paid/chat', { message: 'hello' });
    expect(missing.status).toBe(503);
    expect(missing.body.error).toMatchObject({ code: 'CONFIG_UNRESOLVED', details: { reference: '${vault:OPENAI_KEY}', key: 'OPENAI_KEY' } });
    expect(missing.body.error.message).toContain('moxxy vault set --server OPENAI_KEY');

    await server.api.post('/api/vault', { key: 'OPENAI_KEY', value: 'sk-server-openai-key' });
    const authorizations: Array<string | null> = [];
    msw.use(
      http.post(`${OPENAI}/chat/completions`, ({ request }) => {
        authorizations.push(request.headers.get('authorization'));
        const chunk = { choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: 'stop' }] };
        return new HttpResponse(`data: ${JSON.stringify(chunk)}\n\ndata: [DONE]\n\n`, { headers: { 'content-type': 'text/event-stream' } });
      }),
    );
    expect((await server.api.post('/api/agents/paid/chat', { message: 'hello' })).status).toBe(200);
    expect((await server.api.post('/api/agents/also-paid/chat', { message: 'hello' })).status).toBe(200);
    expect(authorizations).toEqual(['Bearer sk-server-openai-key', 'Bearer sk-server-openai-key']);
    await server.api.delete('/api/vault/OPENAI_KEY');
  });
});

describe('skills and the vault', () => {
  it('gives a skill only the secrets its env_keys name, redacts them from its output and audits a missing one', async () => {
    await server.api.post('/api/agents', { name: 'skilled' });
    await server.api.post('/api/agents/skilled/vault', { key: 'API_TOKEN', value: 'granted-token-value' });
    await server.api.post('/api/agents/skilled/vault', { key: 'UNNAMED', value: 'never-granted-value' });
    await server.api.post('/api/agents/skilled/skills', {
      name: 'show_env',
      language: 'bash',
      code: 'echo "token=${API_TOKEN:-none} unnamed=${UNNAMED:-none} missing=${MISSING:-none}"',
      needs_env: true,
      env_keys: ['API_TOKEN', 'MISSING'],
    });
    const res = await server.api.post('/api/agents/skilled/skills/show_env/invoke', { args: [] });
    expect(res.status).toBe(200);
    expect(res.body.data.output.trim()).toBe('token=[REDACTED] unnamed=none missing=none');

    const denied = (await audit('vault.denied')).filter((event) => event.agent_id === 'skilled');
    expect(denied.map((event) => event.payload)).toEqual([{ key: 'MISSING', reason: 'not_found', skill: 'show_env' }]);
    const accessed = (await audit('vault.accessed')).filter((event) => event.agent_id === 'skilled');
    expect(accessed.map((event) => event.payload)).toEqual([{ key: 'API_TOKEN', skill: 'show_env' }]);
  });

  it('gives a skill without needs_env no secrets at all', async () => {
    await server.api.post('/api/agents', { name: 'noenv' });
    await server.api.post('/api/agents/noenv/vault', { key: 'API_TOKEN', value: 'withheld-token' });
    await server.api.post('/api/agents/noenv/skills', { name: 'show_env', language: 'bash', code: 'echo "token=${API_TOKEN:-none}"', env_keys: ['API_TOKEN'] });
    const res = await server.api.post('/api/agents/noenv/skills/show_env/invoke', { args: [] });
    expect(res.body.data.output.trim()).toBe('token=none');
  });
});

describe('moxxy vault', () => {
  it('sets (argument or stdin), gets, lists and deletes secrets on the database, and rotates the key file', async () => {
    const home = makeTempHome();
    const env = { MOXXY_HOME: home };
    try {
      expect((await moxxy(['vault', 'set', 'FROM_ARG', 'argument-value'], env)).code).toBe(0);
      const fromStdin = await moxxy(['vault', 'set', '--agent', 'default', 'FROM_STDIN'], env, 'stdin-value\n');
      expect(fromStdin.code).toBe(0);
      expect((await moxxy(['vault', 'get', 'FROM_STDIN'], env)).stdout).toBe('stdin-value\n');
      const list = await moxxy(['vault', 'list'], env);
      expect(list.stdout.split('\n').filter(Boolean).map((line) => line.split('\t')[0])).toEqual(['FROM_ARG', 'FROM_STDIN']);
      expect(list.stdout).not.toContain('value');
      expect((await moxxy(['vault', 'delete', 'FROM_ARG'], env)).code).toBe(0);
      const missing = await moxxy(['vault', 'get', 'FROM_ARG'], env);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("Secret 'FROM_ARG' not found");
      expect((await moxxy(['vault', 'set', '--agent', 'ghost', 'K', 'v1234'], env)).stderr).toContain("Agent 'ghost' not found");

      const keyFile = join(home, 'vault.key');
      const before = readFileSync(keyFile, 'utf8');
      const rotated = await moxxy(['vault', 'rotate-key'], env);
      expect(rotated.code).toBe(0);
      expect(rotated.stdout).toBe('');
      const after = readFileSync(keyFile, 'utf8');
      expect(after).not.toBe(before);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(existsSync(`${keyFile}.new`)).toBe(false);
      expect((await moxxy(['vault', 'get', 'FROM_STDIN'], env)).stdout).toBe('stdin-value\n');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 90_000); // a dozen CLI processes, each compiling TypeScript at start

  it("works on the server's own secrets with --server, and rotate-key re-encrypts them too", async () => {
    const home = makeTempHome();
    const env = { MOXXY_HOME: home };
    try {
      const set = await moxxy(['vault', 'set', '--server', 'OPENAI_API_KEY'], env, 'sk-from-the-cli\n');
      expect(set).toMatchObject({ code: 0, stderr: 'Stored OPENAI_API_KEY for the server\n' });
      expect((await moxxy(['vault', 'list', '--server'], env)).stdout).toMatch(/^OPENAI_API_KEY\tcreated /);
      const both = await moxxy(['vault', 'get', '--server', '--agent', 'default', 'OPENAI_API_KEY'], env);
      expect(both.code).toBe(1);
      expect(both.stderr).toContain("'--agent <name>' cannot be used with option '--server'");

      expect((await moxxy(['vault', 'rotate-key'], env)).stderr).toContain('Re-encrypted 1 secret(s)');
      expect((await moxxy(['vault', 'get', '--server', 'OPENAI_API_KEY'], env)).stdout).toBe('sk-from-the-cli\n');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 90_000);

  it('prints the new key when MOXXY_VAULT_KEY holds the master key', async () => {
    const home = makeTempHome();
    try {
      const env = { MOXXY_HOME: home, MOXXY_VAULT_KEY: HEX_KEY };
      await moxxy(['vault', 'set', 'ROTATED', 'rotated-value'], env);
      const rotated = await moxxy(['vault', 'rotate-key'], env);
      expect(rotated.code).toBe(0);
      const newKey = rotated.stdout.trim();
      expect(newKey).toMatch(/^[0-9a-f]{64}$/);
      expect(rotated.stderr).toContain('Set MOXXY_VAULT_KEY');
      expect((await moxxy(['vault', 'get', 'ROTATED'], env)).stderr).toContain('encrypted with master key');
      const config = await loadConfig({ cwd: home, env: { MOXXY_HOME: home, MOXXY_VAULT_KEY: newKey }, overrides: { logLevel: 'silent' } });
      const services = await createServices(config);
      try {
        expect((await services.vault.get('default', 'ROTATED')).value).toBe('rotated-value');
      } finally {
        await services.close();
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
