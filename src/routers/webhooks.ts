/** Webhooks router (seed 000): create, list, get, update (and disable), delete, and the deliveries log. The trigger is a raw route (src/http/routes/webhooks.ts). */
import {
  DeliveryListInput,
  Webhook,
  WebhookCreate,
  WebhookDeleted,
  WebhookDeliveryList,
  WebhookList,
  WebhookListInput,
  WebhookRef,
  WebhookUpdate,
} from '../domain/webhooks.ts';
import { procedure, router } from './trpc.ts';

const tags: ['webhooks'] = ['webhooks'];
const path = '/api/webhooks' as const;

export const webhooksRouter = router({
  list: procedure
    .meta({ openapi: { method: 'GET', path, tags, summary: 'List webhooks (secrets never shown)', scope: 'webhooks:read', rateLimit: 'read' } })
    .input(WebhookListInput)
    .output(WebhookList)
    .query(({ ctx, input }) => ctx.services.webhooks.list(input)),

  create: procedure
    .meta({
      openapi: {
        method: 'POST',
        path,
        tags,
        summary: 'Create a webhook',
        description:
          'Each POST to its trigger_path starts a run on `agent` with `prompt_template` rendered against the delivery. With a ' +
          '`secret`, deliveries must be signed (GitHub X-Hub-Signature-256, or Standard Webhooks) and the trigger needs no ' +
          'API credentials; without one, the trigger needs the webhooks:write scope. The secret is encrypted with the vault\'s ' +
          'master key, redacted from events, and never returned (`has_secret`).',
        successStatus: 201,
        errors: ['AGENT_NOT_FOUND', 'WEBHOOK_EXISTS'],
        scope: 'webhooks:write',
        rateLimit: 'write',
      },
    })
    .input(WebhookCreate)
    .output(Webhook)
    .mutation(({ ctx, input }) => ctx.services.webhooks.create(input)),

  get: procedure
    .meta({
      openapi: { method: 'GET', path: `${path}/{name}`, tags, summary: 'Get a webhook', errors: ['WEBHOOK_NOT_FOUND'], scope: 'webhooks:read', rateLimit: 'read' },
    })
    .input(WebhookRef)
    .output(Webhook)
    .query(({ ctx, input }) => ctx.services.webhooks.get(input.name)),

  update: procedure
    .meta({
      openapi: {
        method: 'PATCH',
        path: `${path}/{name}`,
        tags,
        summary: 'Update a webhook: its agent, prompt template, secret (null removes it), description, or enabled',
        errors: ['WEBHOOK_NOT_FOUND', 'AGENT_NOT_FOUND'],
        scope: 'webhooks:write',
        rateLimit: 'write',
      },
    })
    .input(WebhookUpdate.extend(WebhookRef.shape))
    .output(Webhook)
    .mutation(({ ctx, input: { name, ...patch } }) => ctx.services.webhooks.update(name, patch)),

  delete: procedure
    .meta({
      openapi: {
        method: 'DELETE',
        path: `${path}/{name}`,
        tags,
        summary: 'Delete a webhook and its deliveries log',
        errors: ['WEBHOOK_NOT_FOUND'],
        scope: 'webhooks:write',
        rateLimit: 'write',
      },
    })
    .input(WebhookRef)
    .output(WebhookDeleted)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.webhooks.delete(input.name);
      return { name: input.name, status: 'deleted' as const };
    }),

  deliveries: procedure
    .meta({
      openapi: {
        method: 'GET',
        path: `${path}/{name}/deliveries`,
        tags,
        summary: "A webhook's deliveries, newest first: accepted (with the run), rejected and failed (with why)",
        errors: ['WEBHOOK_NOT_FOUND'],
        scope: 'webhooks:read',
        rateLimit: 'read',
      },
    })
    .input(DeliveryListInput)
    .output(WebhookDeliveryList)
    .query(({ ctx, input: { name, ...page } }) => ctx.services.webhooks.deliveries(name, page)),
});
