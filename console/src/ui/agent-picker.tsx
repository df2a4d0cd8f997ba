/** The agent an agent-scoped page is about: choosing another one changes the address, so every view has a link. */
import { moxxy } from '../api.ts';
import { navigate } from '../router.ts';
import { useLoad } from './hooks.ts';
import { Select } from './kit.tsx';

export function AgentPicker({ page, agent }: { page: string; agent: string }) {
  const agents = useLoad(() => moxxy.agents.list({ limit: 100 }), []);
  const names = agents.data?.agents.map((item) => item.name) ?? [];
  return (
    <Select
      label="Agent"
      value={agent}
      options={names.includes(agent) ? names : [agent, ...names]}
      onChange={(e) => navigate(page, e.currentTarget.value)}
    />
  );
}
