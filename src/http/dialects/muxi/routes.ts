/** Seed 002's endpoints: for each, the procedure it runs and how its request and answer map to that procedure's. */
import type { Agent } from '../../../domain/agents.ts';
import { dialectRoute } from '../dialect.ts';
import {
  MuxiAgent,
  MuxiAgentCreate,
  MuxiAgentCreated,
  MuxiAgentDeleted,
  MuxiAgentList,
  MuxiAgentListInput,
  MuxiAgentRef,
  MuxiChatInput,
  MuxiChatReply,
  MuxiHistory,
  MuxiHistoryInput,
  MuxiMemoryAdd,
  MuxiMemoryCreated,
  MuxiMemoryList,
  MuxiMemorySearchInput,
} from './schemas.ts';

const muxiAgent = ({ name, display_name, description, model }: Agent) => ({ id: name, name: display_name ?? name, description, model });

export const muxiRoutes = [
  dialectRoute({
    operation: 'agents.list',
    method: 'GET',
    path: '/agents',
    input: MuxiAgentListInput,
    toInput: (page) => page,
    output: MuxiAgentList,
    fromOutput: ({ agents, pagination }) => {
      const listed = agents.map(muxiAgent);
      return { agents: listed, items: listed, pagination };
    },
  }),
  dialectRoute({
    operation: 'agents.create',
    method: 'POST',
    path: '/agents',
    input: MuxiAgentCreate,
    toInput: ({ id, name, ...agent }) => ({ ...agent, name: id, display_name: name }),
    output: MuxiAgentCreated,
    fromOutput: (agent) => ({ ...muxiAgent(agent), status: 'created' as const }),
  }),
  dialectRoute({
    operation: 'agents.get',
    method: 'GET',
    path: '/agents/{agent_id}',
    input: MuxiAgentRef,
    toInput: ({ agent_id }) => ({ name: agent_id }),
    output: MuxiAgent,
    fromOutput: muxiAgent,
  }),
  dialectRoute({
    operation: 'agents.delete',
    method: 'DELETE',
    path: '/agents/{agent_id}',
    input: MuxiAgentRef,
    toInput: ({ agent_id }) => ({ name: agent_id }),
    output: MuxiAgentDeleted,
    fromOutput: ({ name, status }) => ({ status, id: name }),
  }),
  dialectRoute({
    operation: 'chat.send',
    method: 'POST',
    path: '/chat/{agent_id}',
    input: MuxiChatInput,
    toInput: ({ agent_id, ...turn }) => ({ ...turn, name: agent_id }),
    output: MuxiChatReply,
    fromOutput: (reply) => reply,
  }),
  dialectRoute({
    operation: 'chat.history',
    method: 'GET',
    path: '/chat/{agent_id}/history',
    input: MuxiHistoryInput,
    toInput: ({ agent_id, ...query }) => ({ ...query, name: agent_id }),
    output: MuxiHistory,
    // The answer's schema keeps the fields the seed shows of each message.
    fromOutput: ({ messages, has_more }) => ({ messages, has_more }),
  }),
  dialectRoute({
    operation: 'memory.list',
    method: 'GET',
    path: '/memory/{agent_id}',
    input: MuxiMemorySearchInput,
    toInput: ({ agent_id, ...search }) => ({ ...search, name: agent_id }),
    output: MuxiMemoryList,
    // A query is required, so every memory comes ranked, with its score.
    fromOutput: ({ memories }) => ({ memories: memories.map((memory) => ({ ...memory, relevance_score: memory.relevance_score! })) }),
  }),
  dialectRoute({
    operation: 'memory.add',
    method: 'POST',
    path: '/memory/{agent_id}',
    input: MuxiMemoryAdd,
    toInput: ({ agent_id, ...memory }) => ({ ...memory, name: agent_id }),
    output: MuxiMemoryCreated,
    fromOutput: ({ id, created_at }) => ({ id, status: 'created' as const, created_at }),
  }),
];
