/**
 * Webhooks: CRUD, the trigger (signature check, replay refusal, template, a run started without waiting) and the
 * deliveries log. Signing secrets are sealed with the vault's master key, rotated with it, registered with the
 * redactor, and never leave this service.
 */
import { createHash } from 'node:crypto';
import { and, count, desc, eq, gte, inArray } from 'drizzle-orm';
import { paginate, type PaginationInput } from '../../domain/common.ts';
import { AppError } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import {
  eventTypeOf,
  GITHUB_REPLAY_WINDOW_MS,
  HIDDEN_HEADERS,
  PROMPT_MAX_CHARS,
  renderTemplate,
  schemeForSecret,
  WEBHOOK_ACCEPTED_STATUS,
  webhookTriggerPath,
  type Webhook,
  type WebhookCreate,
  type WebhookDelivery,
  type WebhookDeliveryList,
  type WebhookList,
  type WebhookTriggered,
  type WebhookUpdate,
} from '../../domain/webhooks.ts';
import type { Db } from '../../db/client.ts';
import { webhookDeliveries, webhooks } from '../../db/schema.ts';
import type { AgentDeletion, AgentService } from '../agents.ts';
import type { ChangeFeed } from '../changes/feed.ts';
import type { EventBus } from '../events/bus.ts';
import type { Redactor } from '../redaction.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { SecretAddress } from '../vault/crypto.ts';
import type { VaultService } from '../vault/service.ts';
import { parsePayload } from './payload.ts';
import { checkSignature } from './signatures.ts';

type WebhookRow = typeof webhooks.$inferSelect;
type DeliveryRow = typeof webhookDeliveries.$inferSelect;

export interface WebhookDeps {
  db: Db;
  agents: AgentService;
  runtime: Runtime;
  events: EventBus;
  redactor: Redactor;
  vault: VaultService;
  /** Tells the other processes of a webhook created, changed or deleted, and brings theirs. */
  changes: ChangeFeed;
}

/** One request to a trigger, as received. */
export interface TriggerRequest {
  /** The body's exact bytes; undefined without a body. */
  body: Buffer | undefined;
  contentType: string | undefined;
  /** Lower-case names. */
  headers: Record<string, string | string[] | undefined>;
}

// Agent names are slugs, which never contain ':', so no agent's secret has this address.
const secretAddress = (name: string): SecretAddress => ({ agent: `webhook:${name}`, key: 'secret' });

function toWebhook(row: WebhookRow): Webhook {
  return {
    id: row.id,
    name: row.name,
    agent: row.agent,
    description: row.description,
    prompt_template: row.promptTemplate,
    has_secret: row.secretCiphertext !== null,
    signature_scheme: row.secretCiphertext === null ? null : row.signatureScheme,
    enabled: row.enabled,
    trigger_path: webhookTriggerPath(row.name),
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

function parseError(text: string | null): WebhookDelivery['error'] {
  if (!text) return null;
  const parsed = JSON.parse(text) as { code: string; message: string };
  return { code: parsed.code, message: parsed.message };
}

function toDelivery(row: DeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    webhook: row.webhook,
    status: row.status,
    http_status: row.httpStatus,
    event_type: row.eventType,
    delivery_key: row.deliveryKey,
    run_id: row.runId,
    error: parseError(row.error),
    received_at: row.receivedAt,
  };
}

const errorText = (error: AppError) => JSON.stringify({ code: error.code, message: error.message });

function webhookNotFound(name: string): AppError {
  return new AppError('WEBHOOK_NOT_FOUND', `Webhook '${name}' not found`, { name });
}

/** Header values as one string each, without the caller's credentials. */
function templateHeaders(headers: TriggerRequest['headers']): Record<string, string> {
  const visible: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HIDDEN_HEADERS.has(name)) continue;
    visible[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return visible;
}

export class WebhookService {
  private readonly db: Db;
  /** webhook name -> its secret as registered with the redactor. */
  private readonly registered = new Map<string, string>();

  constructor(private readonly deps: WebhookDeps) {
    this.db = deps.db;
    deps.vault.onRotate(async (tx, reseal) => {
      const rows = await tx.select().from(webhooks);
      let rotated = 0;
      for (const row of rows) {
        if (row.secretCiphertext === null) continue;
        const sealed = reseal(secretAddress(row.name), row.secretCiphertext);
        await tx.update(webhooks).set({ secretCiphertext: sealed.ciphertext, secretKeyId: sealed.keyId }).where(eq(webhooks.name, row.name));
        rotated += 1;
      }
      return rotated;
    });
    // Another process gave it a secret, replaced or removed it: redact the secret stored now, and only that one.
    deps.changes.on('webhook', (name) => this.reload(name));
  }

  /**
   * Registers every secret with the redactor; fails start-up, like the vault, when the master key is not theirs. A
   * webhook from before schemes were fixed gets the scheme its secret implies.
   */
  async init(): Promise<void> {
    for (const row of await this.db.select().from(webhooks)) {
      const secret = this.secretOf(row);
      if (secret === null) continue;
      this.remember(row.name, secret);
      if (row.signatureScheme === null) {
        await this.db.update(webhooks).set({ signatureScheme: schemeForSecret(secret) }).where(eq(webhooks.name, row.name));
      }
    }
  }

  async create(input: WebhookCreate): Promise<Webhook> {
    const { name, agent: agentName, prompt_template, secret, description } = input;
    const signatureScheme = input.signature_scheme ?? (secret === undefined ? null : schemeForSecret(secret));
    const agent = (await this.deps.agents.get(agentName)).name;
    const now = new Date();
    const sealed = secret === undefined ? undefined : this.deps.vault.seal(secretAddress(name), secret);
    // Recorded even when the name is taken: the other processes then only read the webhook again.
    const [[row]] = await this.db.batch([
      this.db
        .insert(webhooks)
        .values({
          name,
          id: newId('whk'),
          agent,
          description,
          promptTemplate: prompt_template,
          secretCiphertext: sealed?.ciphertext ?? null,
          secretKeyId: sealed?.keyId ?? null,
          signatureScheme,
          createdAt: now,
          updatedAt: now,
        })
        .onConflictDoNothing({ target: webhooks.name })
        .returning(),
      this.deps.changes.record('webhook', name),
    ]);
    if (!row) throw new AppError('WEBHOOK_EXISTS', `Webhook '${name}' already exists`, { name });
    if (secret !== undefined) this.remember(name, secret);
    return toWebhook(row);
  }

  async list(page: PaginationInput): Promise<WebhookList> {
    const [rows, [totals]] = await Promise.all([
      this.db.select().from(webhooks).orderBy(webhooks.name).limit(page.limit).offset(page.offset),
      this.db.select({ total: count() }).from(webhooks),
    ]);
    return { webhooks: rows.map(toWebhook), pagination: paginate(totals?.total ?? 0, page) };
  }

  async get(name: string): Promise<Webhook> {
    return toWebhook(await this.row(name));
  }

  /** Replaces the fields given; a new secret is sealed like at creation, and `secret: null` removes it. */
  async update(name: string, patch: WebhookUpdate): Promise<Webhook> {
    const current = await this.row(name);
    const agent = patch.agent === undefined ? current.agent : (await this.deps.agents.get(patch.agent)).name;
    const sealed = patch.secret ? this.deps.vault.seal(secretAddress(name), patch.secret) : undefined;
    const [[row]] = await this.db.batch([
      this.db
        .update(webhooks)
        .set({
          agent,
          ...(patch.prompt_template === undefined ? {} : { promptTemplate: patch.prompt_template }),
          ...(patch.description === undefined ? {} : { description: patch.description }),
          ...(patch.enabled === undefined ? {} : { enabled: patch.enabled }),
          ...(patch.secret === undefined ? {} : { secretCiphertext: sealed?.ciphertext ?? null, secretKeyId: sealed?.keyId ?? null }),
          // A scheme, once set, stays: a new secret signs the same way.
          ...(patch.secret && current.signatureScheme === null ? { signatureScheme: schemeForSecret(patch.secret) } : {}),
          updatedAt: new Date(),
        })
        .where(eq(webhooks.name, name))
        .returning(),
      this.deps.changes.record('webhook', name),
    ]);
    if (!row) throw webhookNotFound(name);
    if (patch.secret) this.remember(name, patch.secret);
    else if (patch.secret === null) this.forget(name);
    return toWebhook(row);
  }

  /** The webhook, or undefined when there is none by that name (the trigger's auth decides with it). */
  async find(name: string): Promise<Webhook | undefined> {
    const [row] = await this.db.select().from(webhooks).where(eq(webhooks.name, name)).limit(1);
    return row && toWebhook(row);
  }

  /** Deletes the webhook and its deliveries log. */
  async delete(name: string): Promise<void> {
    const [deleted] = await this.db.batch([
      this.db.delete(webhooks).where(eq(webhooks.name, name)).returning({ name: webhooks.name }),
      this.db.delete(webhookDeliveries).where(eq(webhookDeliveries.webhook, name)),
      this.deps.changes.record('webhook', name),
    ]);
    if (deleted.length === 0) throw webhookNotFound(name);
    this.forget(name);
  }

  /** Every webhook of a deleted agent goes with it, deliveries log included (src/services/agents.ts, delete). */
  async deletionOf(agent: string): Promise<AgentDeletion> {
    const names = (await this.db.select({ name: webhooks.name }).from(webhooks).where(eq(webhooks.agent, agent))).map((row) => row.name);
    return {
      statements: [
        this.db.delete(webhookDeliveries).where(inArray(webhookDeliveries.webhook, names)),
        this.db.delete(webhooks).where(eq(webhooks.agent, agent)),
        ...names.map((name) => this.deps.changes.record('webhook', name)),
      ],
      release: async () => {
        for (const name of names) this.forget(name);
      },
    };
  }

  async deliveries(name: string, page: PaginationInput): Promise<WebhookDeliveryList> {
    await this.row(name);
    const where = eq(webhookDeliveries.webhook, name);
    const [rows, [totals]] = await Promise.all([
      this.db
        .select()
        .from(webhookDeliveries)
        .where(where)
        .orderBy(desc(webhookDeliveries.receivedAt), desc(webhookDeliveries.id))
        .limit(page.limit)
        .offset(page.offset),
      this.db.select({ total: count() }).from(webhookDeliveries).where(where),
    ]);
    return { deliveries: rows.map(toDelivery), pagination: paginate(totals?.total ?? 0, page) };
  }

  /** Logs a trigger refused before it reached the webhook (e.g. missing credentials for a webhook without a secret). */
  async recordRefusal(name: string, error: AppError): Promise<void> {
    await this.insertDelivery({ webhook: name, status: 'rejected', httpStatus: error.status, error: errorText(error) });
  }

  /**
   * Checks the signature (when the webhook has a secret), refuses a replayed Standard Webhooks id, renders the
   * template and starts a run on the webhook's agent without waiting for it. Every outcome is logged.
   */
  async trigger(name: string, request: TriggerRequest): Promise<WebhookTriggered> {
    const webhook = await this.row(name);
    const headers = templateHeaders(request.headers);
    const refuse = async (error: AppError, fields: { eventType?: string | null; status?: 'rejected' | 'failed' } = {}): Promise<never> => {
      await this.insertDelivery({
        webhook: name, status: fields.status ?? 'rejected', httpStatus: error.status, eventType: fields.eventType ?? null, error: errorText(error),
      });
      throw error;
    };

    let deliveryKey: string | null = null;
    let payloadDigest: string | null = null;
    const secret = this.secretOf(webhook);
    if (secret !== null) {
      const scheme = webhook.signatureScheme ?? schemeForSecret(secret);
      const body = request.body ?? Buffer.alloc(0);
      const check = checkSignature(secret, scheme, { body, headers, now: Math.floor(Date.now() / 1000) });
      if (!check.ok) {
        await this.violation(webhook, { reason: `signature_${check.reason}`, scheme: check.scheme });
        return refuse(new AppError('INVALID_SIGNATURE', check.message, { reason: check.reason, scheme: check.scheme }));
      }
      deliveryKey = check.deliveryKey;
      if (scheme === 'github') payloadDigest = createHash('sha256').update(body).digest('hex');
    }
    // After the signature, so only the sender learns that the webhook is off; its delivery id is not used up.
    if (!webhook.enabled) {
      return refuse(new AppError('WEBHOOK_DISABLED', `Webhook '${name}' is disabled; enable it with PATCH /api/webhooks/${name}`, { name }));
    }

    let payload: unknown;
    try {
      payload = parsePayload(request.body, request.contentType);
    } catch (error) {
      if (error instanceof AppError) return refuse(error);
      throw error;
    }
    const eventType = eventTypeOf(headers, payload);

    const replayed = async (original: DeliveryRow | undefined, what: string): Promise<never> => {
      await this.violation(webhook, { reason: 'webhook_replayed', delivery_key: deliveryKey });
      return refuse(
        new AppError('WEBHOOK_REPLAYED', `${what} was already delivered; a replayed delivery is refused`, {
          webhook_id: deliveryKey,
          delivery_id: original?.id ?? null,
          run_id: original?.runId ?? null,
        }),
        { eventType },
      );
    };
    // GitHub signs only the body: the same body under a new X-GitHub-Delivery id is still a replay.
    if (payloadDigest !== null) {
      const original = await this.recentDeliveryWithDigest(name, payloadDigest);
      if (original) return replayed(original, 'This body');
    }
    // The unique (webhook, delivery_key) index claims the id before the run starts, so a replay racing the
    // original is refused too.
    const deliveryId = newId('dlv');
    const claimed = await this.insertDelivery({ id: deliveryId, webhook: name, deliveryKey, payloadDigest, eventType, status: 'accepted', httpStatus: WEBHOOK_ACCEPTED_STATUS });
    if (!claimed) return replayed(await this.deliveryByKey(name, deliveryKey!), `Delivery '${deliveryKey}'`);

    const prompt = renderTemplate(webhook.promptTemplate, { body: payload, headers, event: eventType }).slice(0, PROMPT_MAX_CHARS);
    let runId: string;
    try {
      if (!prompt.trim()) throw new AppError('VALIDATION_ERROR', 'The prompt template rendered to an empty prompt', { issues: [] });
      runId = (await this.deps.runtime.start({ agent: webhook.agent, message: prompt, source: `webhook:${name}` })).run.id;
    } catch (error) {
      const app = error instanceof AppError ? error : new AppError('INTERNAL_ERROR', 'The run could not be started');
      // The id is released, so the sender's retry of a delivery that failed here is not refused as a replay.
      await this.db
        .update(webhookDeliveries)
        .set({ status: 'failed', httpStatus: app.status, deliveryKey: null, payloadDigest: null, error: errorText(app) })
        .where(eq(webhookDeliveries.id, deliveryId));
      throw error;
    }
    await this.db.update(webhookDeliveries).set({ runId }).where(eq(webhookDeliveries.id, deliveryId));
    return { delivery_id: deliveryId, run_id: runId, webhook: name, agent: webhook.agent, event_type: eventType, status: 'accepted' };
  }

  private async row(name: string): Promise<WebhookRow> {
    const [row] = await this.db.select().from(webhooks).where(eq(webhooks.name, name)).limit(1);
    if (!row) throw webhookNotFound(name);
    return row;
  }

  /** Registers the webhook's secret as stored now; forgets it when the webhook or its secret is gone. */
  private async reload(name: string): Promise<void> {
    const [row] = await this.db.select().from(webhooks).where(eq(webhooks.name, name)).limit(1);
    const secret = row ? this.secretOf(row) : null;
    if (secret === null) this.forget(name);
    else this.remember(name, secret);
  }

  private secretOf(row: WebhookRow): string | null {
    if (row.secretCiphertext === null) return null;
    return this.deps.vault.unseal(secretAddress(row.name), { ciphertext: row.secretCiphertext, keyId: row.secretKeyId ?? '' });
  }

  /** Inserts a delivery; false when its delivery key was already taken (a replay). */
  private async insertDelivery(fields: {
    id?: string;
    webhook: string;
    deliveryKey?: string | null;
    payloadDigest?: string | null;
    eventType?: string | null;
    status: DeliveryRow['status'];
    httpStatus: number;
    error?: string;
  }): Promise<boolean> {
    const rows = await this.db
      .insert(webhookDeliveries)
      .values({ ...fields, id: fields.id ?? newId('dlv'), receivedAt: new Date() })
      .onConflictDoNothing()
      .returning({ id: webhookDeliveries.id });
    return rows.length > 0;
  }

  private async deliveryByKey(name: string, key: string): Promise<DeliveryRow | undefined> {
    const [row] = await this.db
      .select()
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.webhook, name), eq(webhookDeliveries.deliveryKey, key)))
      .limit(1);
    return row;
  }

  private async recentDeliveryWithDigest(name: string, digest: string): Promise<DeliveryRow | undefined> {
    const since = new Date(Date.now() - GITHUB_REPLAY_WINDOW_MS);
    const [row] = await this.db
      .select()
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.webhook, name), eq(webhookDeliveries.payloadDigest, digest), gte(webhookDeliveries.receivedAt, since)))
      .limit(1);
    return row;
  }

  private async violation(webhook: WebhookRow, payload: Record<string, unknown>): Promise<void> {
    await this.deps.events.emit({ agent_id: webhook.agent, run_id: null, event_type: 'security.violation', payload: { webhook: webhook.name, ...payload } });
  }

  private remember(name: string, secret: string): void {
    this.forget(name);
    this.deps.redactor.register(secret);
    this.registered.set(name, secret);
  }

  private forget(name: string): void {
    const previous = this.registered.get(name);
    if (previous !== undefined) this.deps.redactor.unregister(previous);
    this.registered.delete(name);
  }
}
