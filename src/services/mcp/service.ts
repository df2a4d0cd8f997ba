/**
 * MCP servers per agent: stored in mcp_servers (the values of env and headers encrypted with the vault's master key
 * and rotated with it), one lazily connected client each, their tools and tool calls.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redactor } from '../redaction.ts';
import { and, asc, count, eq, isNotNull, isNull } from 'drizzle-orm';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { paginate, type PaginationInput } from '../../domain/common.ts';
import { AppError } from '../../domain/errors.ts';
import { toolCalledPayload, toolEventTypes, toolFailureOutput, toolResultPayload, type EventType, type ToolCallRecord } from '../../domain/events.ts';
import {
  mcpSandbox,
  mcpServerConfig,
  mcpToolName,
  type McpInvoke,
  type McpInvokeResult,
  type McpServer,
  type McpServerConfig,
  type McpServerCreate,
  type McpServerList,
  type McpTool,
} from '../../domain/mcp.ts';
import type { Db } from '../../db/client.ts';
import { mcpServers } from '../../db/schema.ts';
import type { AgentDeletion, AgentService } from '../agents.ts';
import type { ChangeFeed } from '../changes/feed.ts';
import type { EventBus } from '../events/bus.ts';
import { vaultReferences } from '../../domain/vault.ts';
import { assertUrlAllowed, isTrustedUrl, OutboundFetchError, type NetGuardOptions } from '../net-guard.ts';
import type { Sandbox } from '../sandbox/index.ts';
import type { SecretAddress } from '../vault/crypto.ts';
import type { SealedValue, VaultService } from '../vault/service.ts';
import type { McpConnection } from './connection.ts';

type McpServerRow = typeof mcpServers.$inferSelect;
/** What is encrypted of a server: the values of these maps (their names stay readable, for env_keys and header_keys). */
type SecretValues = Pick<McpServerRow, 'env' | 'headers'>;
const SECRET_FIELDS = ['env', 'headers'] as const;

/** What the model reads back (and a call's primitive.result records): the text items joined; other items (images, audio, links) only named. */
export function textOf(result: CallToolResult): string {
  return result.content.map((item) => (item.type === 'text' ? item.text : `[${item.type}]`)).join('\n');
}

export interface McpServiceDeps {
  db: Db;
  agents: AgentService;
  /** Resolves `${vault:KEY}` in a server's args, env and headers, for the agent that owns it. */
  resolveSecret(value: string, agent: string): Promise<string>;
  /** Connect, list and call timeout (default 30 s). */
  timeoutMs?: number;
  /** How long listings leave a server that failed to connect alone before trying again (default 30 s); calls always try. */
  retryAfterMs?: number;
  /** Runs stdio servers, as it runs skills. */
  sandbox: Sandbox;
  /** The SSRF guard for servers over HTTP: the operator's mcp.allowPrivateNetwork and mcp.allowedUrls. */
  guard: NetGuardOptions;
  /** The data directory: stdio servers work in `<home>/mcp/<agent>/<server>`. */
  home: string;
  /** Where stdio servers' stderr and exits go; without it they are dropped. */
  log?(message: string, details: Record<string, unknown>): void;
  /** Masks the server's known secrets in what is logged. */
  redact?(text: string): string;
  /** Where the literal values of env and headers are registered while their server runs, so what it echoes is redacted. */
  secrets?: Pick<Redactor, 'hold'>;
  /** Encrypts the values of env and headers with the master key. */
  vault: VaultService;
  /** Tells the other processes of a server added or removed, and brings theirs. */
  changes: ChangeFeed;
  /** Where a call made over the API is recorded, as a run's calls are (primitive.called, primitive.result). */
  events: Pick<EventBus, 'emit'>;
}

/** A stdio server's working directory and HOME. Both names are slugs, so they cannot climb out of <home>/mcp. */
function mcpWorkdir(home: string, agent: string, server: string): string {
  return join(home, 'mcp', agent, server);
}

// Agent and server names are slugs, which never contain ':', so no agent's secret has this address.
const secretAddress = (row: { agent: string; name: string }, field: keyof SecretValues, key: string): SecretAddress => ({
  agent: `mcp:${row.agent}/${row.name}`,
  key: `${field}:${key}`,
});

/** Every value of env and headers through `change` (seal, reseal or open), with the master key id it reports. */
function mapSecretValues<T extends string | SealedValue>(
  row: SecretValues & { agent: string; name: string },
  change: (address: SecretAddress, value: string) => T,
): SecretValues & { secretsKeyId: string | null } {
  let secretsKeyId: string | null = null;
  const [env, headers] = SECRET_FIELDS.map((field) =>
    Object.fromEntries(
      Object.entries(row[field]).map(([key, value]) => {
        const changed = change(secretAddress(row, field, key), value);
        if (typeof changed === 'string') return [key, changed];
        secretsKeyId = changed.keyId;
        return [key, changed.ciphertext];
      }),
    ),
  );
  return { env: env!, headers: headers!, secretsKeyId };
}

const countSecretValues = (row: SecretValues) => Object.keys(row.env).length + Object.keys(row.headers).length;

function toServer(row: McpServerRow, connection: McpConnection | undefined): McpServer {
  const status = connection?.status ?? 'disconnected';
  return {
    name: row.name,
    transport: row.transport,
    status,
    tools_count: connection?.tools.length ?? 0,
    ...(status === 'error' && connection?.error ? { error: connection.error } : {}),
    ...(row.transport === 'stdio'
      ? { command: row.command ?? '', args: row.args, env_keys: Object.keys(row.env), sandbox: mcpSandbox(row.sandbox) }
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
    deps.vault.onRotate(async (tx, reseal) => {
      const rows = await tx.select().from(mcpServers).where(isNotNull(mcpServers.secretsKeyId));
      for (const row of rows) {
        await tx.update(mcpServers).set(mapSecretValues(row, reseal)).where(and(eq(mcpServers.agent, row.agent), eq(mcpServers.name, row.name)));
      }
      return rows.reduce((total, row) => total + countSecretValues(row), 0);
    });
    // Removed (or removed and added again) by another process: this process's client of it is stale, and the next
    // use connects afresh to what is stored then. Not awaited: stopping a stdio server takes a while, and the feed
    // must not wait for it (the event bus waits for the feed).
    deps.changes.on('mcp', (key) => {
      void this.disconnect(key);
    });
  }

  /**
   * Encrypts the env and header values of servers stored before they were (once: such a row has values and no key
   * id), and opens the others, so a master key that is not theirs stops start-up as it does for the vault.
   */
  async init(): Promise<void> {
    for (const row of await this.deps.db.select().from(mcpServers)) {
      const values = this.openValues(row);
      if (row.secretsKeyId !== null || countSecretValues(values) === 0) continue;
      await this.deps.db
        .update(mcpServers)
        .set(this.sealValues({ ...row, ...values }))
        .where(and(eq(mcpServers.agent, row.agent), eq(mcpServers.name, row.name), isNull(mcpServers.secretsKeyId)));
    }
  }

  async list(agent: string, page: PaginationInput): Promise<McpServerList> {
    await this.deps.agents.get(agent);
    const [rows, [totals]] = await Promise.all([
      this.rows(agent).limit(page.limit).offset(page.offset),
      this.deps.db.select({ total: count() }).from(mcpServers).where(eq(mcpServers.agent, agent)),
    ]);
    return { servers: rows.map((row) => toServer(row, this.connections.get(keyOf(row)))), pagination: paginate(totals?.total ?? 0, page) };
  }

  /** Saves the server and connects at once; one that fails to connect is kept, with its error, to retry or remove. */
  async add(agent: string, input: McpServerCreate): Promise<McpServer> {
    await this.deps.agents.get(agent);
    const config = mcpServerConfig(input);
    // Refused before it is stored, as a skill is refused before it runs.
    if (config.transport === 'stdio') await this.deps.sandbox.check({ network: config.sandbox.network });
    else await this.assertReachable(config.url, config.headers);
    const row: McpServerRow = {
      agent,
      name: input.name,
      transport: config.transport,
      command: config.transport === 'stdio' ? config.command : null,
      args: config.transport === 'stdio' ? config.args : [],
      sandbox: config.transport === 'stdio' ? config.sandbox : null,
      url: config.transport === 'http' ? config.url : null,
      ...this.sealValues({ agent, name: input.name, env: config.transport === 'stdio' ? config.env : {}, headers: config.transport === 'http' ? config.headers : {} }),
      createdAt: new Date(),
    };
    const inserted = await this.deps.db.insert(mcpServers).values(row).onConflictDoNothing().returning({ name: mcpServers.name });
    if (inserted.length === 0) {
      throw new AppError('MCP_SERVER_EXISTS', `MCP server '${input.name}' already exists for agent '${agent}'`, { agent, name: input.name });
    }
    // Only once it is ours: a refused add must not close another process's client of the server that exists. A
    // process that read the removed server's row just before its removal drops the client it made from it.
    await this.deps.changes.publish('mcp', keyOf(row));
    const connection = await this.connection(row);
    await connection.ready().catch(() => undefined);
    return toServer(row, connection);
  }

  /**
   * A URL the guard lets through, and `${vault:...}` in headers only for a URL the operator trusts
   * (mcp.allowedUrls): a caller must not be able to send the agent's secrets to a server of its choosing.
   */
  private async assertReachable(url: string, headers: Record<string, string>): Promise<void> {
    const target = new URL(url);
    const referencing = Object.keys(headers).filter((name) => vaultReferences(headers[name]!).length > 0);
    if (referencing.length && !isTrustedUrl(target, this.deps.guard.trustedUrls)) {
      throw new AppError(
        'FORBIDDEN',
        `\${vault:...} in headers (${referencing.join(', ')}) is resolved only for MCP servers whose URL the operator lists in mcp.allowedUrls`,
        { headers: referencing, url: target.href },
      );
    }
    try {
      await assertUrlAllowed(target, this.deps.guard);
    } catch (error) {
      // A name that does not resolve now is the connection's to report (status `error`), not a refusal.
      if (!(error instanceof OutboundFetchError)) throw error;
    }
  }

  async remove(agent: string, name: string): Promise<void> {
    await this.deps.agents.get(agent);
    const key = keyOf({ agent, name });
    const [deleted] = await this.deps.db.batch([
      this.deps.db
        .delete(mcpServers)
        .where(and(eq(mcpServers.agent, agent), eq(mcpServers.name, name)))
        .returning({ name: mcpServers.name }),
      this.deps.changes.record('mcp', key),
    ]);
    if (deleted.length === 0) throw serverNotFound(agent, name);
    await this.disconnect(key);
    await rm(mcpWorkdir(this.deps.home, agent, name), { recursive: true, force: true });
  }

  /** The agent's MCP servers go with it (src/services/agents.ts, delete); their clients and working directories afterwards. */
  async deletionOf(agent: string): Promise<AgentDeletion> {
    const names = (await this.rows(agent)).map((row) => row.name);
    return {
      statements: [
        this.deps.db.delete(mcpServers).where(eq(mcpServers.agent, agent)),
        ...names.map((name) => this.deps.changes.record('mcp', keyOf({ agent, name }))),
      ],
      release: async () => {
        for (const name of names) await this.disconnect(keyOf({ agent, name }));
        await rm(join(this.deps.home, 'mcp', agent), { recursive: true, force: true });
      },
    };
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

  /** A call made over the API, outside any run: recorded with the events and payloads a run's own call of the tool gets. */
  async invoke(agent: string, input: McpInvoke): Promise<McpInvokeResult> {
    await this.deps.agents.get(agent);
    const call: ToolCallRecord = { id: null, name: mcpToolName(input.server, input.tool), kind: 'mcp', arguments: input.arguments };
    const types = toolEventTypes(call.kind);
    const emit = (event_type: EventType, payload: Record<string, unknown>) => this.deps.events.emit({ agent_id: agent, run_id: null, event_type, payload });
    await emit(types.called, toolCalledPayload(call));
    const started = performance.now();
    const ended = (output: string, isError: boolean) =>
      emit(types.result, toolResultPayload(call, { output, is_error: isError, duration_ms: Math.round(performance.now() - started) }));
    let result: CallToolResult;
    try {
      result = await this.call(agent, input.server, input.tool, input.arguments);
    } catch (error) {
      await ended(toolFailureOutput(error), true);
      throw error;
    }
    await ended(textOf(result), result.isError ?? false);
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
        const connection = await this.connection(row);
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
    return (await this.connection(row)).callTool(tool, args, signal);
  }

  /** Closes every client (stopping stdio servers). */
  async close(): Promise<void> {
    const connections = [...this.connections.values()];
    this.connections.clear();
    await Promise.allSettled(connections.map((connection) => connection.close()));
  }

  /** Closes and forgets this process's client of a server (stopping a stdio server). */
  private async disconnect(key: string): Promise<void> {
    const connection = this.connections.get(key);
    this.connections.delete(key);
    this.deps.secrets?.hold(`mcp:${key}`, []);
    await connection?.close();
  }

  private rows(agent: string) {
    return this.deps.db.select().from(mcpServers).where(eq(mcpServers.agent, agent)).orderBy(asc(mcpServers.createdAt), asc(mcpServers.name)).$dynamic();
  }

  private configOf(row: McpServerRow): McpServerConfig {
    const { env, headers } = this.openValues(row);
    return row.transport === 'stdio'
      ? { transport: 'stdio', command: row.command ?? '', args: row.args, env, sandbox: mcpSandbox(row.sandbox) }
      : { transport: 'http', url: row.url ?? '', headers };
  }

  private sealValues(row: SecretValues & { agent: string; name: string }): SecretValues & { secretsKeyId: string | null } {
    return mapSecretValues(row, (address, value) => this.deps.vault.seal(address, value));
  }

  /** env and headers as configured; a row with no key id holds them in plain text (written before they were encrypted). */
  private openValues(row: McpServerRow): SecretValues {
    const keyId = row.secretsKeyId;
    if (keyId === null) return { env: row.env, headers: row.headers };
    return mapSecretValues(row, (address, ciphertext) => this.deps.vault.unseal(address, { ciphertext, keyId }));
  }

  private async connection(row: McpServerRow): Promise<McpConnection> {
    const { McpConnection } = await loadConnections();
    const key = keyOf(row);
    let connection = this.connections.get(key);
    if (!connection) {
      const { sandbox, home, log, redact } = this.deps;
      const config = this.configOf(row);
      // Literal values are secrets like the vault's (a `${vault:...}` reference is registered when the vault opens it).
      const literals = Object.values(config.transport === 'stdio' ? config.env : config.headers).filter((value) => vaultReferences(value).length === 0 && value.length > 0);
      this.deps.secrets?.hold(`mcp:${key}`, literals);
      connection = new McpConnection(row.name, config, {
        resolveSecret: (value) => this.deps.resolveSecret(value, row.agent),
        timeoutMs: this.timeoutMs,
        guard: this.deps.guard,
        sandbox,
        workdir: mcpWorkdir(home, row.agent, row.name),
        ...(log ? { log: (message: string, details: Record<string, unknown>) => log(message, { agent: row.agent, ...details }) } : {}),
        ...(redact ? { redact } : {}),
      });
      this.connections.set(key, connection);
    }
    return connection;
  }
}

/** Clients and the MCP SDK under them (some 15 MB) are loaded with the first connection, not at start-up. */
let connectionModule: Promise<typeof import('./connection.ts')> | undefined;
const loadConnections = () => (connectionModule ??= import('./connection.ts'));

/** Agent and server names are slugs, so `/` cannot occur in either. */
function keyOf(ref: { agent: string; name: string }): string {
  return `${ref.agent}/${ref.name}`;
}
