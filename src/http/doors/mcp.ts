/**
 * The MCP door: the server as an MCP server at POST /mcp (streamable HTTP, stateless, JSON answers), so coding
 * assistants reach its agents. Each tool calls the procedure its REST twin runs, as the caller the pipeline's auth hook
 * found: the same scopes (agents:read, chat, memory:read, memory:write), validation and rules, and a refusal is a tool
 * error saying why. The door itself needs `chat` and counts as chat, as talking to agents is what it is for.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PaginationInput, Slug } from '../../domain/common.ts';
import { ChatInput } from '../../domain/chat.ts';
import { MemoryAdd, MemoryListInput } from '../../domain/memory.ts';
import { createCaller } from '../../routers/app.ts';
import { toAppError } from '../../routers/errors.ts';
import { ANONYMOUS } from '../../services/auth/authenticator.ts';
import type { Services } from '../../services/container.ts';
import { VERSION } from '../../services/system.ts';
import { callerOf } from '../auth.ts';
import { errorEnvelope } from '../envelope.ts';
import { defineRawRoute, type RawRouteSpec } from '../raw-routes.ts';

const JsonRpcId = z.union([z.string(), z.number().int()]);

const McpMessage = z
  .object({
    jsonrpc: z.literal('2.0'),
    id: JsonRpcId.optional().describe('Absent for notifications.'),
    method: z.string().optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    result: z.record(z.string(), z.unknown()).optional(),
    error: z.object({ code: z.number().int(), message: z.string(), data: z.unknown().optional() }).optional(),
  })
  .describe('One JSON-RPC message of the Model Context Protocol (initialize, tools/list, tools/call, notifications...).')
  .meta({ id: 'McpJsonRpcMessage' });

const McpError = z
  .object({ jsonrpc: z.literal('2.0'), id: JsonRpcId.nullable(), error: z.object({ code: z.number().int(), message: z.string() }) })
  .meta({ id: 'McpJsonRpcError' });

const McpAnswer = z
  .object({ jsonrpc: z.literal('2.0'), id: JsonRpcId, result: z.record(z.string(), z.unknown()).optional(), error: McpError.shape.error.optional() })
  .meta({ id: 'McpJsonRpcAnswer' });

/** A procedure's result as JSON (dates as ISO strings): a tool's structured content, and its text for clients without it. */
function toolResult(result: object) {
  const structuredContent = JSON.parse(JSON.stringify(result)) as Record<string, unknown>;
  return { content: [{ type: 'text' as const, text: JSON.stringify(structuredContent) }], structuredContent };
}

/** The tools, each running its REST twin's procedure as `request`'s caller; a failure becomes a tool error naming its code. */
/** The MCP SDK's server side (some 15 MB with the client side) is loaded by the door's first request, not at start-up. */
const loadSdk = async () => {
  const [{ McpServer }, { WebStandardStreamableHTTPServerTransport }] = await Promise.all([
    import('@modelcontextprotocol/sdk/server/mcp.js'),
    import('@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'),
  ]);
  return { McpServer, WebStandardStreamableHTTPServerTransport };
};

function mcpServerFor(request: FastifyRequest, services: Services, sdk: Awaited<ReturnType<typeof loadSdk>>): McpServer {
  const api = createCaller({ services, caller: () => Promise.resolve(callerOf(request) ?? ANONYMOUS) });
  const call = async (run: () => Promise<object>) => {
    try {
      return toolResult(await run());
    } catch (error) {
      const app = toAppError(error);
      // The last gate before the text leaves the process, as the error handler is for HTTP answers.
      throw new Error(`${app.code}: ${services.redactor.redact(app.message).value}`);
    }
  };
  const server = new sdk.McpServer(
    { name: 'moxxy', version: VERSION },
    { instructions: "This server's agents: list them, send them messages, and search or store what they remember." },
  );
  server.registerTool(
    'list_agents',
    {
      description: 'List the agents on this server: name, description, model and allowed tools. Needs the agents:read scope.',
      inputSchema: PaginationInput.shape,
      annotations: { readOnlyHint: true },
    },
    (page) => call(() => api.agents.list(page)),
  );
  server.registerTool(
    'send_message',
    {
      description:
        "Send a message to an agent and get its answer, with the run id (its steps: GET /api/runs/{run_id}). The agent's prompt, " +
        'memory and tools apply. Pass session_id to continue a conversation. Needs the chat scope.',
      inputSchema: { agent: Slug.describe('The agent\'s name.'), ...ChatInput.pick({ message: true, session_id: true, user_id: true }).shape },
    },
    ({ agent, ...turn }) =>
      call(async () => {
        const reply = await api.chat.send({ name: agent, ...turn });
        return { answer: reply.content, run_id: reply.run_id, session_id: reply.session_id };
      }),
  );
  server.registerTool(
    'search_memory',
    {
      description: "Search an agent's memories, best match first, each with a relevance_score from 0 to 1. Needs the memory:read scope.",
      inputSchema: {
        agent: Slug.describe('The agent\'s name.'),
        query: MemoryListInput.shape.query.unwrap().min(1),
        user_id: MemoryListInput.shape.user_id,
        limit: MemoryListInput.shape.limit,
      },
      annotations: { readOnlyHint: true },
    },
    ({ agent, ...search }) => call(() => api.memory.list({ name: agent, offset: 0, ...search })),
  );
  server.registerTool(
    'store_memory',
    {
      description: 'Store a memory for an agent, for everyone or for one user (user_id). Needs the memory:write scope.',
      inputSchema: { agent: Slug.describe('The agent\'s name.'), ...MemoryAdd.pick({ content: true, user_id: true, tags: true }).shape },
    },
    ({ agent, ...memory }) => call(() => api.memory.add({ name: agent, ...memory })),
  );
  return server;
}

/** The request as the SDK's web-standard transport reads it; the body is passed already parsed. */
function webRequestOf(request: FastifyRequest): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return new Request(`http://${request.headers.host ?? 'localhost'}${request.url}`, { method: request.method, headers });
}

export const mcpRoute = defineRawRoute({
  id: 'mcpServer.message',
  method: 'POST',
  path: '/mcp',
  tags: ['mcp-server'],
  summary: 'The server as an MCP server (streamable HTTP)',
  description:
    'The Model Context Protocol over streamable HTTP, stateless (no Mcp-Session-Id), answering JSON. Tools: list_agents, ' +
    'send_message, search_memory, store_memory; each needs the scope of its REST twin (agents:read, chat, memory:read, ' +
    'memory:write) and answers a refusal as a tool error (`isError`), e.g. "FORBIDDEN: This token lacks the \'memory:write\' ' +
    'scope". Send `Accept: application/json, text/event-stream` (406 otherwise). Notifications are answered 202 with no body.',
  scope: 'chat',
  rateLimit: 'chat',
  request: { body: { contentType: 'application/json', schema: McpMessage } },
  responses: { 200: { description: 'The answer to a request', contentType: 'application/json', schema: McpAnswer } },
  rawErrors: {
    400: {
      description: 'VALIDATION_ERROR, INVALID_JSON (error envelope); a message MCP refuses (JSON-RPC error)',
      contentType: 'application/json',
      schema: z.union([errorEnvelope(['VALIDATION_ERROR', 'INVALID_JSON']), McpError]),
    },
    406: { description: 'The request does not accept both application/json and text/event-stream', contentType: 'application/json', schema: McpError },
  },
  async handler({ body }, request, reply, services) {
    const sdk = await loadSdk();
    const server = mcpServerFor(request, services, sdk);
    const transport = new sdk.WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    try {
      await server.connect(transport);
      const answer = await transport.handleRequest(webRequestOf(request), { parsedBody: body });
      reply.code(answer.status);
      answer.headers.forEach((value, name) => reply.header(name, value));
      const text = await answer.text();
      return text ? reply.send(text) : reply.send();
    } finally {
      await server.close();
    }
  },
});

export const mcpRoutes: RawRouteSpec[] = [mcpRoute];
