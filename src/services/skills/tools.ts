/** Skills as tools: each skill of an agent becomes a ToolDefinition of kind 'skill', run through the same runner as the API. */
import { z } from 'zod';
import { SkillArgs, type Skill } from '../../domain/skills.ts';
import { defineTool, toolInputSchema } from '../tools/define-tool.ts';
import type { ToolSource } from '../tools/types.ts';
import type { SkillService } from './service.ts';

/**
 * Model APIs want an object schema, so models are offered the invoke body, `{"args": [...] | {...}}`. Bare args
 * are accepted too: that is what usage examples (and the echo provider's invoke tags) pass.
 */
const InvokeBody = z.strictObject({ args: SkillArgs.default([]) });
const ToolInput = z.union([InvokeBody.transform((body) => body.args), SkillArgs]);
const SKILL_INPUT_SCHEMA = toolInputSchema(InvokeBody);

function describe(skill: Skill): string {
  return skill.usage_example ? `${skill.description} Example: ${skill.usage_example}` : skill.description;
}

export function skillTools(skills: SkillService): ToolSource {
  return {
    async toolsFor(agent) {
      return (await skills.records(agent)).map((record) =>
        defineTool({
          name: record.skill.name,
          description: describe(record.skill),
          args: ToolInput,
          inputSchema: SKILL_INPUT_SCHEMA,
          kind: 'skill',
          async execute(args, context) {
            const result = await skills.execute(context.agent, record, args, context.signal);
            if (result.exit_code === 0) return { output: result.output, data: result };
            const why = result.timed_out ? 'timed out' : `exited with code ${result.exit_code}`;
            return { output: `${result.output}\n[${record.skill.name} ${why}]`.trimStart(), isError: true, data: result };
          },
        }),
      );
    },
  };
}
