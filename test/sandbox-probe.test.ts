/**
 * The sandbox probe's outcome, kept between starts: a start whose bubblewrap, user, boot and namespace settings are
 * those of the last one uses its outcome without starting bubblewrap, probes again a moment later, and follows what
 * that finds. A stand-in bubblewrap (a shell script) counts its runs and answers as told.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../src/config/schema.ts';
import { Sandbox, sandboxSettings } from '../src/services/sandbox/index.ts';

let dir: string;
let bwrap: string;
const runs = () => readFileSync(join(dir, 'runs'), 'utf8').split('\n').filter(Boolean).length;
/** The stand-in's answer from now on: 0 (a sandbox could be made) or 1 (it could not). */
const answer = (code: 0 | 1) => writeFileSync(join(dir, 'answer'), String(code));

function standIn(extra = '') {
  writeFileSync(
    bwrap,
    `#!/bin/sh\necho run >> '${join(dir, 'runs')}'\ncode=$(cat '${join(dir, 'answer')}')\n[ "$code" = 0 ] || echo 'no user namespaces here' >&2\nexit $code\n${extra}`,
  );
  chmodSync(bwrap, 0o755);
}

const sandbox = () => new Sandbox({ ...sandboxSettings(ConfigSchema.parse({ home: join(dir, 'home') })), bwrap, reprobeAfterMs: 50 });

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'moxxy-probe-'));
  bwrap = join(dir, 'bwrap');
  mkdirSync(join(dir, 'home'));
  writeFileSync(join(dir, 'runs'), '');
  answer(0);
  standIn();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the sandbox probe', () => {
  it('is kept for the next start, which uses it without starting bubblewrap and probes again a moment later', async () => {
    const first = sandbox();
    expect((await first.status()).kind).toBe('bwrap');
    expect(runs()).toBe(1);
    await first.close();
    expect(JSON.parse(readFileSync(join(dir, 'home', 'sandbox-probe.json'), 'utf8')).outcome).toEqual({ kind: 'bwrap' });

    const second = sandbox();
    expect((await second.status()).kind).toBe('bwrap');
    expect(runs()).toBe(1);
    await until(() => runs() === 2);
    expect((await second.status()).kind).toBe('bwrap');
    await second.close();
  });

  it('follows the probe again when the machine changed in a way the kept inputs do not show', async () => {
    await sandbox().status();
    answer(1);
    const next = sandbox();
    // The kept outcome first (the stand-in itself did not change)...
    expect((await next.status()).kind).toBe('bwrap');
    // ...then what bubblewrap answers now, kept for the start after.
    await until(async () => (await next.status()).kind === 'none');
    expect(runs()).toBe(2);
    const status = await next.status();
    expect(status.reason).toContain('no user namespaces here');
    expect(status.warnings.join(' ')).toContain('No sandbox');
    await next.close();
    const after = sandbox();
    expect((await after.status()).kind).toBe('none');
    expect(runs()).toBe(2);
    await after.close();
  });

  it('probes at once when bubblewrap itself changed', async () => {
    await sandbox().status();
    expect(runs()).toBe(1);
    standIn('# a newer bubblewrap\n');
    answer(1);
    const next = sandbox();
    expect((await next.status()).kind).toBe('none');
    expect(runs()).toBe(2);
    await next.close();
  });
});
