/** A stdio MCP server's stderr as log lines: whole lines, so a secret is never split where redaction cannot see it. */

export interface StderrLog {
  write(chunk: string): void;
  /** Logs what is left of an unfinished line (when the process has exited). */
  flush(): void;
}

/** Lines longer than maxChars are logged in pieces, so a server writing without newlines cannot grow the buffer. */
export function stderrLog(emit: (line: string) => void, maxChars: number): StderrLog {
  let pending = '';
  const emitLine = (line: string) => {
    if (line.trim()) emit(line);
  };
  return {
    write(chunk) {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop()!;
      for (const line of lines) emitLine(line);
      while (pending.length > maxChars) {
        emitLine(pending.slice(0, maxChars));
        pending = pending.slice(maxChars);
      }
    },
    flush() {
      emitLine(pending);
      pending = '';
    },
  };
}

/** Replaces each literal secret (shorter ones would mask ordinary words) with a marker. */
export function maskSecrets(text: string, secrets: string[]): string {
  return secrets.reduce((masked, secret) => (secret.length >= 4 ? masked.replaceAll(secret, '[REDACTED]') : masked), text);
}
