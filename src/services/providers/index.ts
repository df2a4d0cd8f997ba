/** Picks the model provider an agent's settings name. */
import type { MoxxyConfig } from '../../config/schema.ts';
import { createAnthropicProvider } from './anthropic.ts';
import { createEchoProvider } from './echo.ts';
import { createOpenAiProvider } from './openai.ts';
import type { ProviderClient, ProviderLog, ProviderName } from './types.ts';

export type * from './types.ts';

/**
 * `resolveSecret` turns a configured apiKey such as `${vault:KEY}` into the key; it runs on every request. `log`
 * gets every failed request (upstream errors, unreachable servers, broken streams).
 */
export function createProvider(
  name: ProviderName,
  config: MoxxyConfig['providers'],
  resolveSecret: (value: string) => Promise<string>,
  log: ProviderLog,
): ProviderClient {
  switch (name) {
    case 'echo':
      return createEchoProvider();
    case 'openai':
      return createOpenAiProvider(config, resolveSecret, log);
    case 'anthropic':
      return createAnthropicProvider(config, resolveSecret, log);
  }
}
