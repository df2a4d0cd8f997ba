/** The configuration schema: a moxxy.config.* file (src/config/read-file.ts), then environment variables, validated here. */
import { z } from 'zod';
import { isLoopbackHost } from '../domain/hosts.ts';
import { TOKEN_PREFIX } from '../domain/tokens.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const MiB = 1024 * 1024;

/** Transport rules of both HTTP servers (src/http/pipeline.ts). */
const HttpSettings = z
  .strictObject({
    allowedHosts: z
      .array(z.string().min(1).toLowerCase())
      .default([])
      .describe(
        'Host names (any port) an open loopback server answers besides loopback ones, e.g. a reverse proxy\'s name; pages from them may also write. ' +
          'Other Host values get 421 HOST_NOT_ALLOWED (DNS rebinding).',
      ),
    headersTimeoutMs: z.number().int().min(100).max(600_000).default(10_000).describe('Time a client has to send its request line and headers; then 408 REQUEST_TIMEOUT.'),
    requestTimeoutMs: z.number().int().min(100).max(3_600_000).default(30_000).describe('Time a client has to send its whole request, body included; then 408 REQUEST_TIMEOUT.'),
    keepAliveTimeoutMs: z.number().int().min(100).max(600_000).default(5_000).describe('An idle keep-alive connection is closed after this long.'),
    shutdownGraceMs: z.number().int().min(0).max(600_000).default(5_000).describe('On SIGTERM or SIGINT, requests in flight get this long to finish before their connections are cut.'),
    maxHeaderBytes: z
      .number()
      .int()
      .min(16 * 1024)
      .max(1024 * 1024)
      // A 32,000-character message in a query string, each character percent-encoded UTF-8 (9 bytes), and then some.
      .default(320 * 1024)
      .describe('Request line (with the query string) plus headers; more answers 431 HEADERS_TOO_LARGE.'),
    authFailureLimit: z.number().int().min(1).default(10).describe('Failed credentials per client address and window; more answers 429 RATE_LIMITED (with rateLimits.enabled).'),
    authFailureWindowMs: z.number().int().min(1000).default(60_000).describe('The window of authFailureLimit.'),
  })
  .refine((http) => http.headersTimeoutMs <= http.requestTimeoutMs, { message: 'must not exceed requestTimeoutMs', path: ['headersTimeoutMs'] });

/** Per sandboxed process (a skill run or a stdio MCP server), applied with or without bubblewrap. */
const SandboxLimits = z.strictObject({
  processes: z
    .number()
    .int()
    .min(8)
    .max(65_536)
    .default(64)
    .describe("Processes and threads at once: a pids cgroup when the server runs as root, else RLIMIT_NPROC in the sandbox's user namespace."),
  memoryBytes: z
    .number()
    .int()
    .min(64 * MiB)
    .default(1024 * MiB)
    .describe(
      'Private writable memory per process (RLIMIT_DATA: heap and anonymous maps, not reserved address space, so node and WebAssembly start under it).',
    ),
  cpuSeconds: z.number().int().min(1).default(60).describe('CPU time per process (RLIMIT_CPU); long-running MCP servers count it too.'),
  openFiles: z.number().int().min(16).default(256).describe('Open file descriptors per process (RLIMIT_NOFILE).'),
  fileSizeBytes: z.number().int().min(MiB).default(64 * MiB).describe('Largest file a process may write (RLIMIT_FSIZE).'),
  tmpBytes: z.number().int().min(MiB).default(64 * MiB).describe('Size of the private /tmp (and of TMPDIR when the working directory is read-only).'),
});

/** The server-wide HTTP channel (seed 001), served by `moxxy channels http` on its own address. */
export const HttpChannelSettings = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(3737),
  authToken: z.string().optional().describe('Bearer token; ${vault:KEY} allowed; MOXXY_HTTP_TOKEN overrides.'),
  allowedTools: z.array(z.string()).optional().describe('Required to serve the channel; [] disables every tool.'),
  agent: z.string().default('default'),
});

export const ConfigSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(17890),
  home: z.string().min(1).describe('Data directory; defaults to ~/.moxxy.'),
  database: z
    .strictObject({
      url: z.string().min(1).optional().describe('libSQL URL: file:..., libsql://..., http://...; defaults to <home>/moxxy.db.'),
      authToken: z.string().optional(),
    })
    .prefault({}),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  providers: z
    .strictObject({
      openai: z
        .strictObject({
          baseUrl: z.url().default('https://api.openai.com/v1').describe('Any OpenAI-compatible Chat Completions endpoint (Ollama, vLLM, LM Studio, OpenRouter).'),
          apiKey: z.string().optional().describe('Literal key or ${vault:KEY}; OPENAI_API_KEY overrides.'),
        })
        .prefault({}),
      anthropic: z
        .strictObject({
          baseUrl: z.url().default('https://api.anthropic.com'),
          apiKey: z.string().optional().describe('Literal key or ${vault:KEY}; ANTHROPIC_API_KEY overrides.'),
        })
        .prefault({}),
      timeoutMs: z.number().int().min(100).default(60_000),
      maxRetries: z.number().int().min(0).max(10).default(2),
      retryBaseDelayMs: z.number().int().min(0).default(250),
    })
    .prefault({}),
  transcription: z
    .strictObject({
      baseUrl: z.url().describe('OpenAI-compatible /audio/transcriptions endpoint base, e.g. https://api.openai.com/v1.'),
      apiKey: z.string().optional(),
      model: z.string().default('whisper-1'),
    })
    .optional(),
  channels: z
    .strictObject({
      http: HttpChannelSettings.optional(),
      telegram: z
        .strictObject({
          apiBaseUrl: z.url().default('https://api.telegram.org').describe('The Bot API base URL (a local Bot API server, or a test double).'),
          pollTimeoutSeconds: z.number().int().min(0).max(50).default(25).describe('getUpdates long-poll timeout.'),
          requestTimeoutMs: z.number().int().min(100).default(15_000).describe('Timeout of every other Bot API call and file download.'),
          retryDelayMs: z.number().int().min(0).default(1_000).describe('First delay after a failed poll; doubles up to a minute.'),
        })
        .prefault({})
        .describe('Settings shared by every telegram channel; the channels themselves are configured per agent over the API.'),
    })
    .prefault({}),
  auth: z
    .strictObject({
      internalToken: z.string().min(1).optional().describe('X-Moxxy-Internal-Token value (full access); MOXXY_INTERNAL_TOKEN overrides. Required to bind a non-loopback address.'),
      apiKey: z
        .string()
        .regex(/^\S+$/, 'must be one word: it is sent as "Authorization: Bearer <key>"')
        .refine((key) => !key.startsWith(TOKEN_PREFIX), `must not start with "${TOKEN_PREFIX}", which marks API tokens`)
        .optional()
        .describe(
          'The API key (seed 002), sent as "Authorization: Bearer <key>": full access, like the internal token; MOXXY_API_KEY or ' +
            '`moxxy serve --api-key` override. Either one allows binding a non-loopback address.',
        ),
    })
    .prefault({}),
  vault: z
    .strictObject({
      masterKey: z
        .string()
        .optional()
        .describe('The master key (64 hex characters or base64 of 32 bytes); MOXXY_VAULT_KEY overrides. Without it, <home>/vault.key is used, created (mode 0600) on first start.'),
    })
    .prefault({}),
  rateLimits: z
    .strictObject({
      enabled: z.boolean().default(true),
      chat: z.number().int().min(1).default(10).describe('Chat requests per second per caller.'),
      read: z.number().int().min(1).default(100).describe('Read requests per second per caller.'),
      write: z.number().int().min(1).default(50).describe('Write requests per second per caller.'),
    })
    .prefault({})
    .describe('Per caller: API token, else internal token, else client IP.'),
  http: HttpSettings.prefault({}),
  limits: z
    .strictObject({
      bodyBytes: z.number().int().min(1024).max(50 * 1024 * 1024).default(64 * 1024),
    })
    .prefault({}),
  memory: z
    .strictObject({
      embeddings: z
        .strictObject({
          baseUrl: z.url().describe('OpenAI-compatible endpoint base; POST {baseUrl}/embeddings. Enables vector and hybrid recall.'),
          apiKey: z.string().optional(),
          model: z.string().min(1),
          dimensions: z.number().int().min(1).max(8192).describe('Length of the vectors the model returns.'),
          timeoutMs: z.number().int().min(100).default(10_000),
        })
        .optional(),
      recallLimit: z.number().int().min(1).max(50).default(5).describe('Memories recalled into a run when no limit is given.'),
    })
    .prefault({}),
  runtime: z
    .strictObject({
      subagents: z
        .strictObject({
          maxDepth: z.number().int().min(0).max(10).default(2).describe('How many levels below a top-level run sub-agents may go (subagent.spawn); 0 disables them.'),
          maxTotal: z.number().int().min(1).max(1000).default(10).describe('Sub-agent runs alive at once, across every agent.'),
        })
        .prefault({}),
    })
    .prefault({}),
  approvals: z
    .strictObject({
      expiryMs: z
        .number()
        .int()
        .min(1000)
        .max(30 * 86_400_000)
        .default(86_400_000)
        .describe('How long a tool call waits for a person to approve it (tool_policy `ask`); an undecided call is then denied and audited.'),
    })
    .prefault({}),
  instances: z
    .strictObject({
      leaseMs: z
        .number()
        .int()
        .min(1000)
        .max(600_000)
        .default(15_000)
        .describe("How long a process's lease lasts unrenewed: the runs of a process that died are failed by the others after this (plus renewMs)."),
      renewMs: z.number().int().min(100).max(60_000).default(5_000).describe('How often each process renews its lease and looks for expired ones.'),
    })
    .refine((instances) => instances.renewMs * 2 <= instances.leaseMs, { message: 'renewMs must be at most half of leaseMs', path: ['renewMs'] })
    .prefault({})
    .describe('Several server processes on one database (see README, "Running several processes").'),
  mcp: z
    .strictObject({
      allowPrivateNetwork: z
        .boolean()
        .default(false)
        .describe('Let MCP servers over HTTP reach private, loopback, link-local and special-purpose addresses.'),
      allowedUrls: z
        .array(z.url({ protocol: /^https?$/ }))
        .default([])
        .describe(
          'URL prefixes of MCP servers you trust: they may be on a private network or plain http, and only they get `${vault:KEY}` values in their headers.',
        ),
      timeoutMs: z.number().int().min(100).max(600_000).default(30_000).describe('Connect, list and call timeout of MCP servers.'),
    })
    .prefault({}),
  skills: z
    .strictObject({
      timeoutMs: z.number().int().min(100).max(3_600_000).default(30_000).describe('A skill run is killed (with its child processes) after this long.'),
      outputLimitBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(64 * 1024).describe('stdout+stderr kept per run; the rest is dropped and the result says truncated.'),
      bwrap: z
        .string()
        .min(1)
        .default('bwrap')
        .describe('The bubblewrap binary that sandboxes skills and stdio MCP servers; when it is missing or cannot create namespaces, they run unsandboxed.'),
      slirp4netns: z
        .string()
        .min(1)
        .default('slirp4netns')
        .describe(
          "The user-mode network stack of sandboxes that need the network (pasta is used when it is missing): they reach the network, never the host's loopback. " +
            'With neither, those skills and MCP servers are refused.',
        ),
      limits: SandboxLimits.prefault({}),
      requireSandbox: z
        .boolean()
        .optional()
        .describe(
          'Refuse to run skills and stdio MCP servers (503 SANDBOX_UNAVAILABLE) when bubblewrap cannot sandbox them. Default: false on a loopback bind, true on any other.',
        ),
      allowPrivateNetworkInstall: z.boolean().default(false).describe('Let skill installs and web_crawler reach private, loopback and link-local addresses.'),
      allowHttpLoopbackInstall: z.boolean().default(false).describe('Allow plain http:// to loopback addresses (local development).'),
      fetchTimeoutMs: z.number().int().min(100).max(300_000).default(15_000).describe('Timeout of each HTTP request made by skill installs and web_crawler.'),
    })
    .prefault({}),
}).transform((config) => ({
  ...config,
  // A server others can reach never runs their skills unsandboxed unless told to.
  skills: { ...config.skills, requireSandbox: config.skills.requireSandbox ?? !isLoopbackHost(config.host) },
}));

export type MoxxyConfig = z.infer<typeof ConfigSchema>;
/** What a config file may contain: everything optional. */
export type MoxxyConfigInput = z.input<typeof ConfigSchema>;
