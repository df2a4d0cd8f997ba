/** Where the vault's master key comes from: MOXXY_VAULT_KEY (config vault.masterKey), else `<home>/vault.key`, created on first start. */
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../../config/load.ts';
import { generateMasterKey, MASTER_KEY_BYTES } from './crypto.ts';

/** A configuration error, so the CLI reports it as one line and start-up stops. */
export class VaultKeyError extends ConfigError {
  override name = 'VaultKeyError';
}

export interface MasterKeySource {
  /** The key given in configuration (MOXXY_VAULT_KEY); when set, no key file is read or written. */
  masterKey?: string | undefined;
  home: string;
}

export interface MasterKey {
  key: Buffer;
  /** The key file, or undefined when the key came from configuration. */
  file: string | undefined;
}

export function keyFilePath(home: string): string {
  return join(home, 'vault.key');
}

/** 64 hex characters, or base64 of 32 bytes; anything else is refused rather than stretched into a key. */
export function parseMasterKey(text: string, origin: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(trimmed)) {
    const key = Buffer.from(trimmed, 'base64');
    if (key.length === MASTER_KEY_BYTES) return key;
  }
  throw new VaultKeyError(`${origin} is not a vault master key: give 32 bytes as 64 hex characters or 44 base64 characters (e.g. openssl rand -hex 32)`);
}

export function formatMasterKey(key: Buffer): string {
  return key.toString('hex');
}

/**
 * Rotation writes the new key beside the current one before the database commits and moves it into place after,
 * so at every moment one of the two files holds the key the database needs.
 */
export function stageKeyFile(file: string, key: Buffer): string {
  const staged = `${file}.new`;
  // A leftover from an interrupted rotation goes first: the mode applies only to a file this call creates.
  rmSync(staged, { force: true });
  writeFileSync(staged, `${formatMasterKey(key)}\n`, { mode: 0o600, flag: 'wx' });
  return staged;
}

/** 'wx' so that two processes starting on a new home agree on one key: the loser reads the winner's. */
function createKeyFile(file: string): Buffer {
  const key = generateMasterKey();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, `${formatMasterKey(key)}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return parseMasterKey(readFileSync(file, 'utf8'), file);
  }
}

export function loadMasterKey(source: MasterKeySource): MasterKey {
  if (source.masterKey !== undefined) return { key: parseMasterKey(source.masterKey, 'MOXXY_VAULT_KEY (vault.masterKey)'), file: undefined };
  const file = keyFilePath(source.home);
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return { key: createKeyFile(file), file };
  }
  // Anyone who can read the key can read every secret; POSIX modes mean nothing on Windows.
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new VaultKeyError(`${file} is readable by group or others (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${file}`);
  }
  return { key: parseMasterKey(readFileSync(file, 'utf8'), file), file };
}
