/** The skills every agent has: host_shell (a shell, sandboxed per its manifest, only for agents that allow it) and web_crawler. */
import type { Agent } from '../../domain/agents.ts';
import type { Skill } from '../../domain/skills.ts';
import { HOST_SHELL, listAllows } from '../../domain/tool-access.ts';

/** A skill with what it runs, and the manifest text it was installed with (null when made through the API). */
export interface SkillRecord {
  skill: Skill;
  code: string;
  manifest: string | null;
}

export { HOST_SHELL };
export const WEB_CRAWLER = 'web_crawler';

const HOST_SHELL_CODE = `#!/bin/sh
# Runs its arguments, joined by spaces, as one shell command. The JSON copy of them on stdin is skipped.
read -r _ || true
exec sh -c "$*"
`;

const WEB_CRAWLER_CODE = `// web_crawler runs inside the server: it fetches the page (https only, public addresses only,
// size and time capped) and returns its text without tags, scripts or styles.
`;

/** host_shell is a shell on the host: an agent gets it only by naming it in allowed_tools; no pattern (not even `*`) counts. */
export function allowsHostShell(agent: Agent): boolean {
  return listAllows(agent.allowed_tools, HOST_SHELL);
}

export function builtinSkills(agent: Agent): SkillRecord[] {
  const common = {
    version: '1.0.0',
    needs_env: false,
    env_keys: [],
    source_url: null,
    builtin: true,
    created_at: agent.created_at,
    updated_at: agent.created_at,
  };
  return [
    {
      skill: {
        ...common,
        name: HOST_SHELL,
        description: 'Execute shell commands on the host system (sh -c with the arguments joined by spaces).',
        language: 'sh',
        run_command: 'sh',
        entrypoint: 'run.sh',
        needs_network: true,
        needs_fs_read: true,
        needs_fs_write: true,
        usage_example: '<invoke name="host_shell">["ls -la"]</invoke>',
      },
      code: HOST_SHELL_CODE,
      manifest: null,
    },
    {
      skill: {
        ...common,
        name: WEB_CRAWLER,
        description: 'Fetch a web page and return its text (tags, scripts and styles removed).',
        language: 'builtin',
        run_command: 'builtin',
        entrypoint: WEB_CRAWLER,
        needs_network: true,
        needs_fs_read: false,
        needs_fs_write: false,
        usage_example: '<invoke name="web_crawler">["https://example.com"]</invoke>',
      },
      code: WEB_CRAWLER_CODE,
      manifest: null,
    },
  ];
}

export function isBuiltinName(name: string): boolean {
  return name === HOST_SHELL || name === WEB_CRAWLER;
}
