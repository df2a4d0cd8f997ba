/** The MCP area's public surface for the rest of the server (container, agent runtime). */
export { McpService, type McpServiceDeps } from './service.ts';
export { mcpTools } from './tools.ts';
