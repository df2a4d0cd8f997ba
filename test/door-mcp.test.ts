/** The MCP door, driven with the MCP SDK's own client over streamable HTTP. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.ts';

const INTERNAL_TOKEN = 'internal-token-for-the-mcp-door-0123456789abc';
const internal = { 'x-moxxy-internal-token': INTERNAL_TOKEN };

let server: TestServer;
const clients: Client[] = [];
const tokens: Record<string, string> = {};

/** A connected MCP client sending `token` as its bearer token, as a desktop client configured with headers does. */
async function connect(token: string): Promise<Client> {
  const client = new Client({ name: 'door-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  await client.connect(transport);
  clients.push(client);
  return client;
}

type ToolResult = { isError?: boolean; structuredContent?: any; content: Array<{ type: string; text?: string }> };
const callTool = async (client: Client, name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as ToolResult;

beforeAll(async () => {
  server = await startTestServer({}, { MOXXY_INTERNAL_TOKEN: INTERNAL_TOKEN });
  expect((await server.api.post('/api/agents', { name: 'toolbox', description: 'Remembers things', allowed_tools: ['memory.*'] }, { headers: internal })).status).toBe(201);
  const scopes = { all: ['agents:read', 'chat', 'memory:read', 'memory:write'], chat: ['chat'], reader: ['agents:read'] };
  for (const [name, granted] of Object.entries(scopes)) {
    tokens[name] = (await server.api.post('/api/tokens', { name, scopes: granted }, { headers: internal })).body.data.token;
  }
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await server.close();
});

describe('the MCP door at /mcp', () => {
  it('lists its four tools with their input schemas', async () => {
    const { tools } = await (await connect(tokens.all!)).listTools();
    expect(tools.map((tool) => tool.name)).toEqual(['list_agents', 'send_message', 'search_memory', 'store_memory']);
    const send = tools.find((tool) => tool.name === 'send_message')!;
    expect(send.inputSchema.required).toEqual(['agent', 'message']);
    expect(Object.keys(send.inputSchema.properties ?? {})).toEqual(['agent', 'message', 'session_id', 'user_id']);
  });

  it('lists the agents', async () => {
    const result = await callTool(await connect(tokens.all!), 'list_agents', {});
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent.agents.map((agent: any) => [agent.name, agent.description])).toEqual([
      ['default', expect.any(String)],
      ['toolbox', 'Remembers things'],
    ]);
    expect(JSON.parse(result.content[0]!.text!)).toEqual(result.structuredContent);
  });

  it('sends a message to an agent and answers with the reply and the run id, continuing a session when asked', async () => {
    const client = await connect(tokens.all!);
    const first = await callTool(client, 'send_message', { agent: 'default', message: 'Hello from MCP', user_id: 'ada' });
    expect(first.structuredContent).toEqual({ answer: 'Hello from MCP', run_id: expect.stringMatching(/^run_/), session_id: expect.stringMatching(/^ses_/) });
    const run = (await server.api.get(`/api/runs/${first.structuredContent.run_id}`, { headers: internal })).body.data;
    expect(run).toMatchObject({ agent_id: 'default', status: 'completed', user_id: 'ada', output: 'Hello from MCP' });

    const second = await callTool(client, 'send_message', { agent: 'default', message: 'Again', session_id: first.structuredContent.session_id });
    expect(second.structuredContent.session_id).toBe(first.structuredContent.session_id);
    const history = (await server.api.get(`/api/agents/default/chat/history?session_id=${second.structuredContent.session_id}`, { headers: internal })).body.data;
    expect(history.messages.map((m: any) => m.content)).toEqual(['Hello from MCP', 'Hello from MCP', 'Again', 'Again']);
  });

  it('stores a memory and finds it again', async () => {
    const client = await connect(tokens.all!);
    const stored = await callTool(client, 'store_memory', { agent: 'toolbox', content: 'Ada prefers tea over coffee', user_id: 'ada', tags: ['drinks'] });
    expect(stored.structuredContent).toMatchObject({ id: expect.stringMatching(/^mem_/), agent: 'toolbox', user_id: 'ada', tags: ['drinks'] });
    const found = await callTool(client, 'search_memory', { agent: 'toolbox', query: 'what does Ada drink, tea?', user_id: 'ada' });
    expect(found.structuredContent.memories).toEqual([expect.objectContaining({ content: 'Ada prefers tea over coffee', relevance_score: expect.any(Number) })]);
  });

  it('refuses a tool whose scope the token lacks with a tool error naming the scope', async () => {
    const client = await connect(tokens.chat!);
    expect((await callTool(client, 'send_message', { agent: 'default', message: 'allowed' })).structuredContent.answer).toBe('allowed');
    for (const [name, args, scope] of [
      ['list_agents', {}, 'agents:read'],
      ['search_memory', { agent: 'toolbox', query: 'tea' }, 'memory:read'],
      ['store_memory', { agent: 'toolbox', content: 'nope' }, 'memory:write'],
    ] as const) {
      const result = await callTool(client, name, args);
      expect(result.isError, name).toBe(true);
      expect(result.content[0]!.text).toBe(`FORBIDDEN: This token lacks the '${scope}' scope`);
    }
    expect((await server.api.get('/api/agents/toolbox/memory', { headers: internal })).body.data.memories.map((m: any) => m.content)).not.toContain('nope');
  });

  it('answers what the procedure refuses as a tool error with its code', async () => {
    const result = await callTool(await connect(tokens.all!), 'send_message', { agent: 'nobody', message: 'hi' });
    expect(result).toMatchObject({ isError: true, content: [{ type: 'text', text: "AGENT_NOT_FOUND: Agent 'nobody' not found" }] });
  });

  it('needs a chat token to be opened at all: 401 without valid credentials, 403 without chat', async () => {
    await expect(connect('mox_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).rejects.toMatchObject({ code: 401, message: expect.stringContaining('UNAUTHORIZED') });
    await expect(connect(tokens.reader!)).rejects.toMatchObject({ code: 403, message: expect.stringContaining("lacks the 'chat' scope") });
    const anonymous = await server.api.post('/mcp', { jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="moxxy"');
  });

  it('answers JSON-RPC errors as documented: 406 for a client that does not accept both content types', async () => {
    const res = await server.api.post('/mcp', { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { headers: { authorization: `Bearer ${tokens.all}` } });
    expect(res.status).toBe(406);
    expect(res.body).toMatchObject({ jsonrpc: '2.0', error: { code: -32000, message: expect.stringContaining('Not Acceptable') } });
  });
});
