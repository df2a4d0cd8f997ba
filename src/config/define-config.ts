/** `defineConfig` for moxxy.config.ts: typed authoring, no behaviour. */
import type { MoxxyConfigInput } from './schema.ts';

export type { MoxxyConfigInput } from './schema.ts';

export function defineConfig(config: Partial<MoxxyConfigInput>): Partial<MoxxyConfigInput> {
  return config;
}
