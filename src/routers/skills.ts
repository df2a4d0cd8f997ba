/**
 * Skills router (seed 003): list, get, create, update, delete, install from a URL, source, invoke. The agent is
 * `{agent}` in these paths because a skill's own `name` travels in the create body.
 */
import {
  Skill,
  SkillCreate,
  SkillDeleted,
  SkillInstall,
  SkillInvoke,
  SkillList,
  SkillRef,
  SkillResult,
  SkillSource,
  SkillUpdate,
} from '../domain/skills.ts';
import { AgentParam, PaginationInput } from '../domain/common.ts';
import { isHostTool } from '../domain/tool-access.ts';
import { procedure, requireHostPower, router } from './trpc.ts';

const tags: ['skills'] = ['skills'];
const path = '/api/agents/{agent}/skills' as const;

export const skillsRouter = router({
  list: procedure
    .meta({
      openapi: {
        method: 'GET',
        path,
        tags,
        summary: "List an agent's skills",
        description: 'Built-in skills (host_shell, web_crawler) first, then the agent\'s own by name.',
        errors: ['AGENT_NOT_FOUND'],
        scope: 'skills:read',
        rateLimit: 'read',
      },
    })
    .input(PaginationInput.extend(AgentParam.shape))
    .output(SkillList)
    .query(({ ctx, input: { agent, ...page } }) => ctx.services.skills.list(agent, page)),

  create: procedure
    .meta({
      openapi: {
        method: 'POST',
        path,
        tags,
        summary: 'Create a skill',
        description: 'The code runs with the interpreter of `language` (bash, sh, python3, node) in the skill\'s working directory.',
        successStatus: 201,
        errors: ['AGENT_NOT_FOUND', 'SKILL_EXISTS'],
        scope: 'skills:write',
        rateLimit: 'write',
      },
    })
    .input(SkillCreate.extend(AgentParam.shape))
    .output(Skill)
    .mutation(({ ctx, input: { agent, ...skill } }) => ctx.services.skills.create(agent, skill)),

  install: procedure
    .meta({
      openapi: {
        method: 'POST',
        path: `${path}/install`,
        tags,
        summary: 'Install a skill from a URL',
        description:
          'Fetches manifest.toml (or skill.json) and the entrypoint it names from a GitHub tree URL or a base URL. ' +
          'https only; hosts resolving to private, loopback, link-local or metadata addresses are refused (400 URL_NOT_ALLOWED), ' +
          'also after redirects. 502 SKILL_INSTALL_FAILED when the files cannot be fetched (missing, over 64 KB / 1 MB, too slow) or the manifest is invalid. ' +
          'Consent: every capability the manifest asks for (needs_network, needs_fs_read, needs_fs_write, needs_env with its env_keys) must be in ' +
          '`approve`; otherwise 409 SKILL_CONSENT_REQUIRED lists them in details and nothing is installed.',
        successStatus: 201,
        errors: ['URL_NOT_ALLOWED', 'AGENT_NOT_FOUND', 'SKILL_EXISTS', 'SKILL_CONSENT_REQUIRED', 'SKILL_INSTALL_FAILED'],
        scope: 'skills:write',
        rateLimit: 'write',
      },
    })
    .input(SkillInstall.extend(AgentParam.shape))
    .output(Skill)
    .mutation(({ ctx, input: { agent, ...install } }) => ctx.services.skills.install(agent, install)),

  get: procedure
    .meta({
      openapi: {
        method: 'GET',
        path: `${path}/{skill}`,
        tags,
        summary: "Get a skill's manifest",
        errors: ['AGENT_NOT_FOUND', 'SKILL_NOT_FOUND'],
        scope: 'skills:read',
        rateLimit: 'read',
      },
    })
    .input(SkillRef)
    .output(Skill)
    .query(({ ctx, input }) => ctx.services.skills.get(input.agent, input.skill)),

  update: procedure
    .meta({
      openapi: {
        method: 'PUT',
        path: `${path}/{skill}`,
        tags,
        summary: 'Update a skill',
        description: 'Fields given replace the current ones. Built-in skills cannot be changed (403 FORBIDDEN).',
        errors: ['FORBIDDEN', 'AGENT_NOT_FOUND', 'SKILL_NOT_FOUND'],
        scope: 'skills:write',
        rateLimit: 'write',
      },
    })
    .input(SkillUpdate.extend(SkillRef.shape))
    .output(Skill)
    .mutation(({ ctx, input: { agent, skill, ...patch } }) => ctx.services.skills.update(agent, skill, patch)),

  delete: procedure
    .meta({
      openapi: {
        method: 'DELETE',
        path: `${path}/{skill}`,
        tags,
        summary: 'Delete a skill and its working directory',
        description: 'Built-in skills cannot be deleted (403 FORBIDDEN).',
        errors: ['FORBIDDEN', 'AGENT_NOT_FOUND', 'SKILL_NOT_FOUND'],
        scope: 'skills:write',
        rateLimit: 'write',
      },
    })
    .input(SkillRef)
    .output(SkillDeleted)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.skills.delete(input.agent, input.skill);
      return { name: input.skill, status: 'deleted' as const };
    }),

  source: procedure
    .meta({
      openapi: {
        method: 'GET',
        path: `${path}/{skill}/source`,
        tags,
        summary: "A skill's manifest and code",
        errors: ['AGENT_NOT_FOUND', 'SKILL_NOT_FOUND'],
        scope: 'skills:read',
        rateLimit: 'read',
      },
    })
    .input(SkillRef)
    .output(SkillSource)
    .query(({ ctx, input }) => ctx.services.skills.source(input.agent, input.skill)),

  invoke: procedure
    .meta({
      openapi: {
        method: 'POST',
        path: `${path}/{skill}/invoke`,
        tags,
        summary: 'Run a skill',
        description:
          'Array args are passed as argv and as one JSON line on stdin; object args as JSON on stdin. The skill runs in a bubblewrap ' +
          'sandbox enforcing its needs_* flags when one is available (`sandbox` says which ran it), with a scrubbed environment, ' +
          'a time limit and an output cap. A non-zero exit or a timeout is 422 SKILL_FAILED with the result in details. ' +
          '403 FORBIDDEN for host_shell unless the agent names it in allowed_tools; 503 SANDBOX_UNAVAILABLE when skills.requireSandbox is set and bubblewrap cannot run.',
        errors: ['FORBIDDEN', 'AGENT_NOT_FOUND', 'SKILL_NOT_FOUND', 'SKILL_FAILED', 'SANDBOX_UNAVAILABLE'],
        scope: 'skills:invoke',
        rateLimit: 'write',
        hostPower: 'Running host_shell runs a command on the host: it needs the `admin` scope or the internal token.',
      },
    })
    .input(SkillInvoke.extend(SkillRef.shape))
    .output(SkillResult)
    .mutation(async ({ ctx, input }) => {
      if (isHostTool(input.skill)) await requireHostPower(ctx, `Running ${input.skill}`);
      return ctx.services.skills.invoke(input.agent, input.skill, input.args);
    }),
});
