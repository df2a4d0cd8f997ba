/**
 * Every secret the server stores is encrypted with the vault's master key: channel tokens and the values of MCP
 * servers' env and headers are not in the database file, rows stored in plain text before are encrypted at
 * start-up (once), and `moxxy vault rotate-key` re-encrypts them with the vault, so channels and MCP servers keep
 * working.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveOverHttp, STDIO_FIXTURE, type HttpFixture } from './fixtures/mcp/server.ts';
import { MOXXY_BIN } from './helpers/process.ts';
import { makeTempHome, startTestServerIn, type TestServer } from './helpers/server.ts';

/** Starting a stdio MCP server means a node process loading tsx: slow on a loaded machine. */
const SLOW = 90_000;
const HTTP_TOKEN = 'http-channel-literal-token-93c1';
const BOT_TOKEN = '123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOpp';
const HEADER = 'Bearer mcp-header-literal-0a1b2c';
const ENV_VALUE = 'mcp-env-literal-3d4e5f';
const LITERALS = [HTTP_TOKEN, BOT_TOKEN, HEADER, ENV_VALUE];

let remote: HttpFixture;

beforeAll(async () => {
  remote = await serveOverHttp();
});
afterAll(() => remote.close());

function start(home: string): Promise<TestServer> {
  // The MCP fixture listens on loopback over plain http: the operator lists it as trusted.
  return startTestServerIn(home, { mcp: { allowedUrls: [remote.url] } });
}

/** An http and a (stopped) telegram channel with literal tokens, and MCP servers with a literal header and env value. */
async function configure(server: TestServer, options: { stdio: boolean }): Promise<void> {
  const channels = [
    { type: 'http', config: { authToken: HTTP_TOKEN, allowedTools: [] } },
    { type: 'telegram', config: { botToken: BOT_TOKEN }, enabled: false },
  ];
  for (const channel of channels) expect((await server.api.post('/api/agents/default/channels', channel)).status).toBe(201);
  expect((await server.api.post('/api/agents/default/mcp/servers', { name: 'remote', url: remote.url, headers: { Authorization: HEADER } })).body.data.status).toBe('connected');
  if (options.stdio) {
    const stdio = await server.api.post('/api/agents/default/mcp/servers', { name: 'calc', ...STDIO_FIXTURE, env: { FIXTURE_GREETING: ENV_VALUE } });
    expect(stdio.body.data.status).toBe('connected');
  }
}

/** The channel token opens /v1/turn, and the MCP servers get their header and env value. */
async function expectSecretsWork(server: TestServer, options: { stdio: boolean }): Promise<void> {
  const turn = await server.api.post('/v1/turn', { prompt: 'still here?' }, { headers: { authorization: `Bearer ${HTTP_TOKEN}` } });
  expect(turn.status).toBe(200);
  const seen = remote.authorizations.length;
  const echoed = await server.api.post('/api/agents/default/mcp/invoke', { server: 'remote', tool: 'echo', arguments: { text: 'hi' } });
  expect(echoed.body.data.content).toEqual([{ type: 'text', text: 'hi' }]);
  expect(remote.authorizations.slice(seen)).toContain(HEADER);
  if (options.stdio) {
    const env = await server.api.post('/api/agents/default/mcp/invoke', { server: 'calc', tool: 'env', arguments: { name: 'FIXTURE_GREETING' } });
    expect(env.body.data.content).toEqual([{ type: 'text', text: ENV_VALUE }]);
  }
}

async function storedSecrets(server: TestServer) {
  const { client } = server.services.database;
  const channels = await client.execute('SELECT name, config, secret_ciphertext, secret_key_id FROM channels ORDER BY name');
  const mcp = await client.execute('SELECT name, env, headers, secrets_key_id FROM mcp_servers ORDER BY name');
  return { channels: channels.rows.map((row) => ({ ...row })), mcp: mcp.rows.map((row) => ({ ...row })) };
}

function databaseFile(server: TestServer): Promise<string> {
  return server.services.database.client
    .execute('PRAGMA wal_checkpoint(TRUNCATE)')
    .then(() => readFileSync(join(server.home, 'moxxy.db')).toString('latin1'));
}

describe('channel tokens and MCP env and header values at rest', () => {
  it('are encrypted in the database file, while the API answers and works as before', async () => {
    const home = makeTempHome();
    const server = await start(home);
    try {
      await configure(server, { stdio: true });
      const channels = (await server.api.get('/api/agents/default/channels')).body.data.channels;
      expect(channels.map((channel: any) => channel.config)).toEqual([
        { authToken: '********', allowedTools: [] },
        { botToken: '********' },
      ]);
      const servers = (await server.api.get('/api/agents/default/mcp/servers')).body.data.servers;
      expect(servers.map((s: any) => [s.name, s.env_keys ?? s.header_keys])).toEqual([['remote', ['Authorization']], ['calc', ['FIXTURE_GREETING']]]);
      await expectSecretsWork(server, { stdio: true });

      const stored = await storedSecrets(server);
      expect(stored.channels.map((row) => JSON.parse(String(row.config)))).toEqual([{ allowedTools: [] }, {}]);
      expect(stored.channels.every((row) => typeof row.secret_ciphertext === 'string' && typeof row.secret_key_id === 'string')).toBe(true);
      expect(stored.mcp.map((row) => [Object.keys(JSON.parse(String(row.env))), Object.keys(JSON.parse(String(row.headers)))])).toEqual([
        [['FIXTURE_GREETING'], []],
        [[], ['Authorization']],
      ]);
      const file = await databaseFile(server);
      for (const literal of LITERALS) expect(file.includes(literal), literal).toBe(false);
    } finally {
      await server.close();
      rmSync(home, { recursive: true, force: true });
    }
  }, SLOW);

  it('are encrypted at start-up when stored in plain text before, once', async () => {
    const home = makeTempHome();
    try {
      let server = await start(home);
      await configure(server, { stdio: false });
      const { client } = server.services.database;
      await client.batch([
        {
          sql: "UPDATE channels SET config = json_set(config, '$.authToken', ?), secret_ciphertext = NULL, secret_key_id = NULL WHERE type = 'http'",
          args: [HTTP_TOKEN],
        },
        { sql: "UPDATE channels SET config = json_set(config, '$.botToken', ?), secret_ciphertext = NULL, secret_key_id = NULL WHERE type = 'telegram'", args: [BOT_TOKEN] },
        { sql: "UPDATE mcp_servers SET headers = ?, secrets_key_id = NULL WHERE name = 'remote'", args: [JSON.stringify({ Authorization: HEADER })] },
      ]);
      expect((await databaseFile(server)).includes(HTTP_TOKEN)).toBe(true);
      await server.close();

      server = await start(home);
      const encrypted = await storedSecrets(server);
      expect(encrypted.channels.map((row) => JSON.parse(String(row.config)))).toEqual([{ allowedTools: [] }, {}]);
      expect(JSON.parse(String(encrypted.mcp[0]!.headers)).Authorization).not.toBe(HEADER);
      expect(encrypted.mcp[0]!.secrets_key_id).toEqual(expect.any(String));
      const file = await databaseFile(server);
      for (const literal of LITERALS) expect(file.includes(literal), literal).toBe(false);
      await expectSecretsWork(server, { stdio: false });
      await server.close();

      server = await start(home);
      try {
        expect(await storedSecrets(server)).toEqual(encrypted);
      } finally {
        await server.close();
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, SLOW);
});

describe('moxxy vault rotate-key', () => {
  it('re-encrypts channel tokens and MCP env and header values with the vault, and they keep working', async () => {
    const home = makeTempHome();
    try {
      let server = await start(home);
      await configure(server, { stdio: true });
      expect((await server.api.post('/api/agents/default/vault', { key: 'KEPT', value: 'kept-value-1234' })).status).toBe(201);
      const before = await storedSecrets(server);
      await server.close();

      const child = spawn(process.execPath, [MOXXY_BIN, 'vault', 'rotate-key'], { env: { ...process.env, MOXXY_HOME: home, MOXXY_LOG_LEVEL: 'silent' } });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      expect(await new Promise((resolve) => child.once('close', resolve)), stderr).toBe(0);
      // The vault value, both channel tokens, the header and the env value.
      expect(stderr).toContain('Re-encrypted 5 secret(s)');

      server = await start(home);
      try {
        const after = await storedSecrets(server);
        for (const [i, row] of after.channels.entries()) {
          expect(row.secret_key_id).not.toBe(before.channels[i]!.secret_key_id);
          expect(row.secret_ciphertext).not.toBe(before.channels[i]!.secret_ciphertext);
        }
        for (const [i, row] of after.mcp.entries()) {
          expect(row.secrets_key_id).not.toBe(before.mcp[i]!.secrets_key_id);
          expect([row.env, row.headers]).not.toEqual([before.mcp[i]!.env, before.mcp[i]!.headers]);
        }
        await expectSecretsWork(server, { stdio: true });
        expect((await server.api.get('/api/agents/default/vault/KEPT')).body.data.value).toBe('kept-value-1234');
      } finally {
        await server.close();
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, SLOW * 2);
});
