/** Public entry: the app router type for tRPC clients, config helpers, and the server for embedding. */
export type { AppRouter } from './routers/app.ts';
export { defineConfig } from './config/define-config.ts';
export type { MoxxyConfig, MoxxyConfigInput } from './config/schema.ts';
export { loadConfig } from './config/load.ts';
export { createServices } from './services/container.ts';
export { buildServer, startServer } from './http/server.ts';
