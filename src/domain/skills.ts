/** Skills (seed 003): the manifest of a program an agent can run, its inputs, and the result of one run. */
import { z } from 'zod';
import { AgentParam, Pagination, Slug } from './common.ts';

export const SKILL_LANGUAGES = ['bash', 'sh', 'python', 'node'] as const;
export const SkillLanguage = z.enum(SKILL_LANGUAGES).meta({ id: 'SkillLanguage' });
export type SkillLanguage = z.infer<typeof SkillLanguage>;
/**
 * What runs a skill: a language, or "builtin". Named apart from SkillLanguage, whose values a new skill may take, so
 * generators that name an inline enum after its property (Skill.language -> SkillLanguage) meet no clash.
 */
export const SkillRuntime = z
  .enum([...SKILL_LANGUAGES, 'builtin'])
  .meta({ id: 'SkillRuntime', description: '"builtin" for skills that run inside the server (web_crawler).' });

/** Names of vault secrets handed to a skill as environment variables (the vault's key pattern). */
export const EnvKey = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/, 'must be a secret key: letters, digits, "_", "." or "-", not starting with a digit');

/** The entrypoint becomes a file name in the skill's working directory, so it may not name a path. */
export const Entrypoint = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'must be a plain file name (letters, digits, "_", "." or "-"), no directories');

export const SkillVersion = z.string().min(1).max(64).regex(/^[0-9A-Za-z.+_-]+$/, 'must be a version such as 1.0.0');

export const SKILL_CODE_MAX_BYTES = 1024 * 1024;
const SkillCode = z.string().min(1).max(SKILL_CODE_MAX_BYTES);

const flags = {
  needs_network: z.boolean().describe('May open network connections (otherwise the sandbox has no network).'),
  needs_fs_read: z.boolean().describe('May read the host filesystem (read-only); otherwise it sees only system directories and its working directory.'),
  needs_fs_write: z.boolean().describe('May write its working directory; otherwise the working directory is read-only.'),
  needs_env: z.boolean().describe('Receives the vault secrets named in env_keys as environment variables.'),
};

export const SKILL_CAPABILITIES = ['needs_network', 'needs_fs_read', 'needs_fs_write', 'needs_env'] as const;
export const SkillCapability = z.enum(SKILL_CAPABILITIES).meta({ id: 'SkillCapability' });
export type SkillCapability = z.infer<typeof SkillCapability>;

/** The capabilities a skill's flags ask for. */
export function requestedCapabilities(flags: Record<SkillCapability, boolean>): SkillCapability[] {
  return SKILL_CAPABILITIES.filter((capability) => flags[capability]);
}

export const Skill = z
  .object({
    name: Slug,
    description: z.string(),
    version: z.string(),
    language: SkillRuntime,
    run_command: z.string().describe('The interpreter that runs the entrypoint.'),
    entrypoint: z.string().describe("File name of the code in the skill's working directory."),
    ...flags,
    env_keys: z.array(z.string()),
    usage_example: z.string().nullable(),
    source_url: z.string().nullable().describe('Where the skill was installed from; null when created through the API or built in.'),
    builtin: z.boolean().describe('Built-in skills (host_shell, web_crawler) exist for every agent and cannot be changed or deleted.'),
    created_at: z.date(),
    updated_at: z.date(),
  })
  .meta({ id: 'Skill' });
export type Skill = z.infer<typeof Skill>;

export const SkillCreate = z
  .strictObject({
    name: Slug,
    description: z.string().max(2000).default(''),
    code: SkillCode,
    language: SkillLanguage,
    version: SkillVersion.default('1.0.0'),
    needs_network: flags.needs_network.default(false),
    needs_fs_read: flags.needs_fs_read.default(false),
    needs_fs_write: flags.needs_fs_write.default(false),
    needs_env: flags.needs_env.default(false),
    env_keys: z.array(EnvKey).max(64).default([]),
    usage_example: z.string().max(4000).optional(),
  })
  .meta({ id: 'SkillCreate' });
export type SkillCreate = z.infer<typeof SkillCreate>;

export const SkillUpdate = z
  .strictObject({
    description: z.string().max(2000).optional(),
    code: SkillCode.optional(),
    language: SkillLanguage.optional().describe('Changing it also changes run_command and entrypoint.'),
    version: SkillVersion.optional(),
    needs_network: flags.needs_network.optional(),
    needs_fs_read: flags.needs_fs_read.optional(),
    needs_fs_write: flags.needs_fs_write.optional(),
    needs_env: flags.needs_env.optional(),
    env_keys: z.array(EnvKey).max(64).optional(),
    usage_example: z.string().max(4000).nullable().optional(),
  })
  .meta({ id: 'SkillUpdate' });
export type SkillUpdate = z.infer<typeof SkillUpdate>;

export const SkillInstall = z
  .strictObject({
    url: z
      .url()
      .max(2000)
      .describe(
        'A GitHub tree URL (https://github.com/OWNER/REPO/tree/REF/PATH) or a base URL holding manifest.toml (or skill.json) and the entrypoint. ' +
          'https only; private, loopback and link-local addresses are refused.',
      ),
    name: Slug.optional().describe("Installs under this name instead of the manifest's."),
    approve: z
      .array(SkillCapability)
      .max(4)
      .default([])
      .describe(
        'The capabilities you consent to: every needs_* flag the manifest sets must be listed, or nothing is installed and the answer is ' +
          '409 SKILL_CONSENT_REQUIRED with the requested capabilities (and env_keys) in details.',
      ),
  })
  .meta({ id: 'SkillInstall' });
export type SkillInstall = z.infer<typeof SkillInstall>;

export const SkillArgs = z
  .union([z.array(z.string().max(100_000)).max(1000), z.record(z.string(), z.unknown())])
  .describe('An array of strings (passed as argv and as one JSON line on stdin) or an object (passed as JSON on stdin).');
export type SkillArgs = z.infer<typeof SkillArgs>;

export const SkillInvoke = z.strictObject({ args: SkillArgs.default([]) }).meta({ id: 'SkillInvoke' });

export const SandboxKind = z.enum(['bwrap', 'none']).describe('"bwrap": ran in a bubblewrap sandbox enforcing the manifest; "none": ran without one.');
export type SandboxKind = z.infer<typeof SandboxKind>;

export const SkillResult = z
  .object({
    output: z.string().describe('stdout and stderr, interleaved, cut at the output limit.'),
    exit_code: z.number().int(),
    execution_time_ms: z.number().int().min(0),
    truncated: z.boolean().describe('The output went over the limit and was cut.'),
    timed_out: z.boolean().describe('The skill ran past the time limit and was killed (with its child processes).'),
    sandbox: SandboxKind,
  })
  .meta({ id: 'SkillResult' });
export type SkillResult = z.infer<typeof SkillResult>;

export const SkillSource = z
  .object({
    manifest: z.string().describe('manifest.toml as installed, or rendered from the stored fields.'),
    code: z.string(),
  })
  .meta({ id: 'SkillSource' });
export type SkillSource = z.infer<typeof SkillSource>;

/** The agent is `{agent}` in skill paths because a skill's own `name` travels in the create body. */
export const SkillRef = AgentParam.extend({ skill: Slug.describe('Skill name.') });

export const SkillList = z.object({ skills: z.array(Skill), pagination: Pagination }).meta({ id: 'SkillList' });
export type SkillList = z.infer<typeof SkillList>;

export const SkillDeleted = z.object({ name: Slug, status: z.literal('deleted') }).meta({ id: 'SkillDeleted' });

