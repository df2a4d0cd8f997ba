/** Agents: the model, prompt and tool allow-list that a run is made from. */
import { z } from 'zod';
import { ToolPolicy } from './approvals.ts';
import { Pagination, PaginationInput, Slug } from './common.ts';

export const ModelProvider = z.enum(['echo', 'openai', 'anthropic']).meta({ id: 'ModelProvider' });
export type ModelProvider = z.infer<typeof ModelProvider>;

export const ModelParameters = z
  .strictObject({
    temperature: z.number().min(0).max(2).optional(),
    max_tokens: z.number().int().min(1).max(1_000_000).optional(),
    top_p: z.number().min(0).max(1).optional(),
  })
  .meta({ id: 'ModelParameters' });
export type ModelParameters = z.infer<typeof ModelParameters>;

export const ModelSettings = z
  .strictObject({
    provider: ModelProvider,
    name: z.string().min(1).max(200).describe('Model name at the provider, e.g. "gpt-4o-mini".'),
    parameters: ModelParameters.default({}),
  })
  .meta({ id: 'ModelSettings' });
export type ModelSettings = z.infer<typeof ModelSettings>;

export const DEFAULT_MODEL: ModelSettings = { provider: 'echo', name: 'echo', parameters: {} };
export const DEFAULT_AGENT_NAME = 'default';
export const DEFAULT_MAX_STEPS = 8;

const ToolName = z.string().min(1).max(200);
const DisplayName = z.string().min(1).max(200).describe('A name for people, e.g. "Research Assistant" (the slug `name` is the id).');

export const Agent = z
  .object({
    name: Slug,
    display_name: DisplayName.nullable().describe('A name for people; null when none was given.'),
    description: z.string(),
    model: ModelSettings,
    system_prompt: z.string(),
    allowed_tools: z
      .array(ToolName)
      .describe('Tools (skills, MCP tools, primitives) the agent may call; "*" allows all but host tools, which must be named (`host_shell`).'),
    subagents: z.array(Slug).describe('Other agents this one may hand tasks to with subagent.spawn; it may always spawn itself.'),
    tool_policy: ToolPolicy,
    max_steps: z.number().int().describe('Most model calls in one run before it stops.'),
    created_at: z.date(),
    updated_at: z.date(),
  })
  .meta({ id: 'Agent' });
export type Agent = z.infer<typeof Agent>;

export const AgentCreate = z
  .strictObject({
    name: Slug,
    display_name: DisplayName.optional(),
    description: z.string().max(2000).default(''),
    model: ModelSettings.optional().describe('Defaults to the offline echo provider.'),
    system_prompt: z.string().max(32_000).default(''),
    allowed_tools: z.array(ToolName).max(200).default([]),
    subagents: z.array(Slug).max(50).default([]),
    tool_policy: ToolPolicy.default({}),
    max_steps: z.number().int().min(1).max(100).default(DEFAULT_MAX_STEPS),
  })
  .meta({ id: 'AgentCreate' });
export type AgentCreate = z.infer<typeof AgentCreate>;

export const AgentPatch = z
  .strictObject({
    display_name: DisplayName.nullable().optional().describe('A name for people; null removes it.'),
    description: z.string().max(2000).optional(),
    model: z
      .strictObject({
        provider: ModelProvider.optional(),
        name: z.string().min(1).max(200).optional(),
        parameters: ModelParameters.optional().describe('Merged into the current parameters.'),
      })
      .optional(),
    system_prompt: z.string().max(32_000).optional(),
    allowed_tools: z.array(ToolName).max(200).optional(),
    subagents: z.array(Slug).max(50).optional(),
    tool_policy: ToolPolicy.optional().describe('Replaces the whole policy; {} allows every call the allow-list lets through.'),
    max_steps: z.number().int().min(1).max(100).optional(),
  })
  .meta({ id: 'AgentPatch' });
export type AgentPatch = z.infer<typeof AgentPatch>;

export const AgentRef = z.object({ name: Slug.describe('Agent name.') });

export const AgentList = z
  .object({ agents: z.array(Agent), pagination: Pagination })
  .meta({ id: 'AgentList' });

export const AgentDeleted = z
  .object({ name: Slug, status: z.literal('deleted') })
  .meta({ id: 'AgentDeleted' });

export { PaginationInput };

/** A patch applied to an agent: parameters merge, everything else replaces. */
export function applyAgentPatch(agent: Agent, patch: AgentPatch, now: Date): Agent {
  return {
    ...agent,
    display_name: patch.display_name === undefined ? agent.display_name : patch.display_name,
    description: patch.description ?? agent.description,
    system_prompt: patch.system_prompt ?? agent.system_prompt,
    allowed_tools: patch.allowed_tools ?? agent.allowed_tools,
    subagents: patch.subagents ?? agent.subagents,
    tool_policy: patch.tool_policy ?? agent.tool_policy,
    max_steps: patch.max_steps ?? agent.max_steps,
    model: {
      provider: patch.model?.provider ?? agent.model.provider,
      name: patch.model?.name ?? agent.model.name,
      parameters: { ...agent.model.parameters, ...patch.model?.parameters },
    },
    updated_at: now,
  };
}
