import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { runCli } from './helpers/process.ts';
import { makeTempHome } from './helpers/server.ts';

const homes: string[] = [];
function home(): string {
  const dir = makeTempHome();
  homes.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of homes.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('configuration', () => {
  it('defaults to 127.0.0.1:17890 and a database under MOXXY_HOME', async () => {
    const dir = home();
    const config = await loadConfig({ cwd: dir, env: { MOXXY_HOME: dir } });
    expect(config).toMatchObject({ host: '127.0.0.1', port: 17890, home: dir, logLevel: 'info' });
    expect(config.database.url).toBeUndefined();
  });

  it('reads moxxy.config.json from the working directory, and environment variables win', async () => {
    const dir = home();
    writeFileSync(join(dir, 'moxxy.config.json'), JSON.stringify({ port: 18000, logLevel: 'warn', database: { url: 'file:/tmp/x.db' } }));
    const fromFile = await loadConfig({ cwd: dir, env: { MOXXY_HOME: dir } });
    expect(fromFile).toMatchObject({ port: 18000, logLevel: 'warn', database: { url: 'file:/tmp/x.db' } });
    const withEnv = await loadConfig({ cwd: dir, env: { MOXXY_HOME: dir, PORT: '18001', MOXXY_DATABASE_URL: 'file:/tmp/y.db', HOST: '::1' } });
    expect(withEnv).toMatchObject({ port: 18001, host: '::1', database: { url: 'file:/tmp/y.db' } });
  });

  it('reads a moxxy.config.ts written with defineConfig from MOXXY_HOME', async () => {
    const dir = home();
    const cwd = join(dir, 'elsewhere');
    mkdirSync(cwd);
    const helper = new URL('../src/config/define-config.ts', import.meta.url).pathname;
    writeFileSync(join(dir, 'moxxy.config.ts'), `import { defineConfig } from '${helper}';\nexport default defineConfig({ port: 18123, providers: { openai: { baseUrl: 'http://127.0.0.1:11434/v1' } } });\n`);
    const config = await loadConfig({ cwd, env: { MOXXY_HOME: dir } });
    expect(config.port).toBe(18123);
    expect(config.providers.openai.baseUrl).toBe('http://127.0.0.1:11434/v1');
  });

  it('names the bad field and where it came from', async () => {
    const dir = home();
    writeFileSync(join(dir, 'moxxy.config.json'), JSON.stringify({ port: 70000, logLevel: 'loud', prot: 1 }));
    const error = await loadConfig({ cwd: dir, env: { MOXXY_HOME: dir } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('moxxy.config.json');
    expect(message).toMatch(/port: Too big/);
    expect(message).toMatch(/logLevel: Invalid option/);
    expect(message).toMatch(/Unrecognized key.*prot/);
    const fromEnv = await loadConfig({ cwd: home(), env: { MOXXY_HOME: dir, PORT: 'eighty' } }).catch((e: Error) => e.message);
    expect(fromEnv).toMatch(/port \(from PORT\): Invalid input: expected number, received string/);
  });

  it('stops `moxxy serve` with the message when the config is invalid', async () => {
    const dir = home();
    const result = await runCli(['serve'], { MOXXY_HOME: dir, PORT: 'eighty' }, dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Invalid configuration');
    expect(result.stderr).toContain('port (from PORT)');
    expect(result.stderr).not.toContain('    at ');
  });
});
