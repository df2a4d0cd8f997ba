/** The secrets the server holds in its own configuration, which the redactor must know from start-up. */
import type { MoxxyConfig } from '../config/schema.ts';
import { vaultReferences } from '../domain/vault.ts';
import { formatMasterKey } from './vault/master-key.ts';

/**
 * Literal credentials in the configuration, and the vault's master key as configured, as its key file holds it (hex)
 * and as base64. A `${vault:KEY}` value is left out: the vault registers the secret when it resolves it.
 */
export function serverSecrets(config: MoxxyConfig, masterKey: Buffer): string[] {
  const configured = [
    config.auth.internalToken,
    config.auth.apiKey,
    config.database.authToken,
    config.providers.openai.apiKey,
    config.providers.anthropic.apiKey,
    config.transcription?.apiKey,
    config.memory.embeddings?.apiKey,
    config.channels.http?.authToken,
  ].filter((value): value is string => value !== undefined && vaultReferences(value).length === 0);
  const key = [config.vault.masterKey?.trim(), formatMasterKey(masterKey), masterKey.toString('base64')].filter((value) => value !== undefined);
  return [...configured, ...key];
}
