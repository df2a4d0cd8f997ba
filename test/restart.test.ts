import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempHome, createApi } from './helpers/server.ts';
import { spawnServer } from './helpers/process.ts';

describe('the server process', () => {
  it('keeps data across a restart on the same database file', async () => {
    const home = makeTempHome();
    try {
      const first = await spawnServer({ MOXXY_HOME: home });
      const api = createApi(first.url);
      expect((await api.post('/api/agents', { name: 'survivor', system_prompt: 'Remember me.' })).status).toBe(201);
      expect(await first.stop()).toBe(0);

      const second = await spawnServer({ MOXXY_HOME: home });
      const again = createApi(second.url);
      const res = await again.get('/api/agents/survivor');
      expect(res.status).toBe(200);
      expect(res.body.data.system_prompt).toBe('Remember me.');
      expect((await again.get('/api/agents?limit=100')).body.data.pagination.total).toBe(2);
      await second.stop();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('uses MOXXY_DATABASE_URL when given', async () => {
    const home = makeTempHome();
    try {
      const server = await spawnServer({ MOXXY_HOME: home, MOXXY_DATABASE_URL: `file:${join(home, 'elsewhere', 'custom.db')}` });
      const health = await createApi(server.url).get('/api/health');
      expect(health.body.data.database).toMatchObject({ status: 'ok', kind: 'file' });
      await server.stop();
      const { existsSync } = await import('node:fs');
      expect(existsSync(join(home, 'elsewhere', 'custom.db'))).toBe(true);
      expect(existsSync(join(home, 'moxxy.db'))).toBe(false);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
