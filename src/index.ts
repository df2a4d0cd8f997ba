/**
 * Public entry: the app router type for tRPC clients, the request schemas (zod) of the API, config helpers, and the
 * server for embedding. Seed 001 imports `turnRequestSchema` from `@moxxy/plugin-channel-http`: this package answers
 * to that name when installed under it (README, "The HTTP channel").
 */
export type { AppRouter } from './routers/app.ts';
export { AgentCreate, AgentPatch } from './domain/agents.ts';
export { turnRequestSchema, type TurnRequest } from './domain/channel-http.ts';
export { ChannelConfigure } from './domain/channels.ts';
export { ChatInput } from './domain/chat.ts';
export { HeartbeatCreate } from './domain/heartbeats.ts';
export { McpInvoke, McpServerCreate } from './domain/mcp.ts';
export { MemoryAdd } from './domain/memory.ts';
export { SkillCreate, SkillInstall, SkillInvoke, SkillUpdate } from './domain/skills.ts';
export { TokenCreate } from './domain/tokens.ts';
export { SecretSet } from './domain/vault.ts';
export { WebhookCreate } from './domain/webhooks.ts';
export { defineConfig } from './config/define-config.ts';
export type { MoxxyConfig, MoxxyConfigInput } from './config/schema.ts';
export { loadConfig } from './config/load.ts';
export { createServices } from './services/container.ts';
export { buildServer, startServer } from './http/server.ts';
