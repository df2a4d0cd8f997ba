/**
 * Why an MCP server failed, in the server's own words: never what the MCP server sent (its stderr, an HTTP response
 * body, a JSON-RPC error message), which may carry anything it could read.
 */
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { ProcessExit } from '../sandbox/index.ts';

/** A failure whose message is ours, safe to show as is. */
export class McpFailure extends Error {}

export interface FailureContext {
  timeoutMs: number;
  /** How a stdio server's process ended, once it has. */
  exit?: ProcessExit;
  /** Whether it had completed the handshake. */
  connected: boolean;
}

export function failureReason(error: unknown, context: FailureContext): string {
  if (error instanceof McpFailure) return error.message;
  if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) return `did not answer within ${context.timeoutMs} ms`;
  const { exit } = context;
  if (exit) {
    if (!context.connected) return `failed to start (${exit.code !== null ? `exit code ${exit.code}` : `killed by ${exit.signal}`})`;
    return exit.code !== null ? `exited with code ${exit.code}` : `was killed by ${exit.signal}`;
  }
  if (error instanceof McpError) return error.code === ErrorCode.ConnectionClosed ? 'closed the connection' : `answered with JSON-RPC error ${error.code}`;
  if (error instanceof UnauthorizedError) return 'answered HTTP 401 (unauthorized)';
  if (error instanceof StreamableHTTPError) return (error.code ?? 0) > 0 ? `answered HTTP ${error.code}` : 'sent a response that is not MCP';
  if (error instanceof TypeError && error.message === 'fetch failed') {
    const cause = (error.cause as NodeJS.ErrnoException | undefined)?.code;
    return `could not be reached${cause ? ` (${cause})` : ''}`;
  }
  return `failed (${error instanceof Error ? error.name : 'unknown error'})`;
}
