/**
 * The tRPC client, typed by the server's AppRouter: queries and mutations over httpBatchLink, subscriptions
 * (events.subscribe, chat.stream) over SSE with httpSubscriptionLink, superjson so Dates stay Dates.
 */
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink, type TRPCClient } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from './generated/app-router.ts';
import { FetchEventSource } from './event-source.ts';

export type { AppRouter };
export type MoxxyTrpcClient = TRPCClient<AppRouter>;

export interface MoxxyTrpcClientOptions {
  /** The server (`http://127.0.0.1:17890`) or its tRPC endpoint (`http://127.0.0.1:17890/trpc`). */
  url: string;
  /** An API token (`mox_...`), sent as `Authorization: Bearer`. */
  token?: string;
  /** The server's MOXXY_INTERNAL_TOKEN, sent as `X-Moxxy-Internal-Token`. */
  internalToken?: string;
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

export function createMoxxyTrpcClient(options: MoxxyTrpcClientOptions): MoxxyTrpcClient {
  const base = options.url.replace(/\/+$/, '');
  const url = base.endsWith('/trpc') ? base : `${base}/trpc`;
  const headers: Record<string, string> = {
    ...options.headers,
    ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    ...(options.internalToken ? { 'x-moxxy-internal-token': options.internalToken } : {}),
  };
  const fetchImpl = options.fetch;
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url,
          transformer: superjson,
          EventSource: FetchEventSource,
          eventSourceOptions: () => ({ headers, ...(fetchImpl ? { fetch: fetchImpl } : {}) }),
        }),
        false: httpBatchLink({ url, transformer: superjson, headers, ...(fetchImpl ? { fetch: fetchImpl } : {}) }),
      }),
    ],
  });
}
