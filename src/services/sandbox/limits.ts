/** Resource limits of a sandboxed process as rlimits, which prlimit sets right before it runs the command. */
import type { MoxxyConfig } from '../../config/schema.ts';

export type SandboxLimits = MoxxyConfig['skills']['limits'];

/**
 * `nproc` only inside bubblewrap's user namespace, where the kernel (>= 5.14) counts the sandbox's own processes;
 * outside it RLIMIT_NPROC counts every process of the server's user and would fail the command for the server's sake.
 */
export function prlimitArgs(limits: SandboxLimits, options: { nproc: boolean }): string[] {
  return [
    ...(options.nproc ? [`--nproc=${limits.processes}`] : []),
    // RLIMIT_DATA counts private writable memory (heap, anonymous maps), not reserved address space: node's and
    // WebAssembly's large PROT_NONE reservations pass, a 2 GiB allocation does not.
    `--data=${limits.memoryBytes}`,
    // SIGXCPU at the limit, which a process may catch to end cleanly; SIGKILL a second later.
    `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 1}`,
    `--nofile=${limits.openFiles}`,
    `--fsize=${limits.fileSizeBytes}`,
  ];
}
