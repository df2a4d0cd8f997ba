/** One MCP client for one configured server: connects on first use, and again on the next use after its transport closed. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { AppError } from '../../domain/errors.ts';
import type { McpServerConfig, McpServerStatus } from '../../domain/mcp.ts';
import { vaultReferences } from '../../domain/vault.ts';
import { isTrustedUrl, type NetGuardOptions } from '../net-guard.ts';
import { outboundFetch } from '../outbound-http.ts';
import { resolveCommand, SYSTEM_PATH, type ProcessExit, type Sandbox } from '../sandbox/index.ts';
import { VERSION } from '../system.ts';
import { failureReason, McpFailure } from './failures.ts';
import { maskSecrets, stderrLog } from './stderr-log.ts';
import { SandboxedStdioTransport } from './stdio-transport.ts';

export interface ConnectionOptions {
  /** Resolves `${vault:KEY}` references in args, env and header values; called at every connect. */
  resolveSecret(value: string): Promise<string>;
  /** For connecting, listing tools and each call. */
  timeoutMs: number;
  /** The SSRF guard every request of a server over HTTP goes through (each hop, and at connect time). */
  guard: NetGuardOptions;
  /** Starts stdio servers. */
  sandbox: Sandbox;
  /** A stdio server's working directory and HOME. */
  workdir: string;
  /** Where a stdio server's stderr and exit go, redacted; without it they are dropped. */
  log?(message: string, details: Record<string, unknown>): void;
  /** Masks the secrets the server knows of (vault values, API keys) in what is logged. */
  redact?(text: string): string;
}

const MAX_TOOL_PAGES = 20;
/** A stderr line longer than this is logged in pieces. */
const STDERR_LINE_CHARS = 4096;

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

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

interface Opened {
  transport: Transport;
  /** How a stdio server's process ended, once it has. */
  exit(): ProcessExit | undefined;
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
  /** How the connected client's stdio process ended, once it has. */
  private exitOf: () => ProcessExit | undefined = () => undefined;
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
    const exitOf = this.exitOf;
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
      const reason = failureReason(error, { timeoutMs: this.options.timeoutMs, exit: exitOf(), connected: true });
      throw this.failure(`failed calling '${name}': ${reason}`);
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
    let opened: Opened | undefined;
    try {
      opened = await this.transport();
      this.exitOf = opened.exit;
      await client.connect(opened.transport, { timeout: this.options.timeoutMs });
      const tools = await listAllTools(client, this.options.timeoutMs);
      if (this.client !== client) throw new McpFailure('was closed while connecting');
      this.tools = tools;
      this.status = 'connected';
      this.error = undefined;
      return client;
    } catch (error) {
      if (this.client === client) this.client = undefined;
      // Closing waits for a stdio process to end, so how it ended by itself is known below.
      await client.close().catch(() => undefined);
      // Never what the server printed or answered (it may carry anything it could read): that goes to the log.
      this.error =
        error instanceof AppError ? error.message : failureReason(error, { timeoutMs: this.options.timeoutMs, exit: opened?.exit(), connected: false });
      this.status = 'error';
      this.failedAt = Date.now();
      // 503, as it is for skills: the server cannot run here, which retrying will not change.
      if (error instanceof AppError && error.code === 'SANDBOX_UNAVAILABLE') throw error;
      throw this.failure(this.error);
    }
  }

  private async transport(): Promise<Opened> {
    const resolve = (value: string) => this.options.resolveSecret(value);
    if (this.config.transport === 'http') {
      const url = new URL(this.config.url);
      const { guard } = this.options;
      // A secret goes only where the operator said it may: never to a URL a caller just typed.
      if (!isTrustedUrl(url, guard.trustedUrls) && Object.values(this.config.headers).some((value) => vaultReferences(value).length)) {
        throw new McpFailure('failed to connect: ${vault:...} in headers is resolved only for URLs in mcp.allowedUrls');
      }
      const headers = await resolveValues(this.config.headers, resolve);
      const transport = new StreamableHTTPClientTransport(url, {
        requestInit: { headers },
        // No timeout of the factory's: the SDK times each request (timeoutMs), and its event stream stays open.
        fetch: (target, init) => outboundFetch(target, init ?? {}, { timeoutMs: undefined, guard }),
      });
      return { transport, exit: () => undefined };
    }
    const { command, sandbox } = this.config;
    const program = resolveCommand(command);
    if (!program) throw new McpFailure(`failed to start: '${command}' is neither an absolute path to a program nor a program on ${SYSTEM_PATH}`);
    const templates = this.config.args;
    const args = await Promise.all(templates.map(resolve));
    const env = await resolveValues(this.config.env, resolve);
    // The values `${vault:KEY}` references resolved to, masked in what is logged.
    const secrets = [...Object.values(env), ...args.filter((arg, index) => arg !== templates[index])];
    const log = (message: string, details: Record<string, unknown>) => this.options.log?.(message, { server: this.server, ...details });
    const redact = (text: string) => {
      const masked = maskSecrets(text, secrets);
      return this.options.redact ? this.options.redact(masked) : masked;
    };
    const stderr = stderrLog((line) => log(`MCP server '${this.server}' wrote to stderr`, { stderr: redact(line) }), STDERR_LINE_CHARS);
    const { workdir } = this.options;
    const transport = new SandboxedStdioTransport({
      sandbox: this.options.sandbox,
      command: [program.path, ...args],
      profile: {
        network: sandbox.network,
        fsRead: sandbox.fs_read,
        fsWrite: sandbox.fs_write,
        workdir,
        readOnly: program.prefix ? [program.prefix] : [],
      },
      // Never the server's own environment (its secrets): the configured values, then base variables they cannot replace.
      env: { ...env, PATH: SYSTEM_PATH, HOME: workdir, LANG: 'C.UTF-8', TMPDIR: '/tmp' },
      onStderr: stderr.write,
      onExit: ({ code, signal }) => {
        stderr.flush();
        log(`MCP server '${this.server}' exited`, { code, signal });
      },
    });
    return { transport, exit: () => transport.exited };
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
