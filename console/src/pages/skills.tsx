/** Skills: an agent's skills, their code to create and edit, and a runner that invokes one with arguments. */
import { useState } from 'preact/hooks';
import { isMoxxyApiError, type Schema } from '@moxxy/client';
import type { PageProps } from '../app.tsx';
import { moxxy } from '../api.ts';
import { href, navigate } from '../router.ts';
import { AgentPicker } from '../ui/agent-picker.tsx';
import { useAction, useLoad } from '../ui/hooks.ts';
import { Badge, Check, Empty, ErrorNotice, Field, Json, Notice, PageHeader, Select, TextArea } from '../ui/kit.tsx';

type Skill = Schema<'Skill'>;
type Language = Schema<'SkillLanguage'>;
type SkillResult = Schema<'SkillResult'>;

const LANGUAGES: Language[] = ['bash', 'sh', 'python', 'node'];
const STARTER: Record<Language, string> = {
  bash: '#!/bin/bash\necho "Hello, $1"\n',
  sh: '#!/bin/sh\necho "Hello, $1"\n',
  python: 'import sys\nprint("Hello,", " ".join(sys.argv[1:]))\n',
  node: 'console.log("Hello,", process.argv.slice(2).join(" "));\n',
};

export function SkillsPage({ agent, params }: PageProps) {
  const [selected] = params;
  const skills = useLoad(() => moxxy.skills.list({ agent, limit: 100 }), [agent]);
  return (
    <section>
      <PageHeader title="Skills">
        <AgentPicker page="skills" agent={agent} />
        <a class="button primary" href={href('skills', agent, 'new')}>
          New skill
        </a>
      </PageHeader>
      <div class="split">
        <nav class="list-pane" aria-label="Skills">
          <ErrorNotice error={skills.error} />
          {skills.data?.skills.length === 0 ? <Empty>No skills.</Empty> : null}
          <ul>
            {skills.data?.skills.map((skill) => (
              <li key={skill.name}>
                <a href={href('skills', agent, skill.name)} aria-current={skill.name === selected ? 'page' : undefined}>
                  <code>{skill.name}</code> {skill.builtin ? <Badge tone="">built-in</Badge> : null}
                  <small>{skill.description}</small>
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="detail-pane">
          {selected === 'new' ? <SkillEditor key="new" agent={agent} onSaved={skills.reload} /> : null}
          {selected && selected !== 'new' ? <SkillLoader key={selected} agent={agent} name={selected} onSaved={skills.reload} /> : null}
          {!selected ? <Empty>Choose a skill to edit and run it, or make a new one.</Empty> : null}
        </div>
      </div>
    </section>
  );
}

function SkillLoader({ agent, name, onSaved }: { agent: string; name: string; onSaved(): void }) {
  const skill = useLoad(() => Promise.all([moxxy.skills.get({ agent, skill: name }), moxxy.skills.source({ agent, skill: name })]), [agent, name]);
  if (skill.error) return <ErrorNotice error={skill.error} />;
  if (!skill.data) return <p>Loading…</p>;
  const [data, source] = skill.data;
  return (
    <>
      <SkillEditor agent={agent} skill={data} code={source.code} onSaved={onSaved} />
      <SkillRunner agent={agent} skill={data} />
    </>
  );
}

function SkillEditor({ agent, skill, code: savedCode, onSaved }: { agent: string; skill?: Skill; code?: string; onSaved(): void }) {
  const readOnly = skill?.builtin === true;
  const [name, setName] = useState(skill?.name ?? '');
  const [description, setDescription] = useState(skill?.description ?? '');
  const [language, setLanguage] = useState<Language>(skill && skill.language !== 'builtin' ? skill.language : 'bash');
  const [code, setCode] = useState(savedCode ?? STARTER.bash);
  const [network, setNetwork] = useState(skill?.needs_network ?? false);
  const [fsRead, setFsRead] = useState(skill?.needs_fs_read ?? false);
  const [fsWrite, setFsWrite] = useState(skill?.needs_fs_write ?? false);
  const [saved, setSaved] = useState(false);

  const save = useAction(async () => {
    const fields = { description, code, language, needs_network: network, needs_fs_read: fsRead, needs_fs_write: fsWrite };
    if (skill) {
      await moxxy.skills.update({ agent, skill: skill.name, ...fields });
      setSaved(true);
    } else {
      await moxxy.skills.create({ agent, name, ...fields });
      navigate('skills', agent, name);
    }
    onSaved();
  });
  const remove = useAction(async () => {
    if (!skill || !confirm(`Delete the skill "${skill.name}"?`)) return;
    await moxxy.skills.delete({ agent, skill: skill.name });
    onSaved();
    navigate('skills', agent);
  });

  return (
    <form
      class="form"
      onSubmit={(e) => {
        e.preventDefault();
        setSaved(false);
        void save.run();
      }}
    >
      <h2>{skill ? `Skill ${skill.name}` : 'New skill'}</h2>
      {readOnly ? <Notice>A built-in skill: it can be run, not changed.</Notice> : null}
      {skill ? null : <Field label="Name" required pattern="[a-z0-9][a-z0-9_\-]{0,63}" value={name} onInput={(e) => setName(e.currentTarget.value)} />}
      <Field label="Description" value={description} readOnly={readOnly} onInput={(e) => setDescription(e.currentTarget.value)} />
      <Select
        label="Language"
        value={language}
        disabled={readOnly}
        options={LANGUAGES}
        onChange={(e) => {
          const next = e.currentTarget.value as Language;
          if (code === STARTER[language]) setCode(STARTER[next]);
          setLanguage(next);
        }}
      />
      <TextArea label="Code" class="code-input" rows={12} spellcheck={false} readOnly={readOnly} value={code} onInput={(e) => setCode(e.currentTarget.value)} />
      <fieldset>
        <legend>Capabilities (the sandbox allows only these)</legend>
        <Check label="Network" disabled={readOnly} checked={network} onChange={(e) => setNetwork(e.currentTarget.checked)} />
        <Check label="Read the host's files" disabled={readOnly} checked={fsRead} onChange={(e) => setFsRead(e.currentTarget.checked)} />
        <Check label="Write its working directory" disabled={readOnly} checked={fsWrite} onChange={(e) => setFsWrite(e.currentTarget.checked)} />
      </fieldset>
      <ErrorNotice error={save.error ?? remove.error} />
      {saved ? <Notice tone="ok">Saved.</Notice> : null}
      {readOnly ? null : (
        <div class="form-actions">
          <button type="submit" class="primary" disabled={save.busy}>
            {skill ? 'Save' : 'Create skill'}
          </button>
          {skill ? (
            <button type="button" class="danger" disabled={remove.busy} onClick={() => remove.run()}>
              Delete
            </button>
          ) : null}
        </div>
      )}
    </form>
  );
}

/** Arguments as typed: a JSON array or object as is, anything else as words (argv). */
function parseArgs(text: string): string[] | Record<string, unknown> {
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) return JSON.parse(trimmed) as string[] | Record<string, unknown>;
  return trimmed === '' ? [] : trimmed.split(/\s+/);
}

function SkillRunner({ agent, skill }: { agent: string; skill: Skill }) {
  const [args, setArgs] = useState('');
  const [result, setResult] = useState<SkillResult | undefined>(undefined);
  const invoke = useAction(async () => {
    setResult(undefined);
    setResult(await moxxy.skills.invoke({ agent, skill: skill.name, args: parseArgs(args) }));
  });
  // A failing skill answers 422 SKILL_FAILED with its output in the details: shown like a result.
  const failure = isMoxxyApiError(invoke.error, 'SKILL_FAILED') ? (invoke.error.details as Partial<SkillResult> | undefined) : undefined;
  const shown = result ?? failure;
  return (
    <form
      class="form runner"
      onSubmit={(e) => {
        e.preventDefault();
        void invoke.run();
      }}
    >
      <h2>Run {skill.name}</h2>
      <Field label="Arguments" value={args} onInput={(e) => setArgs(e.currentTarget.value)} placeholder='world  or  ["a b", "c"]  or  {"key": "value"}' hint={`Words become argv; a JSON array too; a JSON object goes to stdin. ${skill.usage_example ? `Example: ${skill.usage_example}` : ''}`} />
      <button type="submit" class="primary" disabled={invoke.busy}>
        {invoke.busy ? 'Running…' : 'Run'}
      </button>
      {failure ? null : <ErrorNotice error={invoke.error} />}
      {shown ? (
        <div class="result" aria-live="polite">
          <dl class="facts">
            <dt>Exit code</dt>
            <dd>
              <Badge tone={shown.exit_code === 0 ? 'ok' : 'bad'}>{String(shown.exit_code)}</Badge>
            </dd>
            <dt>Time</dt>
            <dd>{shown.execution_time_ms} ms</dd>
            {shown.sandbox ? (
              <>
                <dt>Sandbox</dt>
                <dd>{shown.sandbox}</dd>
              </>
            ) : null}
            {shown.timed_out ? (
              <>
                <dt>Timed out</dt>
                <dd>yes</dd>
              </>
            ) : null}
          </dl>
          <h3>Output{shown.truncated ? ' (cut at the limit)' : ''}</h3>
          <Json value={shown.output ?? ''} />
        </div>
      ) : null}
    </form>
  );
}
