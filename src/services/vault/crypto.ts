/**
 * Vault encryption: AES-256-GCM with a fresh 12-byte nonce per value, stored as base64(nonce | tag | ciphertext).
 * The agent and key are the additional authenticated data, so a ciphertext copied to another row fails to decrypt.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const ALGORITHM = 'aes-256-gcm';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const MASTER_KEY_BYTES = 32;

export interface SecretAddress {
  agent: string;
  key: string;
}

function additionalData({ agent, key }: SecretAddress): Buffer {
  // NUL cannot occur in agent names or keys, so no two addresses share the same bytes.
  return Buffer.from(`moxxy-vault-v1\0${agent}\0${key}`);
}

/** A short, non-secret name of a master key, stored with each value so rotation and start-up can tell keys apart. */
export function keyFingerprint(masterKey: Buffer): string {
  return createHash('sha256').update('moxxy-vault-key-id\0').update(masterKey).digest('hex').slice(0, 16);
}

export function encryptSecret(masterKey: Buffer, address: SecretAddress, value: string): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(ALGORITHM, masterKey, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(address));
  const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return Buffer.concat([nonce, cipher.getAuthTag(), ciphertext]).toString('base64');
}

/** Throws when the blob was not made by this key for this address (tampered, moved, or another master key). */
export function decryptSecret(masterKey: Buffer, address: SecretAddress, blob: string): string {
  const bytes = Buffer.from(blob, 'base64');
  if (bytes.length < NONCE_BYTES + TAG_BYTES) throw new Error(`The stored secret '${address.key}' of agent '${address.agent}' is corrupt`);
  const decipher = createDecipheriv(ALGORITHM, masterKey, bytes.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(additionalData(address));
  decipher.setAuthTag(bytes.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new Error(`The stored secret '${address.key}' of agent '${address.agent}' does not decrypt with this master key (tampered, moved, or another key)`);
  }
}

export function generateMasterKey(): Buffer {
  return randomBytes(MASTER_KEY_BYTES);
}
