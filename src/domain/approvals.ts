/**
 * Tool approvals: a policy says, per tool or family, whether a call goes ahead (`allow`), waits for a person
 * (`ask`) or is refused (`deny`); a run that meets an `ask` call pauses until someone approves or denies it.
 * Policies only narrow what the allow-lists let through (src/domain/tool-access.ts); a channel's policy narrows the
 * agent's (the stricter mode wins).
 */
import { z } from 'zod';
import { validationError, type ValidationIssue } from './errors.ts';
import { HOST_TOOLS, listAllows } from './tool-access.ts';

export const TOOL_POLICY_MODES = ['allow', 'ask', 'deny'] as const;
export const ToolPolicyMode = z.enum(TOOL_POLICY_MODES).meta({ id: 'ToolPolicyMode' });
export type ToolPolicyMode = z.infer<typeof ToolPolicyMode>;

const PolicyPattern = z
  .string()
  .min(1)
  .max(200)
  .regex(/^(\*|[A-Za-z0-9_:-][A-Za-z0-9_.:-]*?(\.\*)?)$/, 'must be a tool name, a family (`mcp.*`, `mcp.github.*`) or `*`');

export const ToolPolicy = z
  .record(PolicyPattern, ToolPolicyMode)
  .describe(
    'Per tool or family (`host_shell`, `mcp.*`, `*`): `allow` (the default), `ask` (the run pauses until a person approves the call) or `deny`. ' +
      'The most specific pattern wins. `ask` is valid only for tools the agent may call at all.',
  )
  .meta({ id: 'ToolPolicy' });
export type ToolPolicy = z.infer<typeof ToolPolicy>;

/** Where a policy comes from, for what a decision says. */
export interface PolicyList {
  source: 'agent' | 'channel';
  name: string;
  policy: ToolPolicy;
}

const STRICTNESS: Record<ToolPolicyMode, number> = { allow: 0, ask: 1, deny: 2 };

/**
 * The mode one policy gives a tool: its exact name, else the longest family, else `*`, else allow. Unlike an
 * allow-list's `*`, a policy's `*` covers host tools too: a policy only ever makes calls stricter.
 */
export function policyMode(policy: ToolPolicy, tool: string): ToolPolicyMode {
  if (policy[tool]) return policy[tool];
  let best: { length: number; mode: ToolPolicyMode } | undefined;
  for (const [pattern, mode] of Object.entries(policy)) {
    if (!pattern.endsWith('.*')) continue;
    const prefix = pattern.slice(0, -1);
    if (tool.startsWith(prefix) && (!best || prefix.length > best.length)) best = { length: prefix.length, mode };
  }
  return best?.mode ?? policy['*'] ?? 'allow';
}

/** The mode of a tool under every policy of a run: the strictest one, with the list that set it. */
export function effectiveMode(lists: readonly PolicyList[], tool: string): { mode: ToolPolicyMode; list?: PolicyList } {
  let result: { mode: ToolPolicyMode; list?: PolicyList } = { mode: 'allow' };
  for (const list of lists) {
    const mode = policyMode(list.policy, tool);
    if (STRICTNESS[mode] > STRICTNESS[result.mode]) result = { mode, list };
  }
  return result;
}

/** Whether some tool a pattern names could pass the allow-list at all: `ask` on anything else would never be asked. */
function patternCallable(allowed: readonly string[], pattern: string): boolean {
  if (!pattern.endsWith('.*') && pattern !== '*') return listAllows(allowed, pattern);
  if (pattern === '*') return allowed.length > 0;
  const prefix = pattern.slice(0, -1);
  return allowed.some((entry) => entry === '*' || entry.startsWith(prefix) || (entry.endsWith('.*') && prefix.startsWith(entry.slice(0, -1))));
}

/** Refuses a policy that asks about tools the allow-list never lets the run call. */
export function checkToolPolicy(allowed: readonly string[], policy: ToolPolicy, field = 'tool_policy'): void {
  const issues: ValidationIssue[] = Object.entries(policy)
    .filter(([pattern, mode]) => mode === 'ask' && !patternCallable(allowed, pattern))
    .map(([pattern]) => ({ path: `${field}.${pattern}`, message: `'ask' needs a tool the allow-list lets the agent call; '${pattern}' is not allowed at all`, code: 'invalid_value' }));
  if (issues.length) throw validationError(issues);
}

/** The host tools whose mode a new policy loosens compared with the current one: a host power. */
export function loosenedHostTools(current: ToolPolicy, next: ToolPolicy): string[] {
  return HOST_TOOLS.filter((tool) => STRICTNESS[policyMode(next, tool)] < STRICTNESS[policyMode(current, tool)]);
}

export const APPROVAL_STATUSES = ['pending', 'approved', 'denied', 'expired'] as const;
export const ApprovalStatus = z.enum(APPROVAL_STATUSES).meta({ id: 'ApprovalStatus' });
export type ApprovalStatus = z.infer<typeof ApprovalStatus>;

export const Approval = z
  .object({
    run_id: z.string(),
    call_id: z.string().describe('The tool call id, as in the run\'s steps.'),
    tool: z.string(),
    arguments: z.unknown(),
    status: ApprovalStatus,
    reason: z.string().nullable().describe('Why it was denied (or approved), as the decider said; "expired" for an expired one.'),
    for_session: z.boolean().describe('The decision holds for every later call of this tool in the session.'),
    decided_by: z.string().nullable().describe('Who decided: a token id, `internal`, `telegram:<user>`, `cli` (moxxy approvals), `expiry` ...'),
    created_at: z.date(),
    expires_at: z.date().describe('A pending approval still undecided then is denied.'),
    decided_at: z.date().nullable(),
  })
  .meta({ id: 'Approval', description: 'A tool call that waits (or waited) for a person to approve or deny it.' });
export type Approval = z.infer<typeof Approval>;

export const ApprovalRef = z.object({
  id: z.string().min(1).max(100).describe('Run id.'),
  call_id: z.string().min(1).max(200).describe('The pending tool call id (`pending_approval.call_id` of the run).'),
});

export const ApprovalDecisionInput = z
  .strictObject({
    decision: z.enum(['approve', 'deny']),
    reason: z.string().min(1).max(2000).optional().describe('Told to the model as the tool\'s result when denying.'),
    for_session: z.boolean().default(false).describe('Apply the same decision to later calls of this tool in this session, without asking.'),
  })
  .meta({ id: 'ApprovalDecisionInput' });
export type ApprovalDecisionInput = z.infer<typeof ApprovalDecisionInput>;

export const ApprovalDecide = ApprovalRef.extend(ApprovalDecisionInput.shape);

/** What the model reads as the result of a call that was denied. */
export function denialOutput(tool: string, status: ApprovalStatus, reason: string | null): string {
  if (status === 'expired') return `Tool '${tool}' was not run: nobody approved the call before it expired`;
  return `Tool '${tool}' was not run: a person denied the call${reason ? ` (${reason})` : ''}`;
}
