/**
 * `moxxy service`: runs the API server (`serve`) or the HTTP channel (`http`) as a systemd user service —
 * writes the unit, then drives it with systemctl and reads its log with journalctl. MOXXY_SYSTEMCTL and
 * MOXXY_JOURNALCTL name other programs to run instead (tests use recording fakes; no systemd needed).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { fail } from '../fail.ts';

const MOXXY_BIN = fileURLToPath(new URL('../../../bin/moxxy.cjs', import.meta.url));

/** What can run as a service, and the `moxxy` arguments that run it. */
const SERVICES = {
  serve: { args: ['serve'], description: 'Moxxy server (REST, tRPC and OpenAPI)' },
  http: { args: ['channels', 'http'], description: 'Moxxy HTTP channel' },
} as const;
type ServiceName = keyof typeof SERVICES;

function parseService(value: string): ServiceName {
  if (value in SERVICES) return value as ServiceName;
  throw new InvalidArgumentError(`must be one of: ${Object.keys(SERVICES).join(', ')}`);
}

function parseLines(value: string): number {
  const lines = Number(value);
  if (!Number.isInteger(lines) || lines < 0) throw new InvalidArgumentError('must be a whole number of lines');
  return lines;
}

const unitName = (service: ServiceName) => `moxxy-${service}.service`;

/** ~/.config/systemd/user, or under XDG_CONFIG_HOME when it is set. */
function unitDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'systemd', 'user');
}

/** One word of a unit file: `%` escaped (systemd specifiers), quoted when it holds spaces, quotes or backslashes. */
function unitWord(value: string): string {
  const escaped = value.replaceAll('%', '%%');
  return /[\s"'\\]/.test(escaped) ? `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"` : escaped;
}

export interface UnitOptions {
  service: ServiceName;
  node: string;
  bin: string;
  workingDirectory: string;
  home: string;
}

export function renderUnit(options: UnitOptions): string {
  const exec = [options.node, options.bin, ...SERVICES[options.service].args].map(unitWord).join(' ');
  return [
    '[Unit]',
    `Description=${SERVICES[options.service].description}`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    `WorkingDirectory=${unitWord(options.workingDirectory)}`,
    `Environment=${unitWord(`MOXXY_HOME=${options.home}`)}`,
    'Restart=on-failure',
    'RestartSec=5',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

/** Runs systemctl (or journalctl) with the terminal attached; returns its exit status. */
function run(program: 'systemctl' | 'journalctl', args: string[]): number {
  const command = (program === 'systemctl' ? process.env.MOXXY_SYSTEMCTL : process.env.MOXXY_JOURNALCTL) || program;
  const result = spawnSync(command, args, { stdio: 'inherit' });
  if (result.error) {
    const reason = (result.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : result.error.message;
    fail(`${command}: ${reason} (moxxy service needs systemd; set MOXXY_${program.toUpperCase()} to use another program)`);
  }
  return result.status ?? 1;
}

function systemctl(...args: string[]): void {
  const status = run('systemctl', ['--user', ...args]);
  if (status !== 0) fail(`systemctl --user ${args.join(' ')} exited with status ${status}`);
}

export function registerServiceCommand(program: Command): void {
  const service = program
    .command('service')
    .description('Run moxxy as a systemd user service: `serve` (the API, default) or `http` (the HTTP channel)');

  service
    .command('install')
    .description(`Write ${join(unitDir(), 'moxxy-<service>.service')}, then daemon-reload and enable --now it`)
    .argument('[service]', 'serve or http', parseService, 'serve')
    .option('--no-start', 'only write the unit')
    .action(async (name: ServiceName, options: { start: boolean }) => {
      const config = await loadConfig();
      const file = join(unitDir(), unitName(name));
      mkdirSync(unitDir(), { recursive: true });
      writeFileSync(file, renderUnit({ service: name, node: process.execPath, bin: MOXXY_BIN, workingDirectory: process.cwd(), home: resolve(config.home) }));
      process.stdout.write(`Wrote ${file}\n`);
      if (!options.start) {
        process.stdout.write(`Start it with: systemctl --user daemon-reload && systemctl --user enable --now ${unitName(name)}\n`);
        return;
      }
      systemctl('daemon-reload');
      systemctl('enable', '--now', unitName(name));
      process.stdout.write(`Enabled and started ${unitName(name)}; see moxxy service status ${name} and moxxy service logs ${name}\n`);
    });

  service
    .command('status')
    .description('systemctl --user status moxxy-<service>.service')
    .argument('[service]', 'serve or http', parseService, 'serve')
    .action((name: ServiceName) => {
      process.exitCode = run('systemctl', ['--user', 'status', unitName(name)]);
    });

  service
    .command('logs')
    .description('journalctl --user -u moxxy-<service>.service')
    .argument('[service]', 'serve or http', parseService, 'serve')
    .option('-n, --lines <n>', 'how many recent lines', parseLines, 100)
    .option('-f, --follow', 'keep printing new lines')
    .action((name: ServiceName, options: { lines: number; follow?: boolean }) => {
      process.exitCode = run('journalctl', ['--user', '-u', unitName(name), '-n', String(options.lines), ...(options.follow ? ['-f'] : [])]);
    });

  service
    .command('uninstall')
    .description('Stop and disable the service, then remove its unit')
    .argument('[service]', 'serve or http', parseService, 'serve')
    .action((name: ServiceName) => {
      const file = join(unitDir(), unitName(name));
      if (!existsSync(file)) fail(`${file} does not exist: ${unitName(name)} is not installed`);
      systemctl('disable', '--now', unitName(name));
      rmSync(file);
      systemctl('daemon-reload');
      process.stdout.write(`Removed ${file}\n`);
    });
}
