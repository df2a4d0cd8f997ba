import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

async function trpcError(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  return error as TRPCClientError<any>;
}

describe('agents over tRPC', () => {
  it('gives the same agent as REST, with Dates instead of ISO strings', async () => {
    const created = await server.trpc.agents.create.mutate({ name: 'twin', description: 'same both ways' });
    expect(created.created_at).toBeInstanceOf(Date);
    const rest = await server.api.get('/api/agents/twin');
    const viaTrpc = await server.trpc.agents.get.query({ name: 'twin' });
    expect(JSON.parse(JSON.stringify(viaTrpc))).toEqual(rest.body.data);
  });

  it('lists, patches and deletes with the same results as REST', async () => {
    await server.api.post('/api/agents', { name: 'listed' });
    const rest = await server.api.get('/api/agents?limit=10&offset=0');
    const viaTrpc = await server.trpc.agents.list.query({ limit: 10, offset: 0 });
    expect(JSON.parse(JSON.stringify(viaTrpc))).toEqual(rest.body.data);

    const patched = await server.trpc.agents.update.mutate({ name: 'listed', system_prompt: 'Speak softly.', model: { parameters: { temperature: 1 } } });
    expect(patched.system_prompt).toBe('Speak softly.');
    expect(JSON.parse(JSON.stringify(patched))).toEqual((await server.api.get('/api/agents/listed')).body.data);

    expect(await server.trpc.agents.delete.mutate({ name: 'listed' })).toEqual({ name: 'listed', status: 'deleted' });
    expect((await server.api.get('/api/agents/listed')).status).toBe(404);
  });

  it('carries the API error code and status to tRPC callers', async () => {
    const notFound = await trpcError(server.trpc.agents.get.query({ name: 'ghost' }));
    expect(notFound.message).toBe("Agent 'ghost' not found");
    expect(notFound.data).toMatchObject({ code: 'AGENT_NOT_FOUND', httpStatus: 404 });
    expect(notFound.data.stack).toBeUndefined();

    await server.trpc.agents.create.mutate({ name: 'once' });
    const exists = await trpcError(server.trpc.agents.create.mutate({ name: 'once' }));
    expect(exists.data).toMatchObject({ code: 'AGENT_EXISTS', httpStatus: 409 });

    const invalid = await trpcError(server.trpc.agents.create.mutate({ name: 'Not A Slug' }));
    expect(invalid.data).toMatchObject({ code: 'VALIDATION_ERROR', httpStatus: 400 });
    expect(invalid.data.details.issues[0]).toMatchObject({ path: 'name', code: 'invalid_format' });
  });

  it('keeps schemas strict for tRPC after REST calls coerced query strings', async () => {
    expect((await server.api.get('/api/agents?limit=1')).status).toBe(200);
    const error = await trpcError(server.trpc.agents.list.query({ limit: '1' as unknown as number }));
    expect(error.data).toMatchObject({ code: 'VALIDATION_ERROR' });
  });

  it('answers the health procedure', async () => {
    expect(await server.trpc.system.health.query()).toMatchObject({ status: 'ok', database: { status: 'ok' } });
  });
});
