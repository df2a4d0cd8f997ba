/** One MCP client for one configured server: connects on first use, and again on the next use after its transport closed. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { AppError } from '../../domain/errors.ts';
import type { McpServerConfig, McpServerStatus } from '../../domain/mcp.ts';
import { VERSION } from '../system.ts';

export interface ConnectionOptions {
  /** Resolves `${vault:KEY}` references in args, env and header values; called at every connect. */
  resolveSecret(value: string): Promise<string>;
  /** For connecting, listing tools and each call. */
  timeoutMs: number;
}

const STDERR_TAIL_CHARS = 600;
const MAX_TOOL_PAGES = 20;

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The child gets PATH and HOME, never the server's own environment (its secrets); the SDK adds a few more harmless ones (USER, SHELL, TERM). */
function minimalEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME']) if (process.env[key] !== undefined) env[key] = process.env[key];
  return env;
}

async function resolveValues(values: Record<string, string>, resolve: (value: string) => Promise<string>): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(Object.entries(values).map(async ([key, value]) => [key, await resolve(value)] as const)));
}

async function listAllTools(client: Client, timeout: number): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_TOOL_PAGES; page++) {
    const result = await client.listTools(cursor === undefined ? undefined : { cursor }, { timeout });
    tools.push(...result.tools);
    cursor = result.nextCursor;
    if (cursor === undefined) break;
  }
  return tools;
}

export class McpConnection {
  status: McpServerStatus = 'disconnected';
  /** Why the last attempt to connect failed. */
  error: string | undefined;
  /** When the last attempt to connect failed, so listings can space out retries. */
  failedAt = 0;
  tools: Tool[] = [];
  /** The client being connected or connected. */
  private client: Client | undefined;
  private pending: Promise<Client> | undefined;
  private closed = false;

  constructor(
    readonly server: string,
    private readonly config: McpServerConfig,
    private readonly options: ConnectionOptions,
  ) {}

  /** The connected client; connects first when there is none (one attempt, shared by concurrent callers). */
  ready(): Promise<Client> {
    if (this.closed) return Promise.reject(this.failure('was removed'));
    if (this.status === 'connected' && this.client) return Promise.resolve(this.client);
    this.pending ??= this.open().finally(() => (this.pending = undefined));
    return this.pending;
  }

  async callTool(name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<CallToolResult> {
    const client = await this.ready();
    try {
      return (await client.callTool({ name, arguments: args }, undefined, { timeout: this.options.timeoutMs, signal })) as CallToolResult;
    } catch (error) {
      if (signal?.aborted) throw error;
      const code = error instanceof McpError ? error.code : undefined;
      // A JSON-RPC error answer means the server is up and refused this call: a tool error, not a transport one.
      if (code !== undefined && code !== ErrorCode.ConnectionClosed && code !== ErrorCode.RequestTimeout) {
        return { content: [{ type: 'text', text: messageOf(error) }], isError: true };
      }
      // A slow tool says nothing about the transport; anything else does, so the next use reconnects. Tools
      // may have side effects, so the call itself is not repeated.
      if (code !== ErrorCode.RequestTimeout) await this.drop(client);
      throw this.failure(`failed calling '${name}': ${messageOf(error)}`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    this.status = 'disconnected';
    await client?.close().catch(() => undefined);
  }

  private async open(): Promise<Client> {
    this.status = 'connecting';
    const client = new Client(
      { name: 'moxxy-server', version: VERSION },
      { listChanged: { tools: { onChanged: (error, tools) => { if (!error && tools && this.client === client) this.tools = tools; } } } },
    );
    client.onclose = () => {
      if (this.client !== client) return;
      this.client = undefined;
      if (this.status === 'connected') this.status = 'disconnected';
    };
    this.client = client;
    let stderr = '';
    let secrets: string[] = [];
    try {
      const made = await this.transport((chunk) => (stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS)));
      secrets = made.secrets;
      await client.connect(made.transport, { timeout: this.options.timeoutMs });
      const tools = await listAllTools(client, this.options.timeoutMs);
      if (this.client !== client) throw new Error('the connection was closed');
      this.tools = tools;
      this.status = 'connected';
      this.error = undefined;
      return client;
    } catch (error) {
      if (this.client === client) this.client = undefined;
      await client.close().catch(() => undefined);
      // What the server printed is the best clue to why it failed; values of its env and headers are masked.
      const output = stderr.trim() ? `${messageOf(error)} (stderr: ${stderr.trim()})` : messageOf(error);
      this.error = secrets.reduce((text, secret) => (secret.length >= 4 ? text.replaceAll(secret, '[REDACTED]') : text), output);
      this.status = 'error';
      this.failedAt = Date.now();
      throw this.failure(`could not connect: ${this.error}`);
    }
  }

  private async transport(onStderr: (chunk: string) => void): Promise<{ transport: Transport; secrets: string[] }> {
    const resolve = (value: string) => this.options.resolveSecret(value);
    if (this.config.transport === 'http') {
      const headers = await resolveValues(this.config.headers, resolve);
      return {
        transport: new StreamableHTTPClientTransport(new URL(this.config.url), { requestInit: { headers } }),
        secrets: Object.values(headers),
      };
    }
    const env = await resolveValues(this.config.env, resolve);
    const transport = new StdioClientTransport({
      command: this.config.command,
      args: await Promise.all(this.config.args.map(resolve)),
      env: { ...minimalEnv(), ...env },
      // Piped (and always drained) rather than inherited, so a failed start can say why.
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (chunk: Buffer) => onStderr(chunk.toString()));
    return { transport, secrets: Object.values(env) };
  }

  private drop(client: Client): Promise<void> {
    if (this.client === client) {
      this.client = undefined;
      this.status = 'disconnected';
    }
    return client.close().catch(() => undefined);
  }

  private failure(what: string): AppError {
    return new AppError('MCP_ERROR', `MCP server '${this.server}' ${what}`, { server: this.server });
  }
}
