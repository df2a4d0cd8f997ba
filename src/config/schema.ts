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
  limits: z
    .strictObject({
      bodyBytes: z.number().int().min(1024).max(50 * 1024 * 1024).default(64 * 1024),
    })
    .default({ bodyBytes: 64 * 1024 }),
});

export type MoxxyConfig = z.infer<typeof ConfigSchema>;
/** What a config file may contain: everything optional. */
export type MoxxyConfigInput = z.input<typeof ConfigSchema>;
