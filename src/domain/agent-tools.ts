/** The tools an agent could be given, as the API shows them: what each is, whether the agent allows it, host tools marked. */
import { z } from 'zod';

export const AgentTool = z
  .object({
    name: z.string().describe('What the agent calls it and what `allowed_tools` names: `memory.store`, `web_crawler`, `mcp.<server>.<tool>`.'),
    description: z.string(),
    kind: z.enum(['primitive', 'skill', 'mcp']),
    host_tool: z
      .boolean()
      .describe('Runs commands on the host: no pattern grants it, only its exact name, and naming it needs the `admin` scope or the internal token.'),
    allowed: z.boolean().describe("Whether the agent's `allowed_tools` allow it now."),
  })
  .meta({ id: 'AgentTool' });
export type AgentTool = z.infer<typeof AgentTool>;

export const AgentToolList = z
  .object({ tools: z.array(AgentTool).describe('Primitives, then skills, then MCP tools, each by name.') })
  .meta({ id: 'AgentToolList' });
export type AgentToolList = z.infer<typeof AgentToolList>;
