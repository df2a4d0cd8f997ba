/**
 * The vault: per-agent secrets and the server's own, encrypted at rest, the explicit (audited) read, `${vault:KEY}`
 * resolution at the point of use, the secrets handed to skills, and master-key rotation. Every value it sees is
 * registered with the redactor, so it is replaced by [REDACTED] in events, skill output and errors.
 */
import { and, count, eq } from 'drizzle-orm';
import { paginate, type PaginationInput } from '../../domain/common.ts';
import { AppError } from '../../domain/errors.ts';
import {
  replaceVaultReferences,
  SECRET_KEY_PATTERN,
  SERVER_SECRETS_OWNER,
  vaultReferences,
  type Secret,
  type SecretInfo,
  type SecretList,
  type SecretSet,
  type SecretStored,
  type VaultReference,
} from '../../domain/vault.ts';
import type { Db } from '../../db/client.ts';
import { secrets } from '../../db/schema.ts';
import type { AgentDeletion, AgentService } from '../agents.ts';
import type { ChangeFeed } from '../changes/feed.ts';
import type { EventBus } from '../events/bus.ts';
import { currentRunId } from '../events/run-scope.ts';
import type { Redactor } from '../redaction.ts';
import { decryptSecret, encryptSecret, keyFingerprint, type SecretAddress } from './crypto.ts';
import { VaultKeyError } from './master-key.ts';

type SecretRow = typeof secrets.$inferSelect;
type Transaction = Parameters<Parameters<Db['transaction']>[0]>[0];

/** A value encrypted with the master key outside the secrets table (e.g. a webhook's signing secret). */
export interface SealedValue {
  ciphertext: string;
  keyId: string;
}

/**
 * Re-encrypts another table's sealed values inside rotate()'s transaction: `reseal` decrypts with the old key and
 * encrypts with the new one. Returns how many values it rewrote.
 */
export type RotationParticipant = (tx: Transaction, reseal: (address: SecretAddress, ciphertext: string) => SealedValue) => Promise<number>;

export interface VaultDeps {
  db: Db;
  agents: AgentService;
  events: EventBus;
  redactor: Redactor;
  masterKey: Buffer;
  /** Tells the other processes of a secret set or deleted, and brings theirs. */
  changes: ChangeFeed;
}

/** Why a secret was withheld: the key does not exist, or the reference names another agent's secret. */
type DenialReason = 'not_found' | 'other_agent';

/** Where a use of a secret comes from, for the audit log. */
export interface SecretUse {
  skill?: string;
  source?: string;
}

function toInfo(row: SecretRow): SecretInfo {
  return { key: row.key, created_at: row.createdAt, updated_at: row.updatedAt };
}

/** The key of a secret's changes in the feed: owners (agent slugs, the server's) have no `/`, so the first ends it. */
const changeKey = (owner: string, key: string) => `${owner}/${key}`;

const isServer = (owner: string) => owner === SERVER_SECRETS_OWNER;

function secretNotFound(owner: string, key: string): AppError {
  return isServer(owner)
    ? new AppError('SECRET_NOT_FOUND', `Server secret '${key}' not found`, { key })
    : new AppError('SECRET_NOT_FOUND', `Secret '${key}' not found for agent '${owner}'`, { agent: owner, key });
}

/** Why a value of the server's configuration cannot be used: the operator's to fix, so never a 404 or 403 for the caller. */
function configUnresolved(reference: string, why: string, key: string): AppError {
  return new AppError('CONFIG_UNRESOLVED', `The server configuration refers to ${reference}, but ${why}`, { reference, key });
}

export class VaultService {
  private readonly db: Db;
  private masterKey: Buffer;
  private keyId: string;
  /** agent NUL key -> the value registered with the redactor for it, so a replaced or deleted value is unregistered once. */
  private readonly registered = new Map<string, string>();
  private readonly rotationParticipants: RotationParticipant[] = [];

  constructor(private readonly deps: VaultDeps) {
    this.db = deps.db;
    this.masterKey = deps.masterKey;
    this.keyId = keyFingerprint(deps.masterKey);
    // Set or deleted by another process or `moxxy vault`: its value is redacted here too before the next event.
    deps.changes.on('secret', (address) => {
      const slash = address.indexOf('/');
      return this.reload(address.slice(0, slash), address.slice(slash + 1));
    });
  }

  /**
   * Decrypts every stored value once at start-up, to register it with the redactor and to fail now, with a clear
   * message, when the master key is not the one the vault was written with.
   */
  async init(): Promise<void> {
    for (const row of await this.db.select().from(secrets)) {
      if (row.keyId !== this.keyId) {
        throw new VaultKeyError(
          `The vault was encrypted with master key ${row.keyId}, but the key in use is ${this.keyId}: set MOXXY_VAULT_KEY (or <home>/vault.key) to the key the vault was written with`,
        );
      }
      this.remember(row.agent, row.key, this.decrypt(row));
    }
  }

  async list(agentName: string, page: PaginationInput): Promise<SecretList> {
    return this.listOf((await this.deps.agents.get(agentName)).name, page);
  }

  /** The explicit read: audited with vault.accessed (the key, never the value). */
  async get(agentName: string, key: string, use: SecretUse = { source: 'api' }): Promise<Secret> {
    return this.getOf((await this.deps.agents.get(agentName)).name, key, use);
  }

  /** Creates or replaces a secret. */
  async set(agentName: string, input: SecretSet): Promise<SecretStored> {
    return this.setOf((await this.deps.agents.get(agentName)).name, input);
  }

  async delete(agentName: string, key: string): Promise<void> {
    return this.deleteOf((await this.deps.agents.get(agentName)).name, key);
  }

  /** The server's own secrets: what `${vault:KEY}` in its configuration names. */
  listServer(page: PaginationInput): Promise<SecretList> {
    return this.listOf(SERVER_SECRETS_OWNER, page);
  }

  getServer(key: string, use: SecretUse = { source: 'api' }): Promise<Secret> {
    return this.getOf(SERVER_SECRETS_OWNER, key, use);
  }

  setServer(input: SecretSet): Promise<SecretStored> {
    return this.setOf(SERVER_SECRETS_OWNER, input);
  }

  deleteServer(key: string): Promise<void> {
    return this.deleteOf(SERVER_SECRETS_OWNER, key);
  }

  private async listOf(owner: string, page: PaginationInput): Promise<SecretList> {
    const [rows, [totals]] = await Promise.all([
      this.db.select().from(secrets).where(eq(secrets.agent, owner)).orderBy(secrets.key).limit(page.limit).offset(page.offset),
      this.db.select({ total: count() }).from(secrets).where(eq(secrets.agent, owner)),
    ]);
    return { secrets: rows.map(toInfo), pagination: paginate(totals?.total ?? 0, page) };
  }

  private async getOf(owner: string, key: string, use: SecretUse): Promise<Secret> {
    const row = await this.row(owner, key);
    if (!row) throw secretNotFound(owner, key);
    const value = this.remember(owner, key, this.decrypt(row));
    await this.accessed(owner, key, use);
    return { ...toInfo(row), value };
  }

  private async setOf(owner: string, input: SecretSet): Promise<SecretStored> {
    const now = new Date();
    const ciphertext = encryptSecret(this.masterKey, { agent: owner, key: input.key }, input.value);
    const existing = await this.row(owner, input.key);
    const [[row]] = await this.db.batch([
      this.db
        .insert(secrets)
        .values({ agent: owner, key: input.key, ciphertext, keyId: this.keyId, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: [secrets.agent, secrets.key], set: { ciphertext, keyId: this.keyId, updatedAt: now } })
        .returning(),
      this.deps.changes.record('secret', changeKey(owner, input.key)),
    ]);
    this.remember(owner, input.key, input.value);
    return { ...toInfo(row!), created: !existing };
  }

  private async deleteOf(owner: string, key: string): Promise<void> {
    const [rows] = await this.db.batch([
      this.db.delete(secrets).where(and(eq(secrets.agent, owner), eq(secrets.key, key))).returning({ key: secrets.key }),
      this.deps.changes.record('secret', changeKey(owner, key)),
    ]);
    if (rows.length === 0) throw secretNotFound(owner, key);
    this.forget(owner, key);
  }

  /**
   * The agent's secrets go with it (src/services/agents.ts, delete), and leave the redactor afterwards. A secret set
   * between the two statements goes unannounced: the other processes then only redact a value that no longer exists.
   */
  async deletionOf(agent: string): Promise<AgentDeletion> {
    const rows = await this.db.select({ key: secrets.key }).from(secrets).where(eq(secrets.agent, agent));
    return {
      statements: [this.db.delete(secrets).where(eq(secrets.agent, agent)), ...rows.map((row) => this.deps.changes.record('secret', changeKey(agent, row.key)))],
      release: async () => {
        for (const row of rows) this.forget(agent, row.key);
      },
    };
  }

  /**
   * Replaces every `${vault:KEY}` in a setting of an agent (its channels', its MCP servers') with the agent's secret
   * KEY. A missing key is a SECRET_NOT_FOUND error naming the key (a configuration mistake, not a refusal); a
   * reference to another agent's secret is refused and audited as vault.denied. Not audited as vault.accessed: it
   * runs on every channel request.
   */
  async resolve(value: string, agent: string, use: SecretUse = { source: 'config' }): Promise<string> {
    return this.resolveWith(value, async (reference) => {
      if (reference.agent !== undefined && reference.agent !== agent) {
        await this.denied(agent, reference.key, 'other_agent', use);
        throw new AppError('FORBIDDEN', `${reference.text} names a secret of agent '${reference.agent}'; an agent may only use its own secrets`, {
          agent,
          key: reference.key,
        });
      }
      const found = SECRET_KEY_PATTERN.test(reference.key) ? await this.row(agent, reference.key) : undefined;
      if (found) return this.remember(agent, found.key, this.decrypt(found));
      throw new AppError(
        'SECRET_NOT_FOUND',
        `${reference.text} names no secret of agent '${agent}': store it with POST /api/agents/${agent}/vault or moxxy vault set --agent ${agent}`,
        { agent, key: reference.key },
      );
    });
  }

  /**
   * Replaces every `${vault:KEY}` in a value of the server's configuration (a provider's apiKey, the HTTP channel's
   * token, the transcription key) with the server's secret KEY, whichever agent's run needs it. What cannot be
   * resolved is CONFIG_UNRESOLVED (503), saying how to fix it: the caller did nothing wrong.
   */
  async resolveConfig(value: string): Promise<string> {
    return this.resolveWith(value, async (reference) => {
      if (reference.agent !== undefined) {
        throw configUnresolved(
          reference.text,
          `it reads only the server's own secrets: write \${vault:${reference.key}} and store it with moxxy vault set --server ${reference.key}`,
          reference.key,
        );
      }
      const found = SECRET_KEY_PATTERN.test(reference.key) ? await this.row(SERVER_SECRETS_OWNER, reference.key) : undefined;
      if (found) return this.remember(SERVER_SECRETS_OWNER, found.key, this.decrypt(found));
      throw configUnresolved(
        reference.text,
        `the server has no secret '${reference.key}': store it with moxxy vault set --server ${reference.key} or POST /api/vault`,
        reference.key,
      );
    });
  }

  private async resolveWith(value: string, valueOf: (reference: VaultReference) => Promise<string>): Promise<string> {
    const values = new Map<string, string>();
    for (const reference of vaultReferences(value)) {
      if (!values.has(reference.text)) values.set(reference.text, await valueOf(reference));
    }
    return values.size === 0 ? value : replaceVaultReferences(value, values);
  }

  /**
   * The secrets a skill is granted: exactly the keys it names (its env_keys), of its own agent. A named key that
   * does not exist is left out and audited as vault.denied.
   */
  async secretsFor(agent: string, keys: string[], skill: string): Promise<Record<string, string>> {
    const granted: Record<string, string> = {};
    for (const key of new Set(keys)) {
      const row = SECRET_KEY_PATTERN.test(key) ? await this.row(agent, key) : undefined;
      if (!row) {
        await this.denied(agent, key, 'not_found', { skill });
        continue;
      }
      granted[key] = this.remember(agent, key, this.decrypt(row));
      await this.accessed(agent, key, { skill });
    }
    return granted;
  }

  /**
   * Re-encrypts every value under `newKey` in one transaction. `beforeCommit` runs inside it once every row is
   * rewritten (it stages the new key file), so a failure there leaves the vault as it was.
   */
  async rotate(newKey: Buffer, beforeCommit: () => void = () => undefined): Promise<number> {
    const newKeyId = keyFingerprint(newKey);
    const reseal = (address: SecretAddress, ciphertext: string): SealedValue => ({
      ciphertext: encryptSecret(newKey, address, decryptSecret(this.masterKey, address, ciphertext)),
      keyId: newKeyId,
    });
    const rotated = await this.db.transaction(async (tx) => {
      const rows = await tx.select().from(secrets);
      let others = 0;
      for (const participant of this.rotationParticipants) others += await participant(tx, reseal);
      for (const row of rows) {
        const value = this.decrypt(row);
        const address = { agent: row.agent, key: row.key };
        await tx
          .update(secrets)
          .set({ ciphertext: encryptSecret(newKey, address, value), keyId: newKeyId })
          .where(and(eq(secrets.agent, row.agent), eq(secrets.key, row.key)));
      }
      beforeCommit();
      return rows.length + others;
    });
    this.masterKey = newKey;
    this.keyId = newKeyId;
    return rotated;
  }

  /** Encrypts a value kept outside the secrets table with the master key; `address` must not be an agent's secret's. */
  seal(address: SecretAddress, value: string): SealedValue {
    return { ciphertext: encryptSecret(this.masterKey, address, value), keyId: this.keyId };
  }

  /** Decrypts what seal() made; a value sealed with another master key stops start-up with the same message as the vault's. */
  unseal(address: SecretAddress, sealed: SealedValue): string {
    if (sealed.keyId !== this.keyId) {
      throw new VaultKeyError(
        `A value was encrypted with master key ${sealed.keyId}, but the key in use is ${this.keyId}: set MOXXY_VAULT_KEY (or <home>/vault.key) to the key the vault was written with`,
      );
    }
    return decryptSecret(this.masterKey, address, sealed.ciphertext);
  }

  /** Sealed values of other services are rotated with the vault's, in the same transaction. */
  onRotate(participant: RotationParticipant): void {
    this.rotationParticipants.push(participant);
  }

  private async row(agent: string, key: string): Promise<SecretRow | undefined> {
    const [row] = await this.db.select().from(secrets).where(and(eq(secrets.agent, agent), eq(secrets.key, key))).limit(1);
    return row;
  }

  /** Registers the secret's value as stored now, or unregisters it when it is gone. */
  private async reload(agent: string, key: string): Promise<void> {
    const row = await this.row(agent, key);
    if (row) this.remember(agent, key, this.decrypt(row));
    else this.forget(agent, key);
  }

  private decrypt(row: SecretRow): string {
    return decryptSecret(this.masterKey, { agent: row.agent, key: row.key }, row.ciphertext);
  }

  /** Registers a value with the redactor (replacing the one registered for the same secret); returns it. */
  private remember(agent: string, key: string, value: string): string {
    const id = `${agent}\0${key}`;
    const previous = this.registered.get(id);
    if (previous === value) return value;
    if (previous !== undefined) this.deps.redactor.unregister(previous);
    this.deps.redactor.register(value);
    this.registered.set(id, value);
    return value;
  }

  private forget(agent: string, key: string): void {
    const id = `${agent}\0${key}`;
    const previous = this.registered.get(id);
    if (previous !== undefined) this.deps.redactor.unregister(previous);
    this.registered.delete(id);
  }

  // Inside a run (a provider key resolved for its model call, a skill's env_keys) the event belongs to that run.
  private async accessed(owner: string, key: string, use: SecretUse): Promise<void> {
    // The server's secrets belong to no agent: their reads are system events.
    const agent_id = isServer(owner) ? null : owner;
    await this.deps.events.emit({ agent_id, run_id: currentRunId(), event_type: 'vault.accessed', payload: { key, ...use } });
  }

  private async denied(agent: string, key: string, reason: DenialReason, use: SecretUse): Promise<void> {
    await this.deps.events.emit({ agent_id: agent, run_id: currentRunId(), event_type: 'vault.denied', payload: { key, reason, ...use } });
  }
}
