/** Chat router: a turn, its stream, history and sessions. */
import { ChatInput, ChatReply, ChatStreamChunk, ChatStreamInput, History, HistoryInput, SessionList, SessionsInput } from '../domain/chat.ts';
import { AgentRef } from '../domain/agents.ts';
import { procedure, router } from './trpc.ts';
import { chatChunks } from '../services/runtime/stream.ts';

const tags: ['chat'] = ['chat'];
const TurnInput = ChatInput.extend(AgentRef.shape);

export const chatRouter = router({
  send: procedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/agents/{name}/chat',
        tags,
        summary: 'Send a message and get the answer',
        description:
          'Runs one turn (model and tool calls) and answers when it ends, or at once with `status: "awaiting_approval"` and `pending_approval` ' +
          'when a tool call waits for a person (decide it with POST /api/runs/{run_id}/approvals/{call_id}). 409 SESSION_BUSY when the session ' +
          'already has a run going.',
        errors: ['AGENT_NOT_FOUND', 'SESSION_BUSY', 'PROVIDER_ERROR', 'PROVIDER_NOT_CONFIGURED', 'CONFIG_UNRESOLVED'],
        scope: 'chat',
        rateLimit: 'chat',
      },
    })
    .input(TurnInput)
    .output(ChatReply)
    .mutation(({ ctx, input: { name, ...turn } }) => ctx.services.runtime.chat({ ...turn, agent: name, source: 'api' })),

  /** The streamed turn for tRPC callers: the same chunks as GET /api/agents/{name}/chat/stream, and the same cancel on leaving. */
  stream: procedure
    .meta({ scope: 'chat', rateLimit: 'chat' })
    .input(ChatStreamInput.extend(AgentRef.shape))
    .subscription(async function* ({ ctx, input: { name, keep_running, ...turn }, signal }) {
      const handle = await ctx.services.runtime.start({ ...turn, agent: name, source: 'stream' });
      const cancel = () => void ctx.services.runtime.cancel(handle.run.id).catch(() => undefined);
      for await (const chunk of chatChunks(handle, { signal, onAbandoned: keep_running ? undefined : cancel })) {
        if (signal?.aborted) return;
        yield ChatStreamChunk.parse(chunk);
      }
    }),

  history: procedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/agents/{name}/chat/history',
        tags,
        summary: 'Chat history, oldest first',
        description: 'Filter by session_id and/or user_id; page backwards with `before=<next_cursor>` while has_more is true (`before` also takes a time).',
        errors: ['AGENT_NOT_FOUND'],
        scope: 'chat',
        rateLimit: 'read',
      },
    })
    .input(HistoryInput)
    .output(History)
    .query(async ({ ctx, input: { name, ...query } }) => {
      await ctx.services.agents.get(name);
      return ctx.services.conversations.history(name, query);
    }),

  sessions: procedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/agents/{name}/sessions',
        tags,
        summary: 'List the agent\'s sessions, most recent first',
        errors: ['AGENT_NOT_FOUND'],
        scope: 'chat',
        rateLimit: 'read',
      },
    })
    .input(SessionsInput)
    .output(SessionList)
    .query(async ({ ctx, input: { name, user_id, ...page } }) => {
      await ctx.services.agents.get(name);
      return ctx.services.conversations.sessions(name, user_id, page);
    }),
});
