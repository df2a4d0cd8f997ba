/**
 * A webhook's trigger: a raw route because the signature is checked over the body's exact bytes. Outside services
 * cannot send our tokens, so a webhook with a secret is public (the signature is the auth); one without needs the
 * webhooks:write scope.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError } from '../../domain/errors.ts';
import { WEBHOOK_ACCEPTED_STATUS, WEBHOOK_BODY_MAX_BYTES, WEBHOOK_TRIGGER_PATH, WebhookPayload, WebhookRef, WebhookTriggered } from '../../domain/webhooks.ts';
import type { Services } from '../../services/container.ts';
import { credentialsOf, WWW_AUTHENTICATE } from '../auth.ts';
import { successEnvelope } from '../envelope.ts';
import { refuseDeepJson } from '../json-body.ts';
import { defineRawRoute, type RawRouteSpec } from '../raw-routes.ts';
import { JSON_CONTENT_TYPE } from '../content-type.ts';

/** Runs before the body is read: no credentials needed when the webhook has a secret, else webhooks:write. */
async function authorizeTrigger(request: FastifyRequest, services: Services, reply: FastifyReply): Promise<void> {
  const { name } = request.params as { name?: string };
  const parsed = WebhookRef.safeParse({ name });
  const webhook = parsed.success ? await services.webhooks.find(parsed.data.name) : undefined;
  if (webhook?.has_secret) return;
  try {
    await services.auth.check(credentialsOf(request.headers), 'webhooks:write');
  } catch (error) {
    if (isAppError(error) && error.code === 'UNAUTHORIZED') reply.header('www-authenticate', WWW_AUTHENTICATE);
    if (webhook && isAppError(error)) await services.webhooks.recordRefusal(webhook.name, error);
    throw error;
  }
}

/**
 * The JSON a delivery carries, as the webhook service will parse it (src/services/webhooks/payload.ts: a JSON body,
 * or a form whose one field is GitHub's `payload`), is held to the server's nesting limit before anything is recorded.
 */
function refuseDeepPayload(body: Buffer | undefined, contentType: string | undefined): void {
  if (!body) return;
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) refuseDeepJson(body.toString('utf8'));
  if (type === 'application/x-www-form-urlencoded') {
    const payload = new URLSearchParams(body.toString('utf8')).get('payload');
    if (payload !== null) refuseDeepJson(payload);
  }
}

export const webhookTriggerRoute = defineRawRoute({
  id: 'webhooks.trigger',
  method: 'POST',
  path: WEBHOOK_TRIGGER_PATH,
  tags: ['webhooks'],
  summary: 'Deliver an event: verifies the signature, starts a run, answers 202 at once',
  description:
    'Auth: a webhook with a secret needs no API credentials, its signature is the auth: GitHub `X-Hub-Signature-256: ' +
    'sha256=<hex HMAC-SHA256 of the body>`, or Standard Webhooks `webhook-id`, `webhook-timestamp` (within 5 minutes) and ' +
    '`webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` (several space-separated allowed; a `whsec_` ' +
    'secret\'s key is its decoded base64). A missing or wrong signature answers 401 INVALID_SIGNATURE (details.reason: ' +
    'missing, malformed, mismatch, timestamp_out_of_tolerance); a webhook-id already delivered answers 409 WEBHOOK_REPLAYED, and a disabled webhook 409 WEBHOOK_DISABLED. ' +
    'A webhook without a secret needs X-Moxxy-Internal-Token or a bearer token with webhooks:write (or an open loopback server). ' +
    'The prompt template sees the body (JSON; form bodies as fields, GitHub\'s `payload` field unwrapped; text as a string), ' +
    'the headers (lower-case, credentials removed) and the event type (X-GitHub-Event, else webhook-type, else body.type). ' +
    'The run (source `webhook:<name>`) goes on after the answer: follow it at GET /api/runs/{run_id}. Every delivery, ' +
    'accepted or refused, is logged at GET /api/webhooks/{name}/deliveries.',
  scope: null,
  optionalScope: 'webhooks:write',
  rateLimit: 'write',
  rawBody: true,
  bodyLimit: WEBHOOK_BODY_MAX_BYTES,
  onRequest: authorizeTrigger,
  request: {
    params: WebhookRef,
    body: { contentType: 'application/json', schema: WebhookPayload, description: 'The event, up to 64 KB.' },
  },
  responses: {
    [WEBHOOK_ACCEPTED_STATUS]: { description: 'Accepted: the run is started', contentType: 'application/json', schema: successEnvelope(WebhookTriggered) },
  },
  errors: ['INVALID_SIGNATURE', 'WEBHOOK_NOT_FOUND', 'WEBHOOK_REPLAYED', 'WEBHOOK_DISABLED', 'AGENT_NOT_FOUND'],
  async handler({ params, body }, request, reply, services) {
    if (body !== undefined && !Buffer.isBuffer(body)) throw new AppError('INTERNAL_ERROR', 'The trigger did not receive the raw body');
    refuseDeepPayload(body, request.headers['content-type']);
    const triggered = await services.webhooks.trigger(params.name, {
      body,
      contentType: request.headers['content-type'],
      headers: request.headers,
    });
    return reply.code(WEBHOOK_ACCEPTED_STATUS).type(JSON_CONTENT_TYPE).send({ success: true, data: triggered });
  },
});

export const webhookRoutes: RawRouteSpec[] = [webhookTriggerRoute];
