/** MCP servers per agent: stored in mcp_servers, one lazily connected client each, their tools and tool calls. */
import { and, asc, eq } from 'drizzle-orm';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { AppError } from '../../domain/errors.ts';
import {
  mcpServerConfig,
  type McpInvoke,
  type McpInvokeResult,
  type McpServer,
  type McpServerConfig,
  type McpServerCreate,
  type McpTool,
} from '../../domain/mcp.ts';
import type { Db } from '../../db/client.ts';
import { mcpServers } from '../../db/schema.ts';
import type { AgentService } from '../agents.ts';
import { McpConnection } from './connection.ts';

type McpServerRow = typeof mcpServers.$inferSelect;

export interface McpServiceDeps {
  db: Db;
  agents: AgentService;
  /** Resolves `${vault:KEY}` in a server's args, env and headers, for the agent that owns it. */
  resolveSecret(value: string, agent: string): Promise<string>;
  /** Connect, list and call timeout (default 30 s). */
  timeoutMs?: number;
  /** How long listings leave a server that failed to connect alone before trying again (default 30 s); calls always try. */
  retryAfterMs?: number;
}

function configOf(row: McpServerRow): McpServerConfig {
  return row.transport === 'stdio'
    ? { transport: 'stdio', command: row.command ?? '', args: row.args, env: row.env }
    : { transport: 'http', url: row.url ?? '', headers: row.headers };
}

function toServer(row: McpServerRow, connection: McpConnection | undefined): McpServer {
  const status = connection?.status ?? 'disconnected';
  return {
    name: row.name,
    transport: row.transport,
    status,
    tools_count: connection?.tools.length ?? 0,
    ...(status === 'error' && connection?.error ? { error: connection.error } : {}),
    ...(row.transport === 'stdio'
      ? { command: row.command ?? '', args: row.args, env_keys: Object.keys(row.env) }
      : { url: row.url ?? '', header_keys: Object.keys(row.headers) }),
    created_at: row.createdAt,
  };
}

function serverNotFound(agent: string, name: string): AppError {
  return new AppError('MCP_SERVER_NOT_FOUND', `MCP server '${name}' not found for agent '${agent}'`, { agent, name });
}

export class McpService {
  private readonly connections = new Map<string, McpConnection>();
  private readonly timeoutMs: number;
  private readonly retryAfterMs: number;

  constructor(private readonly deps: McpServiceDeps) {
    this.timeoutMs = deps.timeoutMs ?? 30_000;
    this.retryAfterMs = deps.retryAfterMs ?? 30_000;
  }

  async list(agent: string): Promise<McpServer[]> {
    await this.deps.agents.get(agent);
    return (await this.rows(agent)).map((row) => toServer(row, this.connections.get(keyOf(row))));
  }

  /** Saves the server and connects at once; one that fails to connect is kept, with its error, to retry or remove. */
  async add(agent: string, input: McpServerCreate): Promise<McpServer> {
    await this.deps.agents.get(agent);
    const config = mcpServerConfig(input);
    const row: McpServerRow = {
      agent,
      name: input.name,
      transport: config.transport,
      command: config.transport === 'stdio' ? config.command : null,
      args: config.transport === 'stdio' ? config.args : [],
      env: config.transport === 'stdio' ? config.env : {},
      url: config.transport === 'http' ? config.url : null,
      headers: config.transport === 'http' ? config.headers : {},
      createdAt: new Date(),
    };
    const inserted = await this.deps.db.insert(mcpServers).values(row).onConflictDoNothing().returning({ name: mcpServers.name });
    if (inserted.length === 0) {
      throw new AppError('MCP_SERVER_EXISTS', `MCP server '${input.name}' already exists for agent '${agent}'`, { agent, name: input.name });
    }
    const connection = this.connection(row);
    await connection.ready().catch(() => undefined);
    return toServer(row, connection);
  }

  async remove(agent: string, name: string): Promise<void> {
    await this.deps.agents.get(agent);
    const deleted = await this.deps.db
      .delete(mcpServers)
      .where(and(eq(mcpServers.agent, agent), eq(mcpServers.name, name)))
      .returning({ name: mcpServers.name });
    if (deleted.length === 0) throw serverNotFound(agent, name);
    const key = keyOf({ agent, name });
    const connection = this.connections.get(key);
    this.connections.delete(key);
    await connection?.close();
  }

  async listTools(agent: string): Promise<McpTool[]> {
    await this.deps.agents.get(agent);
    return (await this.reachableTools(agent)).map(({ server, tool }) => ({
      server,
      name: tool.name,
      description: tool.description ?? '',
      input_schema: tool.inputSchema,
    }));
  }

  async invoke(agent: string, input: McpInvoke): Promise<McpInvokeResult> {
    await this.deps.agents.get(agent);
    const result = await this.call(agent, input.server, input.tool, input.arguments);
    return {
      content: result.content,
      is_error: result.isError ?? false,
      ...(result.structuredContent ? { structured_content: result.structuredContent } : {}),
    };
  }

  /**
   * Tools of the agent's servers that are up, connecting those not connected yet. A server that is down is
   * left out (its status says why) and, after a failed attempt, left alone for retryAfterMs.
   */
  async reachableTools(agent: string): Promise<Array<{ server: string; tool: Tool }>> {
    const lists = await Promise.all(
      (await this.rows(agent)).map(async (row) => {
        const connection = this.connection(row);
        if (connection.status === 'error' && Date.now() - connection.failedAt < this.retryAfterMs) return [];
        const ready = await connection.ready().then(() => true, () => false);
        return ready ? connection.tools.map((tool) => ({ server: row.name, tool })) : [];
      }),
    );
    return lists.flat();
  }

  /** Calls a tool on one of the agent's servers: a tool failure is a result with isError, a transport failure throws MCP_ERROR. */
  async call(agent: string, server: string, tool: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<CallToolResult> {
    const [row] = await this.deps.db
      .select()
      .from(mcpServers)
      .where(and(eq(mcpServers.agent, agent), eq(mcpServers.name, server)))
      .limit(1);
    if (!row) throw serverNotFound(agent, server);
    return this.connection(row).callTool(tool, args, signal);
  }

  /** Closes every client (stopping stdio servers). */
  async close(): Promise<void> {
    const connections = [...this.connections.values()];
    this.connections.clear();
    await Promise.allSettled(connections.map((connection) => connection.close()));
  }

  private rows(agent: string): Promise<McpServerRow[]> {
    return this.deps.db.select().from(mcpServers).where(eq(mcpServers.agent, agent)).orderBy(asc(mcpServers.createdAt), asc(mcpServers.name));
  }

  private connection(row: McpServerRow): McpConnection {
    const key = keyOf(row);
    let connection = this.connections.get(key);
    if (!connection) {
      connection = new McpConnection(row.name, configOf(row), {
        resolveSecret: (value) => this.deps.resolveSecret(value, row.agent),
        timeoutMs: this.timeoutMs,
      });
      this.connections.set(key, connection);
    }
    return connection;
  }
}

/** Agent and server names are slugs, so `/` cannot occur in either. */
function keyOf(ref: { agent: string; name: string }): string {
  return `${ref.agent}/${ref.name}`;
}
