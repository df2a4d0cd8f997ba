/**
 * An agent's `allowed_tools`: names and patterns (`*`, `memory.*`), and the agent's tool catalogue (GET
 * /api/agents/{name}/tools) to tick. Host tools are marked: only their exact name grants them, and granting one
 * needs the `admin` scope or the internal token.
 */
import { useState } from 'preact/hooks';
import type { Schema } from '@moxxy/client';

type AgentTool = Schema<'AgentTool'>;

/** The pattern in the list that covers a tool other than by its exact name, as the server reads `allowed_tools`. */
function coveringPattern(patterns: readonly string[], tool: AgentTool): string | undefined {
  if (tool.host_tool) return undefined;
  return patterns.find((pattern) => pattern === '*' || (pattern.endsWith('.*') && tool.name.startsWith(pattern.slice(0, -1))));
}

const KIND_LABELS: Record<AgentTool['kind'], string> = { primitive: 'Primitives', skill: 'Skills', mcp: 'MCP tools' };

export function ToolsEditor({
  value,
  onChange,
  catalogue,
  canGrantHostTools,
}: {
  value: string[];
  onChange(next: string[]): void;
  catalogue: AgentTool[] | undefined;
  canGrantHostTools: boolean;
}) {
  const [pattern, setPattern] = useState('');
  const add = (name: string) => {
    const trimmed = name.trim();
    if (trimmed && !value.includes(trimmed)) onChange([...value, trimmed]);
  };
  const remove = (name: string) => onChange(value.filter((item) => item !== name));

  return (
    <div class="tools-editor">
      <div class="field">
        <span id="allowed-tools-label" class="label">
          Allowed tools
        </span>
        <ul class="chips" aria-labelledby="allowed-tools-label">
          {value.length === 0 ? <li class="muted">None: the agent calls no tools.</li> : null}
          {value.map((item) => (
            <li key={item} class="chip">
              <code>{item}</code>
              <button type="button" aria-label={`Remove ${item}`} onClick={() => remove(item)}>
                ×
              </button>
            </li>
          ))}
        </ul>
      </div>
      <div class="inline">
        <div class="field">
          <label for="tool-pattern">Add a tool or pattern</label>
          <input
            id="tool-pattern"
            value={pattern}
            placeholder="memory.*"
            aria-describedby="tool-pattern-hint"
            onInput={(e) => setPattern(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key !== 'Enter') return;
              e.preventDefault();
              add(pattern);
              setPattern('');
            }}
          />
          <small id="tool-pattern-hint">
            <code>*</code> allows every tool but host tools; <code>memory.*</code> or <code>mcp.github.*</code> a family.
          </small>
        </div>
        <button
          type="button"
          onClick={() => {
            add(pattern);
            setPattern('');
          }}
        >
          Add
        </button>
      </div>
      {catalogue ? (
        (['primitive', 'skill', 'mcp'] as const).map((kind) => {
          const tools = catalogue.filter((tool) => tool.kind === kind);
          if (tools.length === 0) return null;
          return (
            <fieldset key={kind} class="catalogue">
              <legend>{KIND_LABELS[kind]}</legend>
              {tools.map((tool) => {
                const exact = value.includes(tool.name);
                const covering = coveringPattern(value, tool);
                const locked = tool.host_tool && !exact && !canGrantHostTools;
                const id = `tool-${tool.name}`;
                return (
                  <div key={tool.name} class="check tool">
                    <input id={id} type="checkbox" checked={exact || covering !== undefined} disabled={locked || (!exact && covering !== undefined)} onChange={() => (exact ? remove(tool.name) : add(tool.name))} aria-describedby={`${id}-about`} />
                    <label for={id}>
                      <code>{tool.name}</code>
                      {tool.host_tool ? <span class="badge bad">host power</span> : null}
                    </label>
                    <small id={`${id}-about`}>
                      {tool.description}
                      {covering ? ` Allowed by ${covering}.` : ''}
                      {tool.host_tool ? ' Runs commands on the host: only its exact name grants it, and granting it needs the admin scope or the internal token.' : ''}
                      {locked ? ' You cannot grant it with this session.' : ''}
                    </small>
                  </div>
                );
              })}
            </fieldset>
          );
        })
      ) : (
        <p class="muted">Save the agent to pick from its skills and MCP tools.</p>
      )}
    </div>
  );
}
