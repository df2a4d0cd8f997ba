/** Skills per agent: CRUD over the skills table (plus the built-ins), install from a URL, source, and invocation. */
import { rm } from 'node:fs/promises';
import { and, eq } from 'drizzle-orm';
import type { MoxxyConfig } from '../../config/schema.ts';
import type { Agent } from '../../domain/agents.ts';
import { paginate, type PaginationInput } from '../../domain/common.ts';
import { AppError } from '../../domain/errors.ts';
import { requestedCapabilities, type Skill, type SkillArgs, type SkillCreate, type SkillInstall, type SkillList, type SkillResult, type SkillSource, type SkillUpdate } from '../../domain/skills.ts';
import type { Db } from '../../db/client.ts';
import { skills } from '../../db/schema.ts';
import type { AgentService } from '../agents.ts';
import type { EventBus } from '../events/bus.ts';
import type { HostLookup, NetGuardOptions } from '../net-guard.ts';
import type { Redactor } from '../redaction.ts';
import type { Sandbox } from '../sandbox/index.ts';
import { allowsHostShell, builtinSkills, HOST_SHELL, isBuiltinName, WEB_CRAWLER, type SkillRecord } from './builtins.ts';
import { fetchSkill } from './install.ts';
import { LANGUAGES } from './languages.ts';
import { renderManifestToml } from './manifest.ts';
import { skillWorkdir, SkillRunner, type ResolveSecrets } from './runner.ts';
import { crawl } from './web-crawler.ts';

type SkillRow = typeof skills.$inferSelect;

function toRecord(row: SkillRow): SkillRecord {
  return {
    skill: {
      name: row.name,
      description: row.description,
      version: row.version,
      language: row.language,
      run_command: row.runCommand,
      entrypoint: row.entrypoint,
      needs_network: row.needsNetwork,
      needs_fs_read: row.needsFsRead,
      needs_fs_write: row.needsFsWrite,
      needs_env: row.needsEnv,
      env_keys: row.envKeys,
      usage_example: row.usageExample,
      source_url: row.sourceUrl,
      builtin: false,
      created_at: row.createdAt,
      updated_at: row.updatedAt,
    },
    code: row.code,
    manifest: row.manifest,
  };
}

const EVENT_OUTPUT_CHARS = 4000;

export interface SkillServiceDeps {
  db: Db;
  agents: AgentService;
  events: EventBus;
  config: MoxxyConfig['skills'];
  home: string;
  /** Vault secrets for skills with needs_env; without it skills get none. */
  resolveSecrets?: ResolveSecrets;
  /** Replaces secret values in skill output (a skill given a secret may print it); without it output is returned as is. */
  redactor?: Redactor;
  /** DNS for the SSRF guard (tests replace it). */
  lookup?: HostLookup;
  /** The one sandbox skills and stdio MCP servers run in. */
  sandbox: Sandbox;
}

export class SkillService {
  private readonly db: Db;
  private readonly runner: SkillRunner;
  private readonly guard: NetGuardOptions;

  constructor(private readonly deps: SkillServiceDeps) {
    this.db = deps.db;
    this.runner = new SkillRunner(
      { home: deps.home, timeoutMs: deps.config.timeoutMs, outputLimitBytes: deps.config.outputLimitBytes },
      deps.sandbox,
      deps.resolveSecrets ?? (async () => ({})),
    );
    this.guard = {
      allowPrivateNetwork: deps.config.allowPrivateNetworkInstall,
      allowHttpLoopback: deps.config.allowHttpLoopbackInstall,
      ...(deps.lookup ? { lookup: deps.lookup } : {}),
    };
  }

  /** What the sandbox around skills is on this machine. */
  sandboxStatus() {
    return this.runner.sandboxStatus();
  }

  /** Every skill of the agent, built-ins first, then by name. */
  async records(agent: Agent): Promise<SkillRecord[]> {
    const rows = await this.db.select().from(skills).where(eq(skills.agent, agent.name)).orderBy(skills.name);
    return [...builtinSkills(agent), ...rows.map(toRecord)];
  }

  async list(agentName: string, page: PaginationInput): Promise<SkillList> {
    const all = await this.records(await this.deps.agents.get(agentName));
    return { skills: all.slice(page.offset, page.offset + page.limit).map((r) => r.skill), pagination: paginate(all.length, page) };
  }

  async get(agentName: string, name: string): Promise<Skill> {
    return (await this.record(await this.deps.agents.get(agentName), name)).skill;
  }

  async source(agentName: string, name: string): Promise<SkillSource> {
    const record = await this.record(await this.deps.agents.get(agentName), name);
    return { manifest: record.manifest ?? renderManifestToml(record.skill), code: record.code };
  }

  async create(agentName: string, input: SkillCreate): Promise<Skill> {
    const agent = await this.deps.agents.get(agentName);
    const now = new Date();
    return this.insert(agent, {
      agent: agent.name,
      name: input.name,
      description: input.description,
      version: input.version,
      language: input.language,
      runCommand: LANGUAGES[input.language].runCommand,
      entrypoint: LANGUAGES[input.language].entrypoint,
      code: input.code,
      manifest: null,
      needsNetwork: input.needs_network,
      needsFsRead: input.needs_fs_read,
      needsFsWrite: input.needs_fs_write,
      needsEnv: input.needs_env,
      envKeys: input.env_keys,
      usageExample: input.usage_example ?? null,
      sourceUrl: null,
      createdAt: now,
      updatedAt: now,
    });
  }

  async install(agentName: string, input: SkillInstall): Promise<Skill> {
    const agent = await this.deps.agents.get(agentName);
    const { manifest, manifestText, code } = await fetchSkill(input.url, { guard: this.guard, timeoutMs: this.deps.config.fetchTimeoutMs });
    const requested = requestedCapabilities(manifest);
    const missing = requested.filter((capability) => !input.approve.includes(capability));
    if (missing.length) {
      throw new AppError(
        'SKILL_CONSENT_REQUIRED',
        `The skill at ${input.url} asks for ${missing.join(', ')}: approve them in the request ("approve": ${JSON.stringify(requested)}) to install it`,
        { url: input.url, requested, missing, env_keys: manifest.needs_env ? manifest.env_keys : [], name: manifest.name ?? null, version: manifest.version },
      );
    }
    const name = input.name ?? manifest.name;
    if (!name) {
      throw new AppError('SKILL_INSTALL_FAILED', `The manifest at ${input.url} has no name; give one in the request`, { url: input.url, reason: 'no name' });
    }
    const now = new Date();
    return this.insert(agent, {
      agent: agent.name,
      name,
      description: manifest.description,
      version: manifest.version,
      language: manifest.language,
      runCommand: manifest.run_command,
      entrypoint: manifest.entrypoint,
      code,
      manifest: manifestText,
      needsNetwork: manifest.needs_network,
      needsFsRead: manifest.needs_fs_read,
      needsFsWrite: manifest.needs_fs_write,
      needsEnv: manifest.needs_env,
      envKeys: manifest.env_keys,
      usageExample: manifest.usage_example ?? null,
      sourceUrl: input.url,
      createdAt: now,
      updatedAt: now,
    });
  }

  async update(agentName: string, name: string, patch: SkillUpdate): Promise<Skill> {
    const agent = await this.deps.agents.get(agentName);
    assertChangeable(name);
    const current = await this.row(agent.name, name);
    const language = patch.language ?? current.language;
    const languageChanged = language !== current.language;
    const [row] = await this.db
      .update(skills)
      .set({
        description: patch.description,
        version: patch.version,
        language,
        ...(languageChanged ? { runCommand: LANGUAGES[language].runCommand, entrypoint: LANGUAGES[language].entrypoint } : {}),
        code: patch.code,
        // From now on the stored fields, not the installed file, describe the skill.
        manifest: null,
        needsNetwork: patch.needs_network,
        needsFsRead: patch.needs_fs_read,
        needsFsWrite: patch.needs_fs_write,
        needsEnv: patch.needs_env,
        envKeys: patch.env_keys,
        usageExample: patch.usage_example,
        updatedAt: new Date(),
      })
      .where(and(eq(skills.agent, agent.name), eq(skills.name, name)))
      .returning();
    if (!row) throw skillNotFound(agent.name, name);
    return toRecord(row).skill;
  }

  async delete(agentName: string, name: string): Promise<void> {
    const agent = await this.deps.agents.get(agentName);
    assertChangeable(name);
    const rows = await this.db.delete(skills).where(and(eq(skills.agent, agent.name), eq(skills.name, name))).returning({ name: skills.name });
    if (rows.length === 0) throw skillNotFound(agent.name, name);
    await rm(skillWorkdir(this.deps.home, agent.name, name), { recursive: true, force: true });
  }

  /** Invocation through the API: audited, and a non-zero exit is a SKILL_FAILED error carrying the result. */
  async invoke(agentName: string, name: string, args: SkillArgs): Promise<SkillResult> {
    const agent = await this.deps.agents.get(agentName);
    const record = await this.record(agent, name);
    const emit = (event_type: 'skill.invoked' | 'skill.completed', payload: Record<string, unknown>) =>
      this.deps.events.emit({ agent_id: agent.name, run_id: null, event_type, payload: { name, kind: 'skill', source: 'api', ...payload } });
    await emit('skill.invoked', { arguments: args });
    let result: SkillResult;
    try {
      result = await this.execute(agent, record, args);
    } catch (error) {
      await emit('skill.completed', { is_error: true, error: error instanceof AppError ? error.code : 'INTERNAL_ERROR' });
      throw error;
    }
    const { output, ...facts } = result;
    await emit('skill.completed', { ...facts, output: output.slice(0, EVENT_OUTPUT_CHARS), is_error: result.exit_code !== 0 });
    if (result.exit_code !== 0) {
      const why = result.timed_out ? `timed out after ${this.deps.config.timeoutMs} ms` : `failed with exit code ${result.exit_code}`;
      throw new AppError('SKILL_FAILED', `Skill '${name}' ${why}`, { ...result });
    }
    return result;
  }

  /**
   * Runs a skill for an agent; the outcome, success or not, is the result, with secret values redacted from its
   * output. Used by invoke and by the agent's tools.
   */
  async execute(agent: Agent, record: SkillRecord, args: SkillArgs, signal?: AbortSignal): Promise<SkillResult> {
    const result = await this.run(agent, record, args, signal);
    return this.deps.redactor ? { ...result, output: this.deps.redactor.redact(result.output).value } : result;
  }

  private async run(agent: Agent, record: SkillRecord, args: SkillArgs, signal?: AbortSignal): Promise<SkillResult> {
    if (record.skill.name === HOST_SHELL && record.skill.builtin && !allowsHostShell(agent)) {
      throw new AppError('FORBIDDEN', `Agent '${agent.name}' may not use host_shell: add "host_shell" to its allowed_tools to allow shell commands`, {
        skill: HOST_SHELL,
      });
    }
    if (record.skill.name === WEB_CRAWLER && record.skill.builtin) {
      return crawl(args, { guard: this.guard, timeoutMs: this.deps.config.fetchTimeoutMs, outputLimitBytes: this.deps.config.outputLimitBytes }, signal);
    }
    return this.runner.run(agent.name, record, args, signal);
  }

  private async record(agent: Agent, name: string): Promise<SkillRecord> {
    const builtin = builtinSkills(agent).find((record) => record.skill.name === name);
    return builtin ?? toRecord(await this.row(agent.name, name));
  }

  private async row(agent: string, name: string): Promise<SkillRow> {
    const [row] = await this.db.select().from(skills).where(and(eq(skills.agent, agent), eq(skills.name, name))).limit(1);
    if (!row) throw skillNotFound(agent, name);
    return row;
  }

  private async insert(agent: Agent, row: SkillRow): Promise<Skill> {
    const exists = () => new AppError('SKILL_EXISTS', `Skill '${row.name}' already exists for agent '${agent.name}'`, { agent: agent.name, name: row.name });
    if (isBuiltinName(row.name)) throw exists();
    const inserted = await this.db.insert(skills).values(row).onConflictDoNothing().returning({ name: skills.name });
    if (inserted.length === 0) throw exists();
    return toRecord(row).skill;
  }
}

function skillNotFound(agent: string, name: string): AppError {
  return new AppError('SKILL_NOT_FOUND', `Skill '${name}' not found for agent '${agent}'`, { agent, name });
}

function builtinUnchangeable(name: string): AppError {
  return new AppError('FORBIDDEN', `Skill '${name}' is built in and cannot be changed or deleted`, { skill: name });
}

function assertChangeable(name: string): void {
  if (isBuiltinName(name)) throw builtinUnchangeable(name);
}
