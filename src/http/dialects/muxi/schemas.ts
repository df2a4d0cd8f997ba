/**
 * Seed 002's (MUXI) requests and answers, made from the domain schemas: a MUXI agent's `id` is the agent's slug
 * `name` and its `name` the display name. What the seed shows is here; a few fields the server has besides (an
 * agent's system prompt and tools on create, a reply's run and usage) come along where the domain schema has them.
 */
import { z } from 'zod';
import { Agent, AgentCreate, AgentDeleted } from '../../../domain/agents.ts';
import { ChatInput, ChatReply, HistoryInput, Message, SessionId, UserId } from '../../../domain/chat.ts';
import { Pagination, PaginationInput, Slug } from '../../../domain/common.ts';
import { Memory, MemoryAdd, MemoryListInput } from '../../../domain/memory.ts';

const AgentId = Slug.describe("The agent's id: its name in the rest of the API.");
const AgentIdParam = z.object({ agent_id: AgentId });

export const MuxiAgent = z
  .object({ id: AgentId, name: z.string().describe('A name for people; the id when the agent has none.') })
  .extend(Agent.pick({ description: true, model: true }).shape)
  .meta({ id: 'MuxiAgent' });

export const MuxiAgentList = z
  .object({
    agents: z.array(MuxiAgent),
    items: z.array(MuxiAgent).describe('The same agents, under the name every paginated list of seed 002 uses.'),
    pagination: Pagination,
  })
  .meta({ id: 'MuxiAgentList' });

export const MuxiAgentCreate = AgentCreate.omit({ name: true, display_name: true })
  .extend({ id: AgentId, name: AgentCreate.shape.display_name.describe('A name for people, e.g. "Custom Agent"; the id when none is given.') })
  .meta({ id: 'MuxiAgentCreate' });

export const MuxiAgentCreated = MuxiAgent.extend({ status: z.literal('created') }).meta({ id: 'MuxiAgentCreated' });

export const MuxiAgentDeleted = AgentDeleted.omit({ name: true }).extend({ id: AgentId }).meta({ id: 'MuxiAgentDeleted' });

export const MuxiAgentListInput = PaginationInput;
export const MuxiAgentRef = AgentIdParam;

export const MuxiChatInput = ChatInput.extend(AgentIdParam.shape);
export const MuxiChatReply = ChatReply.meta({ id: 'MuxiChatReply' });

export const MuxiHistoryInput = z.object({
  agent_id: AgentId,
  user_id: UserId,
  session_id: SessionId.describe('The session whose messages to return.'),
  limit: HistoryInput.shape.limit,
  // A time only, as the seed says; the procedure also takes a message id.
  before: z.date().optional().describe('Return messages before this timestamp (ISO 8601).'),
});

export const MuxiHistory = z
  .object({
    messages: z.array(Message.pick({ id: true, role: true, content: true, timestamp: true })).describe('Oldest first.'),
    has_more: z.boolean().describe('Whether older messages exist: ask again with `before` = the first timestamp.'),
  })
  .meta({ id: 'MuxiHistory' });

export const MuxiMemorySearchInput = z.object({
  agent_id: AgentId,
  user_id: MemoryListInput.shape.user_id.unwrap(),
  query: MemoryListInput.shape.query.unwrap().regex(/\S/, 'must not be blank'),
  limit: MemoryListInput.shape.limit.unwrap().default(10).describe('Most memories to return (1-100).'),
});

export const MuxiMemory = Memory.pick({ id: true, content: true, created_at: true, relevance_score: true })
  .required({ relevance_score: true })
  .meta({ id: 'MuxiMemory' });

export const MuxiMemoryList = z.object({ memories: z.array(MuxiMemory).describe('Best first.') }).meta({ id: 'MuxiMemoryList' });

export const MuxiMemoryAdd = MemoryAdd.extend(AgentIdParam.shape);

export const MuxiMemoryCreated = Memory.pick({ id: true })
  .extend({ status: z.literal('created'), created_at: Memory.shape.created_at })
  .meta({ id: 'MuxiMemoryCreated' });
