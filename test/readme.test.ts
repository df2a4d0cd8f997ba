import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertMatchesOpenApi } from './helpers/openapi.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const run = promisify(execFile);
const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** Every ```bash block of the README that is a curl command, in order. */
const examples = [...README.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!.trim()).filter((block) => block.startsWith('curl'));

/** Streams that never end by themselves are read for a moment. */
const isEndless = (command: string) => command.includes('/v1/events/stream');

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('README curl examples', () => {
  it('has examples to run', () => {
    expect(examples.length).toBeGreaterThan(10);
  });

  it.each(examples.map((command, index) => [index + 1, command] as const))('example %i works as written: %s', async (_index, command) => {
    const local = command.replace(/http:\/\/127\.0\.0\.1:17890/g, server.url).replace(/\\\n\s*/g, ' ');
    const args = isEndless(local) ? `${local} --max-time 2` : local;
    const result = await run('sh', ['-c', `${args} --silent --show-error --write-out '\\n%{http_code} %{content_type}'`]).catch((error: any) => error);
    if (isEndless(local)) {
      expect(result.code).toBe(28); // curl's "timed out": the stream stayed open
      return;
    }
    expect(result.stderr ?? '').toBe('');
    const stdout: string = result.stdout;
    const [status, contentType] = stdout.slice(stdout.lastIndexOf('\n') + 1).split(' ');
    const body = stdout.slice(0, stdout.lastIndexOf('\n'));
    expect(Number(status), body).toBeLessThan(300);
    const method = /-X (\w+)/.exec(local)?.[1] ?? (local.includes(' -d ') ? 'POST' : 'GET');
    const url = /"?(http:\/\/[^\s"]+)"?/.exec(local)![1]!;
    if (contentType?.includes('json')) {
      const parsed = JSON.parse(body);
      assertMatchesOpenApi(method, url.replace(server.url, ''), Number(status), contentType, parsed);
      // The envelope is /api's; /v1 (seeds 001 and 004, OpenAI's shapes), /mcp and /a2a answer in their clients' shapes.
      if (new URL(url).pathname.startsWith('/api/') && !url.includes('/v1/')) expect(parsed.success).toBe(true);
    } else {
      expect(contentType).toContain('text/event-stream');
      expect(body).toMatch(/"done":true/);
    }
  });
});
