/** A tool call waiting for a person (a run awaiting approval): what it would run, and Approve / Deny buttons that decide it. */
import { useState } from 'preact/hooks';
import type { Schema } from '@moxxy/client';
import { moxxy } from '../api.ts';
import { Badge, ErrorNotice, Json } from './kit.tsx';

type Approval = Schema<'Approval'>;

export function ApprovalCard({ approval, onDecided }: { approval: Approval; onDecided: (approval: Approval) => void }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  async function decide(decision: 'approve' | 'deny') {
    setBusy(true);
    setError(undefined);
    try {
      onDecided(await moxxy.runs.decide({ id: approval.run_id, call_id: approval.call_id, decision }));
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }
  const pending = approval.status === 'pending';
  return (
    <div class="tool-card approval" role="group" aria-label={`Approval for ${approval.tool}`}>
      <p>
        The agent wants to run <code>{approval.tool}</code> <Badge tone={pending ? 'live' : approval.status === 'approved' ? 'ok' : 'bad'}>{pending ? 'awaiting approval' : approval.status}</Badge>
      </p>
      <Json value={approval.arguments} />
      {pending ? (
        <div class="form-actions">
          <button type="button" class="primary" disabled={busy} onClick={() => decide('approve')}>
            Approve
          </button>
          <button type="button" class="danger" disabled={busy} onClick={() => decide('deny')}>
            Deny
          </button>
        </div>
      ) : null}
      <ErrorNotice error={error} />
    </div>
  );
}
