/**
 * Vault (seed 000): per-agent secrets, the server's own secrets (what `${vault:KEY}` in its configuration names),
 * their API shapes, and the `${vault:KEY}` reference syntax.
 */
import { z } from 'zod';
import { Pagination, PaginationInput } from './common.ts';

export const SECRET_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
export const SECRET_VALUE_MAX_BYTES = 32 * 1024;

/**
 * Whose secrets the server's own are, in the column that names an agent otherwise: not a slug, so never an agent's
 * name, and apart from every agent's vault (skills and agent configuration never read it).
 */
export const SERVER_SECRETS_OWNER = '@server';

export const SecretKey = z
  .string()
  .regex(SECRET_KEY_PATTERN, 'must be a secret key: letters, digits, "_", "." or "-", not starting with a digit, at most 128 characters');

const SecretValue = z
  .string()
  .min(1)
  .refine((value) => Buffer.byteLength(value) <= SECRET_VALUE_MAX_BYTES, `must be at most ${SECRET_VALUE_MAX_BYTES} bytes`);

export const SecretInfo = z
  .object({ key: z.string(), created_at: z.date(), updated_at: z.date() })
  .meta({ id: 'SecretInfo', description: 'A stored secret without its value.' });
export type SecretInfo = z.infer<typeof SecretInfo>;

export const Secret = SecretInfo.extend({ value: z.string() }).meta({ id: 'Secret', description: 'A secret with its value (the explicit, audited read).' });
export type Secret = z.infer<typeof Secret>;

export const SecretList = z.object({ secrets: z.array(SecretInfo), pagination: Pagination }).meta({ id: 'SecretList' });
export type SecretList = z.infer<typeof SecretList>;

export const SecretSet = z.strictObject({ key: SecretKey, value: SecretValue });
export type SecretSet = z.infer<typeof SecretSet>;

export const SecretStored = SecretInfo.extend({
  created: z.boolean().describe('true when the key was new, false when an existing value was replaced.'),
}).meta({ id: 'SecretStored' });
export type SecretStored = z.infer<typeof SecretStored>;

export const SecretRef = z.object({ key: SecretKey });
export const SecretListInput = PaginationInput;
export const SecretDeleted = z.object({ key: z.string(), status: z.literal('deleted') }).meta({ id: 'SecretDeleted' });

/**
 * `${vault:KEY}` names a secret of whoever the value belongs to: the agent using it (a channel's or MCP server's
 * settings), or the server (its configuration file). `${vault:AGENT/KEY}` names an agent's, which is always refused
 * elsewhere (agents never read each other's secrets) but is parsed so the refusal can be audited.
 */
const REFERENCE = /\$\{vault:(?:([^/}]*)\/)?([^}]*)\}/g;

export interface VaultReference {
  /** The text to replace, e.g. `${vault:OPENAI_KEY}`. */
  text: string;
  /** The agent named in the reference, when it names one. */
  agent: string | undefined;
  key: string;
}

export function vaultReferences(value: string): VaultReference[] {
  return [...value.matchAll(REFERENCE)].map((match) => ({ text: match[0], agent: match[1], key: match[2]! }));
}

/** Replaces each reference by its value in `values`, keyed by the reference text. */
export function replaceVaultReferences(value: string, values: ReadonlyMap<string, string>): string {
  return value.replace(REFERENCE, (text) => values.get(text) ?? text);
}
