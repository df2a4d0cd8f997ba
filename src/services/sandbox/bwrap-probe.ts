/** Whether bubblewrap can create namespaces here at all (it cannot in some containers, then nothing is sandboxed). */
import { spawn } from 'node:child_process';
import type { SandboxKind } from '../../domain/skills.ts';

const PROBE_TIMEOUT_MS = 10_000;

/** Runs `true` in the tightest sandbox, with the options every sandbox uses (--size needs bubblewrap >= 0.5). */
export function probeBwrap(bwrap: string): Promise<{ kind: SandboxKind; reason?: string }> {
  const args = ['--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev'];
  return new Promise((resolve) => {
    let stderr = '';
    const child = spawn(bwrap, [...args, '--size', '1048576', '--tmpfs', '/tmp', '/bin/sh', '-c', 'exit 0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: '/usr/bin:/bin' },
      timeout: PROBE_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (error) => resolve({ kind: 'none', reason: `${bwrap} cannot run: ${error.message}` }));
    child.once('close', (code) =>
      resolve(code === 0 ? { kind: 'bwrap' } : { kind: 'none', reason: `${bwrap} cannot create a sandbox here: ${stderr.trim() || `exit ${code}`}` }),
    );
  });
}
