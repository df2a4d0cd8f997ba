/** Picks the model provider an agent's settings name. */
import type { MoxxyConfig } from '../../config/schema.ts';
import { createAnthropicProvider } from './anthropic.ts';
import { createEchoProvider } from './echo.ts';
import { createOpenAiProvider } from './openai.ts';
import type { ModelProvider, ProviderName } from './types.ts';

export type * from './types.ts';

/** `resolveSecret` turns a configured apiKey such as `${vault:KEY}` into the key; it runs on every request. */
export function createProvider(
  name: ProviderName,
  config: MoxxyConfig['providers'],
  resolveSecret: (value: string) => Promise<string>,
): ModelProvider {
  switch (name) {
    case 'echo':
      return createEchoProvider();
    case 'openai':
      return createOpenAiProvider(config, resolveSecret);
    case 'anthropic':
      return createAnthropicProvider(config, resolveSecret);
  }
}
