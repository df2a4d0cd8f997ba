/** The sandbox's public surface for the rest of the server (skills, MCP, container). */
export { Sandbox, type ProcessExit, type SandboxedProcess, type SandboxSettings, type SpawnOptions } from './sandbox.ts';
export { sandboxSettings } from './settings.ts';
export { resolveCommand, SYSTEM_PATH, type ResolvedCommand } from './commands.ts';
export type { SandboxProfile } from './profile.ts';
