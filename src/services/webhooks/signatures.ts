/**
 * Webhook signature checks over the body's exact bytes: GitHub's `X-Hub-Signature-256: sha256=<hex>` (with its
 * `X-GitHub-Delivery` id) and Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>
 * ...` over `${id}.${timestamp}.${body}`). A webhook verifies with its one scheme only: the same secret signing under
 * the other scheme proves nothing (a captured Standard Webhooks delivery must not pass as a GitHub one, which has
 * no timestamp). Comparisons are constant-time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SIGNATURE_TOLERANCE_SECONDS, type SignatureScheme } from '../../domain/webhooks.ts';

/** Why a delivery's signature was refused; details.reason of INVALID_SIGNATURE. */
export type SignatureFailure = 'missing' | 'malformed' | 'mismatch' | 'timestamp_out_of_tolerance';

export type SignatureCheck =
  | { ok: true; scheme: SignatureScheme; deliveryKey: string | null }
  | { ok: false; scheme: SignatureScheme | null; reason: SignatureFailure; message: string };

export interface SignedRequest {
  body: Buffer;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** Seconds since the epoch. */
  now: number;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A `whsec_` secret's key is its decoded base64; any other secret is used as its UTF-8 bytes. */
export function standardWebhooksKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
}

export function signGitHub(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function signStandardWebhooks(secret: string, id: string, timestamp: number, body: Buffer | string): string {
  const mac = createHmac('sha256', standardWebhooksKey(secret)).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

function checkGitHub(secret: string, { body, headers }: SignedRequest): SignatureCheck {
  const match = /^sha256=([0-9a-f]{64})$/i.exec(headers['x-hub-signature-256']!.trim());
  if (!match) return { ok: false, scheme: 'github', reason: 'malformed', message: 'X-Hub-Signature-256 must be sha256=<64 hex digits>' };
  const expected = createHmac('sha256', secret).update(body).digest();
  if (!sameBytes(Buffer.from(match[1]!, 'hex'), expected)) {
    return { ok: false, scheme: 'github', reason: 'mismatch', message: 'X-Hub-Signature-256 does not match the body signed with the webhook\'s secret' };
  }
  const delivery = headers['x-github-delivery']?.trim();
  if (!delivery) return { ok: false, scheme: 'github', reason: 'missing', message: 'GitHub deliveries carry an X-GitHub-Delivery id; it is required' };
  return { ok: true, scheme: 'github', deliveryKey: delivery };
}

function checkStandard(secret: string, { body, headers, now }: SignedRequest): SignatureCheck {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (!id || !timestamp || !signatures) {
    return { ok: false, scheme: 'standard', reason: 'missing', message: 'Standard Webhooks needs webhook-id, webhook-timestamp and webhook-signature' };
  }
  if (!/^\d{1,12}$/.test(timestamp)) {
    return { ok: false, scheme: 'standard', reason: 'malformed', message: 'webhook-timestamp must be seconds since the epoch' };
  }
  if (Math.abs(now - Number(timestamp)) > SIGNATURE_TOLERANCE_SECONDS) {
    return {
      ok: false,
      scheme: 'standard',
      reason: 'timestamp_out_of_tolerance',
      message: `webhook-timestamp is more than ${SIGNATURE_TOLERANCE_SECONDS / 60} minutes away from the server's clock`,
    };
  }
  const expected = createHmac('sha256', standardWebhooksKey(secret)).update(`${id}.${timestamp}.`).update(body).digest();
  const matches = signatures
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .some((entry) => sameBytes(Buffer.from(entry.slice(3), 'base64'), expected));
  if (!matches) {
    return { ok: false, scheme: 'standard', reason: 'mismatch', message: 'No v1 signature in webhook-signature matches the body signed with the webhook\'s secret' };
  }
  return { ok: true, scheme: 'standard', deliveryKey: id };
}

/** Checks a delivery against the webhook's one scheme; the other scheme's headers count for nothing. */
export function checkSignature(secret: string, scheme: SignatureScheme, request: SignedRequest): SignatureCheck {
  if (scheme === 'standard') return checkStandard(secret, request);
  if (request.headers['x-hub-signature-256'] === undefined) {
    return { ok: false, scheme, reason: 'missing', message: 'This webhook verifies GitHub signatures: send X-Hub-Signature-256 and X-GitHub-Delivery' };
  }
  return checkGitHub(secret, request);
}
