/** The server's logger: pino JSON lines on stdout (or a stream tests read), every line redacted before it is written. */
import { pino, type Logger } from 'pino';
import type { MoxxyConfig } from '../config/schema.ts';
import { redactingLogHooks, type Redactor } from './redaction.ts';

export type { Logger };

export function createLogger(level: MoxxyConfig['logLevel'], redactor: Redactor, stream?: NodeJS.WritableStream): Logger {
  const options = { level, hooks: redactingLogHooks(redactor) };
  return stream ? pino(options, stream) : pino(options);
}
