import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MOXXY_BIN, runCli } from './helpers/process.ts';
import { makeTempHome } from './helpers/server.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Sandbox {
  root: string;
  home: string;
  config: string;
  env: Record<string, string>;
  /** Each call of the fake systemctl/journalctl: program name, then its argv. */
  calls(): string[][];
}

/** A temp directory with fake systemctl and journalctl that record their argv (and exit with FAKE_EXIT). */
function sandbox(): Sandbox {
  const root = makeTempHome();
  dirs.push(root);
  const home = join(root, 'moxxy home');
  const config = join(root, 'xdg');
  mkdirSync(home);
  const log = join(root, 'calls.log');
  for (const program of ['systemctl', 'journalctl']) {
    const file = join(root, `fake-${program}`);
    writeFileSync(file, `#!/bin/sh\n{ printf '%s' ${program}; for arg in "$@"; do printf '\\t%s' "$arg"; done; echo; } >> "${log}"\nexit \${FAKE_EXIT:-0}\n`);
    chmodSync(file, 0o755);
  }
  return {
    root,
    home,
    config,
    env: {
      MOXXY_HOME: home,
      XDG_CONFIG_HOME: config,
      MOXXY_SYSTEMCTL: join(root, 'fake-systemctl'),
      MOXXY_JOURNALCTL: join(root, 'fake-journalctl'),
      MOXXY_LOG_LEVEL: 'silent',
    },
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((line) => line.split('\t')) : []),
  };
}

describe('moxxy service install', () => {
  it('writes a user unit for the API server, then reloads systemd and enables it now', async () => {
    const box = sandbox();
    const result = await runCli(['service', 'install'], box.env, box.root);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const file = join(box.config, 'systemd', 'user', 'moxxy-serve.service');
    expect(result.stdout).toContain(`Wrote ${file}`);
    expect(readFileSync(file, 'utf8')).toBe(
      [
        '[Unit]',
        'Description=Moxxy server (REST, tRPC and OpenAPI)',
        'After=network-online.target',
        'Wants=network-online.target',
        '',
        '[Service]',
        'Type=simple',
        `ExecStart=${process.execPath} ${MOXXY_BIN} serve`,
        `WorkingDirectory=${box.root}`,
        // The home has a space in it: the assignment is quoted as a whole.
        `Environment="MOXXY_HOME=${box.home}"`,
        'Restart=on-failure',
        'RestartSec=5',
        '',
        '[Install]',
        'WantedBy=default.target',
        '',
      ].join('\n'),
    );
    expect(box.calls()).toEqual([
      ['systemctl', '--user', 'daemon-reload'],
      ['systemctl', '--user', 'enable', '--now', 'moxxy-serve.service'],
    ]);
  });

  it('writes the HTTP channel unit only, with --no-start', async () => {
    const box = sandbox();
    const result = await runCli(['service', 'install', 'http', '--no-start'], box.env, box.root);
    expect(result.code).toBe(0);
    const unit = readFileSync(join(box.config, 'systemd', 'user', 'moxxy-http.service'), 'utf8');
    expect(unit).toContain(`ExecStart=${process.execPath} ${MOXXY_BIN} channels http\n`);
    expect(unit).toContain('Description=Moxxy HTTP channel\n');
    expect(result.stdout).toContain('systemctl --user enable --now moxxy-http.service');
    expect(box.calls()).toEqual([]);
  });

  it('uses ~/.config/systemd/user when XDG_CONFIG_HOME is not set', async () => {
    const box = sandbox();
    const { XDG_CONFIG_HOME: _, ...env } = box.env;
    const result = await runCli(['service', 'install', '--no-start'], { ...env, HOME: box.root, XDG_CONFIG_HOME: '' }, box.root);
    expect(result.code).toBe(0);
    expect(existsSync(join(box.root, '.config', 'systemd', 'user', 'moxxy-serve.service'))).toBe(true);
  });

  it('fails with a clear message when systemctl fails or is missing, keeping the unit written', async () => {
    const box = sandbox();
    const failing = await runCli(['service', 'install'], { ...box.env, FAKE_EXIT: '1' }, box.root);
    expect(failing.code).toBe(1);
    expect(failing.stderr).toBe('moxxy: systemctl --user daemon-reload exited with status 1\n');

    const missing = await runCli(['service', 'install'], { ...box.env, MOXXY_SYSTEMCTL: join(box.root, 'no-such-systemctl') }, box.root);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no-such-systemctl: not found (moxxy service needs systemd');
    expect(existsSync(join(box.config, 'systemd', 'user', 'moxxy-serve.service'))).toBe(true);
  });

  it('refuses an unknown service name', async () => {
    const box = sandbox();
    const result = await runCli(['service', 'install', 'nginx'], box.env, box.root);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("'nginx' is invalid for argument 'service'. must be one of: serve, http");
    expect(existsSync(join(box.config, 'systemd'))).toBe(false);
  });
});

describe('moxxy service status, logs and uninstall', () => {
  it('passes status to systemctl and its exit status back', async () => {
    const box = sandbox();
    const result = await runCli(['service', 'status', 'http'], { ...box.env, FAKE_EXIT: '3' }, box.root);
    expect(result.code).toBe(3);
    expect(box.calls()).toEqual([['systemctl', '--user', 'status', 'moxxy-http.service']]);
  });

  it('reads the journal: 100 lines by default, -n and -f passed on', async () => {
    const box = sandbox();
    expect((await runCli(['service', 'logs'], box.env, box.root)).code).toBe(0);
    expect((await runCli(['service', 'logs', 'http', '-n', '20', '-f'], box.env, box.root)).code).toBe(0);
    expect(box.calls()).toEqual([
      ['journalctl', '--user', '-u', 'moxxy-serve.service', '-n', '100'],
      ['journalctl', '--user', '-u', 'moxxy-http.service', '-n', '20', '-f'],
    ]);
  });

  it('uninstall disables the service, removes its unit and reloads; twice is an error', async () => {
    const box = sandbox();
    await runCli(['service', 'install', '--no-start'], box.env, box.root);
    const file = join(box.config, 'systemd', 'user', 'moxxy-serve.service');
    const result = await runCli(['service', 'uninstall'], box.env, box.root);
    expect(result.code).toBe(0);
    expect(existsSync(file)).toBe(false);
    expect(box.calls()).toEqual([
      ['systemctl', '--user', 'disable', '--now', 'moxxy-serve.service'],
      ['systemctl', '--user', 'daemon-reload'],
    ]);
    const again = await runCli(['service', 'uninstall'], box.env, box.root);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('moxxy-serve.service is not installed');
  });
});
