/**
 * Webhooks (seed 000): named entry points that turn an outside service's request (GitHub, Stripe...) into a run,
 * their API shapes, and the prompt template language: `{{body.pull_request.title}}`, `{{headers.x-github-event}}`,
 * `{{event}}`, `{{body}}` (as JSON). Templates only look values up; nothing in them is executed.
 */
import { z } from 'zod';
import { Pagination, PaginationInput, Slug } from './common.ts';

export const WEBHOOK_BODY_MAX_BYTES = 64 * 1024;

/**
 * The trigger route (src/http/routes/webhooks.ts) declares its path and its answer with these, and a webhook's
 * `trigger_path` and a delivery's `http_status` say the same: one declaration, no path or status built elsewhere.
 */
export const WEBHOOK_TRIGGER_PATH = '/api/webhooks/{name}/trigger';
export const WEBHOOK_ACCEPTED_STATUS = 202;

export const webhookTriggerPath = (name: string) => WEBHOOK_TRIGGER_PATH.replace('{name}', name);
export const PROMPT_TEMPLATE_MAX_CHARS = 16_000;
/** A rendered prompt is cut here, the longest message a run takes. */
export const PROMPT_MAX_CHARS = 32_000;
/** Standard Webhooks: a delivery signed longer ago (or further ahead) than this is refused. */
export const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;
/**
 * GitHub signs only the body, with no timestamp: a delivery whose X-GitHub-Delivery id, or whose very body, was
 * accepted within this window is refused as a replay.
 */
export const GITHUB_REPLAY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** Headers a template never sees: they carry the caller's credentials, not the event. */
export const HIDDEN_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-moxxy-internal-token']);

const TAG = /\{\{\s*([^{}]*?)\s*\}\}/g;
const PATH = /^(body|headers|event)((?:\.[A-Za-z0-9_-]+)*)$/;

/** What a template may refer to. */
export interface TemplateContext {
  body: unknown;
  headers: Record<string, string>;
  event: string | null;
}

/** The tags of a template that are not `{{body...}}`, `{{headers...}}` or `{{event}}`, for a clear error at creation. */
export function invalidTemplateTags(template: string): string[] {
  return [...template.matchAll(TAG)].map((match) => match[0]).filter((tag) => !PATH.test(tag.slice(2, -2).trim()));
}

function lookup(value: unknown, keys: string[]): unknown {
  let current = value;
  for (const key of keys) {
    // Own properties only: `{{body.constructor}}` must not reach Object's prototype.
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function show(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Replaces each `{{path}}` by the value found there (objects as JSON, missing values as nothing). */
export function renderTemplate(template: string, context: TemplateContext): string {
  return template.replace(TAG, (tag, expression: string) => {
    const match = PATH.exec(expression);
    if (!match) return tag;
    const keys = match[2] ? match[2].slice(1).split('.') : [];
    return show(lookup(context[match[1] as keyof TemplateContext], keys));
  });
}

/** The event type of a delivery: X-GitHub-Event, else webhook-type, else the body's `type`. */
export function eventTypeOf(headers: Record<string, string>, body: unknown): string | null {
  const fromHeader = headers['x-github-event'] ?? headers['webhook-type'];
  if (fromHeader) return fromHeader;
  const type = lookup(body, ['type']);
  return typeof type === 'string' && type ? type : null;
}

const STANDARD_SECRET = /^whsec_[A-Za-z0-9+/]+={0,2}$/;
/** The start of a string that does not begin with `whsec_`, spelled out character by character. */
const NOT_WHSEC_START = '(?:[^w]|w(?:[^h]|h(?:[^s]|s(?:[^e]|e(?:[^c]|c[^_])))))';

export const SIGNATURE_SCHEMES = ['github', 'standard'] as const;
export const SignatureScheme = z
  .enum(SIGNATURE_SCHEMES)
  .describe(
    'How deliveries are signed, fixed when the webhook gets its secret: `github` (X-Hub-Signature-256 over the body, X-GitHub-Delivery ' +
      'required) or `standard` (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature). A delivery signed any other way is refused.',
  )
  .meta({ id: 'WebhookSignatureScheme' });
export type SignatureScheme = z.infer<typeof SignatureScheme>;

/** The scheme a secret implies when none is named: `whsec_` secrets are Standard Webhooks'. */
export function schemeForSecret(secret: string): SignatureScheme {
  return secret.startsWith('whsec_') ? 'standard' : 'github';
}

export const WebhookSecret = z
  .string()
  .min(8, 'must be at least 8 characters')
  .max(256)
  // Any secret, but one that starts with whsec_ must be a Standard Webhooks key: one pattern, so openapi.json states
  // it, and without lookahead, so generators (fast-check, Schemathesis) can produce matching strings.
  .regex(new RegExp(`^(?:${NOT_WHSEC_START}[\\s\\S]*|${STANDARD_SECRET.source.slice(1, -1)})$`), 'a whsec_ secret must be whsec_ followed by base64')
  .describe(
    'The signing secret. GitHub: the secret set on the GitHub webhook. Standard Webhooks: `whsec_<base64>` (the key is the ' +
      'decoded base64). Stored encrypted; never returned.',
  );

const PromptTemplate = z
  .string()
  .min(1)
  .max(PROMPT_TEMPLATE_MAX_CHARS)
  .superRefine((template, ctx) => {
    const invalid = invalidTemplateTags(template);
    if (invalid.length) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown template tags ${invalid.join(', ')}: use {{body}}, {{body.a.b}}, {{headers.name}} or {{event}}`,
      });
    }
  })
  .describe('The prompt of each run: {{body}} (JSON), {{body.a.b}}, {{headers.x-github-event}} (lower-case names), {{event}}.');

export const WebhookCreate = z.strictObject({
  name: Slug,
  agent: Slug.describe('The agent that runs on each delivery.'),
  prompt_template: PromptTemplate,
  secret: WebhookSecret.optional(),
  signature_scheme: SignatureScheme.optional().describe(
    'How deliveries are signed; fixed for the life of the webhook. Default: `standard` for a whsec_ secret, else `github`.',
  ),
  description: z.string().max(500).default(''),
});
export type WebhookCreate = z.infer<typeof WebhookCreate>;

export const WebhookUpdate = z
  .strictObject({
    agent: Slug.optional(),
    prompt_template: PromptTemplate.optional(),
    secret: WebhookSecret.nullable()
      .optional()
      .describe('A new signing secret, for the same signature scheme; null removes it (the trigger then needs API credentials).'),
    description: z.string().max(500).optional(),
    enabled: z.boolean().optional().describe('false: deliveries are refused with 409 WEBHOOK_DISABLED (and logged) until it is enabled again.'),
  })
  .meta({ id: 'WebhookUpdate', description: 'Fields given replace the current ones; the others stay.' });
export type WebhookUpdate = z.infer<typeof WebhookUpdate>;

export const Webhook = z
  .object({
    id: z.string().describe('whk_ + UUIDv7.'),
    name: z.string(),
    agent: z.string(),
    description: z.string(),
    prompt_template: z.string(),
    has_secret: z.boolean().describe('true when deliveries must be signed; the secret itself is never returned.'),
    signature_scheme: SignatureScheme.nullable().describe('The one scheme deliveries must be signed with; null until the webhook has a secret.'),
    enabled: z.boolean().describe('false: deliveries are refused with 409 WEBHOOK_DISABLED.'),
    trigger_path: z.string().describe('Where to POST deliveries, e.g. /api/webhooks/github/trigger.'),
    created_at: z.date(),
    updated_at: z.date(),
  })
  .meta({ id: 'Webhook' });
export type Webhook = z.infer<typeof Webhook>;

export const WebhookRef = z.object({ name: Slug });
export const WebhookListInput = PaginationInput;
export const WebhookList = z.object({ webhooks: z.array(Webhook), pagination: Pagination }).meta({ id: 'WebhookList' });
export type WebhookList = z.infer<typeof WebhookList>;
export const WebhookDeleted = z.object({ name: z.string(), status: z.literal('deleted') }).meta({ id: 'WebhookDeleted' });

export const DeliveryStatus = z.enum(['accepted', 'rejected', 'failed']);

export const WebhookDelivery = z
  .object({
    id: z.string().describe('dlv_ + UUIDv7.'),
    webhook: z.string(),
    status: DeliveryStatus.describe('accepted: a run was started; rejected: refused (signature, replay, body); failed: the run could not start.'),
    http_status: z.number().int().describe('The status the trigger answered with.'),
    event_type: z.string().nullable(),
    delivery_key: z
      .string()
      .nullable()
      .describe('The webhook-id (Standard Webhooks) or X-GitHub-Delivery (GitHub) of an accepted delivery: a second delivery with it is refused.'),
    run_id: z.string().nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    received_at: z.date(),
  })
  .meta({ id: 'WebhookDelivery' });
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

export const DeliveryListInput = PaginationInput.extend(WebhookRef.shape);
export const WebhookDeliveryList = z
  .object({ deliveries: z.array(WebhookDelivery), pagination: Pagination })
  .meta({ id: 'WebhookDeliveryList', description: 'Deliveries, newest first.' });
export type WebhookDeliveryList = z.infer<typeof WebhookDeliveryList>;

export const WebhookTriggered = z
  .object({
    delivery_id: z.string(),
    run_id: z.string().describe('The run started for this delivery: follow it at GET /api/runs/{id}.'),
    webhook: z.string(),
    agent: z.string(),
    event_type: z.string().nullable(),
    status: z.literal('accepted'),
  })
  .meta({ id: 'WebhookTriggered' });
export type WebhookTriggered = z.infer<typeof WebhookTriggered>;

export const WebhookPayload = z
  .unknown()
  .describe('Any JSON (also accepted: application/x-www-form-urlencoded, with GitHub\'s `payload` field unwrapped, and text/plain), up to 64 KB.');
