/** MCP servers per agent (seed 003): how one is configured, how it is shown, its tools and a call's result. */
import { z } from 'zod';
import { AgentParam, Pagination, Slug } from './common.ts';
import { validationError, type ValidationIssue } from './errors.ts';

export const McpTransport = z.enum(['stdio', 'http']).meta({ id: 'McpTransport' });
export type McpTransport = z.infer<typeof McpTransport>;

export const McpServerStatus = z
  .enum(['connected', 'connecting', 'error', 'disconnected'])
  .describe('`disconnected` until first used after a start (connections are lazy); `error` when the last attempt to connect failed.')
  .meta({ id: 'McpServerStatus' });
export type McpServerStatus = z.infer<typeof McpServerStatus>;

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/;
const EnvKey = z.string().regex(ENV_KEY, 'must be an environment variable name');
const HeaderName = z.string().regex(HEADER_NAME, 'must be an HTTP header name');
/** The key rule of a record, in openapi.json too (zod-to-openapi does not emit propertyNames from a record's key schema). */
const keysMatching = (pattern: RegExp) => ({ propertyNames: { pattern: pattern.source } });
const ConfigValue = z.string().max(16_384);

const sandboxFlags = {
  network: z.boolean().describe("May open network connections, through a user-mode stack that cannot reach the host's loopback; otherwise it has no network."),
  fs_read: z
    .boolean()
    .describe("May read the host filesystem (read-only), never the server's data directory; otherwise it sees system directories and its working directory only."),
  fs_write: z.boolean().describe('May write its working directory (`<home>/mcp/<agent>/<server>`, also its HOME); otherwise that is read-only.'),
};

/** What the sandbox lets a stdio server do (it always runs in its own PID namespace, with resource limits). */
export const McpSandbox = z.object(sandboxFlags).meta({ id: 'McpSandbox' });
export type McpSandbox = z.infer<typeof McpSandbox>;

/** A server as the API shows it: values of env and headers never leave the server, only their keys. */
export const McpServer = z
  .object({
    name: Slug,
    transport: McpTransport,
    status: McpServerStatus,
    tools_count: z.number().int().min(0).describe('Tools the server offered when last connected; 0 before that.'),
    error: z.string().optional().describe('Why the last attempt to connect failed.'),
    command: z.string().optional(),
    args: z.array(z.string()).optional(),
    env_keys: z.array(z.string()).optional().describe('Names of the configured environment variables (values are never returned).'),
    sandbox: McpSandbox.optional(),
    url: z.string().optional(),
    header_keys: z.array(z.string()).optional().describe('Names of the configured headers (values are never returned).'),
    created_at: z.date(),
  })
  .meta({ id: 'McpServer' });
export type McpServer = z.infer<typeof McpServer>;

export const McpServerList = z.object({ servers: z.array(McpServer), pagination: Pagination }).meta({ id: 'McpServerList' });
export type McpServerList = z.infer<typeof McpServerList>;

export const McpServerCreate = z
  .strictObject({
    name: Slug.describe('Server name; its tools are called `mcp.<name>.<tool>` by the agent.'),
    command: z.string().min(1).max(1024).optional().describe('stdio: the executable to start (no shell).'),
    args: z.array(z.string().max(8192)).max(64).optional().describe('stdio: its arguments; `${vault:KEY}` allowed.'),
    env: z
      .record(EnvKey, ConfigValue)
      .meta(keysMatching(ENV_KEY))
      .optional()
      .describe('stdio: environment added to a minimal one (PATH, HOME, LANG, TMPDIR, which it cannot replace); `${vault:KEY}` allowed. Never returned.'),
    sandbox: z
      .strictObject({ network: sandboxFlags.network.optional(), fs_read: sandboxFlags.fs_read.optional(), fs_write: sandboxFlags.fs_write.optional() })
      .optional()
      .describe('stdio: what the sandbox lets the server do; each defaults to false.'),
    url: z.url({ protocol: /^https?$/ }).max(2048).optional().describe('Streamable HTTP: the endpoint URL.'),
    headers: z
      .record(HeaderName, ConfigValue)
      .meta(keysMatching(HEADER_NAME))
      .optional()
      .describe('Streamable HTTP: headers sent with every request; `${vault:KEY}` allowed. Never returned.'),
  });
export type McpServerCreate = z.infer<typeof McpServerCreate>;

/** What a connection is made from, as stored. */
export type McpServerConfig =
  | { transport: 'stdio'; command: string; args: string[]; env: Record<string, string>; sandbox: McpSandbox }
  | { transport: 'http'; url: string; headers: Record<string, string> };

/** The sandbox of a stdio server: what it was given, nothing more (a server stored before there were flags has none). */
export function mcpSandbox(given: Partial<McpSandbox> | null | undefined): McpSandbox {
  return { network: given?.network ?? false, fs_read: given?.fs_read ?? false, fs_write: given?.fs_write ?? false };
}

/**
 * The transport a create asks for. Checked here rather than in the schema because zod cannot `.omit()` the
 * path keys from a refined object, which the REST adapter and the OpenAPI builder need.
 */
export function mcpServerConfig(input: McpServerCreate): McpServerConfig {
  const issues: ValidationIssue[] = [];
  const misplaced = (keys: Array<keyof McpServerCreate>, transport: string) => {
    for (const key of keys) if (input[key] !== undefined) issues.push({ path: key, message: `is not used by the ${transport} transport`, code: 'custom' });
  };
  if ((input.command === undefined) === (input.url === undefined)) {
    issues.push({ path: '', message: 'give either `command` (stdio) or `url` (streamable HTTP)', code: 'custom' });
  } else if (input.command !== undefined) {
    misplaced(['headers'], 'stdio');
  } else {
    misplaced(['args', 'env', 'sandbox'], 'streamable HTTP');
  }
  if (issues.length) throw validationError(issues);
  return input.command !== undefined
    ? { transport: 'stdio', command: input.command, args: input.args ?? [], env: input.env ?? {}, sandbox: mcpSandbox(input.sandbox) }
    : { transport: 'http', url: input.url!, headers: input.headers ?? {} };
}

export const McpServerRef = AgentParam.extend({ server: Slug.describe('MCP server name.') });

export const McpServerDeleted = z.object({ name: Slug, status: z.literal('deleted') }).meta({ id: 'McpServerDeleted' });

export const McpTool = z
  .object({
    server: Slug,
    name: z.string(),
    description: z.string(),
    input_schema: z.record(z.string(), z.unknown()).describe('JSON Schema of the arguments, as the server gives it.'),
  })
  .meta({ id: 'McpTool' });
export type McpTool = z.infer<typeof McpTool>;

export const McpToolList = z
  .object({ tools: z.array(McpTool).describe("Tools of the agent's reachable servers; servers that are down are left out.") })
  .meta({ id: 'McpToolList' });

export const McpInvoke = z
  .strictObject({
    server: Slug,
    tool: z.string().min(1).max(256),
    arguments: z.record(z.string(), z.unknown()).default({}),
  });
export type McpInvoke = z.infer<typeof McpInvoke>;

/** One content item of a tool result, as MCP defines it: `{type: 'text', text}`, `{type: 'image', data, mimeType}`, ... */
export const McpContent = z
  .looseObject({ type: z.string(), text: z.string().optional() })
  .meta({ id: 'McpContent' });

export const McpInvokeResult = z
  .object({
    content: z.array(McpContent),
    is_error: z.boolean().describe('True when the tool reported a failure; the content says why.'),
    structured_content: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'McpInvokeResult' });
export type McpInvokeResult = z.infer<typeof McpInvokeResult>;

/** The name an agent calls an MCP tool by. */
export function mcpToolName(server: string, tool: string): string {
  return `mcp.${server}.${tool}`;
}
