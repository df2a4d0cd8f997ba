/** Health: version, uptime, a database round trip, and what this machine's sandbox gives. */
import { readFileSync } from 'node:fs';
import type { SandboxKind } from '../domain/skills.ts';
import type { Health } from '../domain/system.ts';
import type { Database } from '../db/client.ts';

export const VERSION: string = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
).version;

/** What the sandbox reports (src/services/sandbox): its kind, and what is missing, in words. */
export type SandboxReport = () => Promise<{ kind: SandboxKind; warnings: string[] }>;

export class SystemService {
  private readonly startedAt = Date.now();

  constructor(
    private readonly database: Database,
    private readonly sandbox: SandboxReport,
  ) {}

  /** What weakens this server's guarantees, in words: logged at start-up and shown in health. */
  async warnings(): Promise<string[]> {
    return (await this.sandbox()).warnings;
  }

  async health(): Promise<Health> {
    const started = performance.now();
    let ok = true;
    try {
      await this.database.client.execute('SELECT 1');
    } catch {
      ok = false;
    }
    const latency = Math.round((performance.now() - started) * 1000) / 1000;
    const sandbox = await this.sandbox();
    return {
      status: ok ? 'ok' : 'degraded',
      version: VERSION,
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      database: { status: ok ? 'ok' : 'error', kind: this.database.kind, latency_ms: ok ? latency : null },
      sandbox: sandbox.kind,
      warnings: sandbox.warnings,
    };
  }
}
