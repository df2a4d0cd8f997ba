/** The app router: every area's router under one root. Its type is what TypeScript clients import. */
import { agentsRouter } from './agents.ts';
import { channelsRouter } from './channels.ts';
import { chatRouter } from './chat.ts';
import { runsRouter } from './runs.ts';
import { eventsRouter } from './events.ts';
import { heartbeatsRouter } from './heartbeats.ts';
import { memoryRouter } from './memory.ts';
import { mcpRouter } from './mcp.ts';
import { skillsRouter } from './skills.ts';
import { systemRouter } from './system.ts';
import { tokensRouter } from './tokens.ts';
import { serverVaultRouter, vaultRouter } from './vault.ts';
import { webhooksRouter } from './webhooks.ts';
import { createCallerFactory, router } from './trpc.ts';

export const appRouter = router({
  system: systemRouter,
  agents: agentsRouter,
  chat: chatRouter,
  runs: runsRouter,
  events: eventsRouter,
  memory: memoryRouter,
  skills: skillsRouter,
  mcp: mcpRouter,
  tokens: tokensRouter,
  vault: vaultRouter,
  serverVault: serverVaultRouter,
  webhooks: webhooksRouter,
  channels: channelsRouter,
  heartbeats: heartbeatsRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
