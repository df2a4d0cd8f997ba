/** Memory: an agent's memories per user, searched by relevance (with scores), added and deleted. */
import { useState } from 'preact/hooks';
import type { PageProps } from '../app.tsx';
import { moxxy } from '../api.ts';
import { AgentPicker } from '../ui/agent-picker.tsx';
import { useAction, useLoad } from '../ui/hooks.ts';
import { Empty, ErrorNotice, Field, PageHeader, Pager, TextArea, When } from '../ui/kit.tsx';

export function MemoryPage({ agent }: PageProps) {
  const [userId, setUserId] = useState('');
  const [query, setQuery] = useState('');
  const [submitted, setSubmitted] = useState('');
  const [offset, setOffset] = useState(0);
  const memories = useLoad(
    () => moxxy.memory.list({ name: agent, limit: 20, offset, ...(submitted ? { query: submitted } : {}), ...(userId ? { user_id: userId } : {}) }),
    [agent, submitted, userId, offset],
  );

  const [content, setContent] = useState('');
  const [tags, setTags] = useState('');
  const add = useAction(async () => {
    await moxxy.memory.add({ name: agent, content, ...(userId ? { user_id: userId } : {}), tags: tags.split(',').map((tag) => tag.trim()).filter(Boolean) });
    setContent('');
    setTags('');
    memories.reload();
  });
  const remove = useAction(async (id: string) => {
    await moxxy.memory.delete({ name: agent, id });
    memories.reload();
  });
  const clear = useAction(async () => {
    const whose = userId ? `the user "${userId}"` : 'every user';
    if (!confirm(`Forget all of ${agent}'s memories of ${whose}?`)) return;
    await moxxy.memory.clear({ name: agent, ...(userId ? { user_id: userId } : {}) });
    memories.reload();
  });

  return (
    <section>
      <PageHeader title="Memory">
        <AgentPicker page="memory" agent={agent} />
      </PageHeader>
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setOffset(0);
          setSubmitted(query.trim());
        }}
      >
        <Field label="Search" type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} hint="Ranked by relevance; empty lists the newest." />
        <Field label="User" value={userId} onChange={(e) => { setOffset(0); setUserId(e.currentTarget.value.trim()); }} placeholder="any" />
        <button type="submit" class="primary">
          Search
        </button>
        <button type="button" class="danger" disabled={clear.busy} onClick={() => clear.run()}>
          {userId ? `Forget ${userId}'s memories` : 'Forget all memories'}
        </button>
      </form>
      <ErrorNotice error={memories.error ?? remove.error ?? clear.error} />
      {memories.data?.mode ? <p class="muted">Ranked by {memories.data.mode === 'fts' ? 'full-text search (BM25)' : memories.data.mode === 'vector' ? 'embeddings' : 'full text and embeddings fused'}.</p> : null}
      {memories.data?.memories.length === 0 ? <Empty>{submitted ? 'Nothing matches.' : 'No memories yet.'}</Empty> : null}
      <ul class="memories" aria-label="Memories">
        {memories.data?.memories.map((memory) => (
          <li key={memory.id} class="memory">
            {memory.relevance_score !== undefined ? (
              <div class="score">
                <meter min={0} max={1} value={memory.relevance_score} aria-hidden="true" />
                <span>relevance {memory.relevance_score.toFixed(2)}</span>
              </div>
            ) : null}
            <div class="memory-body">
              <p>{memory.content}</p>
              <small class="muted">
                {memory.user_id ? `user ${memory.user_id} · ` : ''}
                {memory.tags.length ? `${memory.tags.join(', ')} · ` : ''}
                <When at={memory.created_at} />
              </small>
            </div>
            <button type="button" class="danger" aria-label={`Delete memory ${memory.id}`} disabled={remove.busy} onClick={() => remove.run(memory.id)}>
              Delete
            </button>
          </li>
        ))}
      </ul>
      {memories.data ? <Pager pagination={memories.data.pagination} onOffset={setOffset} /> : null}
      <form
        class="form"
        onSubmit={(e) => {
          e.preventDefault();
          void add.run();
        }}
      >
        <h2>Add a memory</h2>
        <TextArea label="Content" rows={3} required value={content} onInput={(e) => setContent(e.currentTarget.value)} />
        <Field label="Tags" value={tags} onInput={(e) => setTags(e.currentTarget.value)} hint={`Comma-separated. Stored for ${userId ? `the user "${userId}"` : 'no particular user'} (the User filter above).`} />
        <ErrorNotice error={add.error} />
        <button type="submit" class="primary" disabled={add.busy || content.trim() === ''}>
          Add memory
        </button>
      </form>
    </section>
  );
}
