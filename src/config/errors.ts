/** A configuration that cannot be used: the CLI prints its message alone, without a stack. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
