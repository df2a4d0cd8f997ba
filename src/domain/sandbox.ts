/** What the sandbox of skills and stdio MCP servers is on this machine: isolation, network stack, process limit. */
import { z } from 'zod';
import { SandboxKind } from './skills.ts';

export const SandboxNetwork = z
  .enum(['slirp4netns', 'pasta', 'none'])
  .describe('The user-mode network stack given to sandboxes that need the network; "none": they are refused.');
export type SandboxNetwork = z.infer<typeof SandboxNetwork>;

export const ProcessLimit = z
  .enum(['rlimit', 'cgroup', 'none'])
  .describe('How the number of processes is capped: RLIMIT_NPROC in the sandbox\'s user namespace, a pids cgroup, or not at all.');
export type ProcessLimit = z.infer<typeof ProcessLimit>;

export const SandboxStatus = z.object({
  kind: SandboxKind,
  reason: z.string().optional().describe('Why there is no sandbox, when there is none.'),
  network: SandboxNetwork,
  processLimit: ProcessLimit,
  warnings: z.array(z.string()).describe('What this machine does not enforce, for the operator.'),
});
export type SandboxStatus = z.infer<typeof SandboxStatus>;
