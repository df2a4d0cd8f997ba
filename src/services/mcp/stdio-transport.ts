/**
 * The MCP stdio client transport over a process started in the sandbox: newline-delimited JSON-RPC on its stdin and
 * stdout; its stderr and its exit go to hooks (for the log), never into a message.
 */
import { mkdir } from 'node:fs/promises';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { ProcessExit, Sandbox, SandboxedProcess, SandboxProfile } from '../sandbox/index.ts';

export interface SandboxedStdioOptions {
  sandbox: Sandbox;
  command: string[];
  /** Its workdir is created on start, and is the process's working directory. */
  profile: SandboxProfile;
  /** The whole environment. */
  env: Record<string, string>;
  onStderr?(text: string): void;
  onExit?(exit: ProcessExit): void;
}

/** How long close() lets the server end by itself once its stdin is closed. */
const CLOSE_GRACE_MS = 2000;

export class SandboxedStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T) => void;
  /** How the process ended, once it has by itself (not killed by close()). */
  exited: ProcessExit | undefined;
  private running: SandboxedProcess | undefined;
  private killedByClose = false;
  private started = false;
  private readonly buffer = new ReadBuffer();

  constructor(private readonly options: SandboxedStdioOptions) {}

  async start(): Promise<void> {
    if (this.started) throw new Error('SandboxedStdioTransport already started');
    this.started = true;
    const { sandbox, command, profile, env } = this.options;
    await mkdir(profile.workdir, { recursive: true, mode: 0o700 });
    const running = await sandbox.spawn(command, profile, { cwd: profile.workdir, env });
    this.running = running;
    running.child.stdout.on('data', (chunk: Buffer) => this.receive(chunk));
    running.child.stderr.on('data', (chunk: Buffer) => this.options.onStderr?.(chunk.toString()));
    running.child.stdin.on('error', (error) => this.onerror?.(error));
    // The exit is known before onclose, so a caller failing on a closed connection can say how the process ended.
    running.exit.then(
      (exit) => {
        if (!this.killedByClose) this.exited = exit;
        this.options.onExit?.(exit);
      },
      (error: Error) => this.onerror?.(error),
    ).finally(() => {
      this.running = undefined;
      this.buffer.clear();
      this.onclose?.();
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.running?.child.stdin;
    if (!stdin?.writable) return Promise.reject(new Error('Not connected'));
    return new Promise((resolve) => {
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once('drain', resolve);
    });
  }

  /** Closes its stdin (MCP's way to ask a stdio server to stop), then kills what is left. */
  async close(): Promise<void> {
    const running = this.running;
    if (!running) return;
    running.child.stdin.end();
    const grace = setTimeout(() => {
      this.killedByClose = true;
      running.kill();
    }, CLOSE_GRACE_MS);
    await running.exit.catch(() => undefined);
    clearTimeout(grace);
  }

  private receive(chunk: Buffer): void {
    try {
      this.buffer.append(chunk);
    } catch (error) {
      // More than the buffer's limit without a newline: not a server to keep talking to.
      this.onerror?.(error as Error);
      this.running?.kill();
      return;
    }
    for (;;) {
      try {
        const message = this.buffer.readMessage();
        if (message === null) return;
        this.onmessage?.(message);
      } catch (error) {
        this.onerror?.(error as Error);
      }
    }
  }
}
