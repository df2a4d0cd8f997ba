/** Health: version, uptime and a database round trip. */
import { readFileSync } from 'node:fs';
import type { Health } from '../domain/system.ts';
import type { Database } from '../db/client.ts';

export const VERSION: string = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
).version;

export class SystemService {
  private readonly startedAt = Date.now();

  constructor(private readonly database: Database) {}

  async health(): Promise<Health> {
    const started = performance.now();
    let ok = true;
    try {
      await this.database.client.execute('SELECT 1');
    } catch {
      ok = false;
    }
    const latency = Math.round((performance.now() - started) * 1000) / 1000;
    return {
      status: ok ? 'ok' : 'degraded',
      version: VERSION,
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      database: { status: ok ? 'ok' : 'error', kind: this.database.kind, latency_ms: ok ? latency : null },
    };
  }
}
