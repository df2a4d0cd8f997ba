/** The configuration schema: moxxy.config.{json,ts,js}, then environment variables, validated here. */
import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const ConfigSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(17890),
  home: z.string().min(1).describe('Data directory; defaults to ~/.moxxy.'),
  database: z
    .strictObject({
      url: z.string().min(1).optional().describe('libSQL URL: file:..., libsql://..., http://...; defaults to <home>/moxxy.db.'),
      authToken: z.string().optional(),
    })
    .default({}),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  providers: z
    .strictObject({
      openai: z
        .strictObject({
          baseUrl: z.url().default('https://api.openai.com/v1').describe('Any OpenAI-compatible Chat Completions endpoint (Ollama, vLLM, LM Studio, OpenRouter).'),
          apiKey: z.string().optional().describe('Literal key or ${vault:KEY}; OPENAI_API_KEY overrides.'),
        })
        .default({ baseUrl: 'https://api.openai.com/v1' }),
      anthropic: z
        .strictObject({
          baseUrl: z.url().default('https://api.anthropic.com'),
          apiKey: z.string().optional().describe('Literal key or ${vault:KEY}; ANTHROPIC_API_KEY overrides.'),
        })
        .default({ baseUrl: 'https://api.anthropic.com' }),
      timeoutMs: z.number().int().min(100).default(60_000),
      maxRetries: z.number().int().min(0).max(10).default(2),
      retryBaseDelayMs: z.number().int().min(0).default(250),
    })
    .default({
      openai: { baseUrl: 'https://api.openai.com/v1' },
      anthropic: { baseUrl: 'https://api.anthropic.com' },
      timeoutMs: 60_000,
      maxRetries: 2,
      retryBaseDelayMs: 250,
    }),
  transcription: z
    .strictObject({
      baseUrl: z.url().describe('OpenAI-compatible /audio/transcriptions endpoint base, e.g. https://api.openai.com/v1.'),
      apiKey: z.string().optional(),
      model: z.string().default('whisper-1'),
    })
    .optional(),
  channels: z
    .strictObject({
      http: z
        .strictObject({
          host: z.string().default('127.0.0.1'),
          port: z.number().int().min(0).max(65535).default(3737),
          authToken: z.string().optional().describe('Bearer token; ${vault:KEY} allowed; MOXXY_HTTP_TOKEN overrides.'),
          allowedTools: z.array(z.string()).optional().describe('Required to serve the channel; [] disables every tool.'),
          agent: z.string().default('default'),
        })
        .optional(),
    })
    .default({}),
  limits: z
    .strictObject({
      bodyBytes: z.number().int().min(1024).max(50 * 1024 * 1024).default(64 * 1024),
    })
    .default({ bodyBytes: 64 * 1024 }),
});

export type MoxxyConfig = z.infer<typeof ConfigSchema>;
/** What a config file may contain: everything optional. */
export type MoxxyConfigInput = z.input<typeof ConfigSchema>;
