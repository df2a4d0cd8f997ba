/** The console's small building blocks: notices, labelled fields, badges, times, JSON and page headers. */
import type { ComponentChildren, InputHTMLAttributes, SelectHTMLAttributes, TextareaHTMLAttributes } from 'preact';
import { useId } from 'preact/hooks';
import { describeProblem } from '../errors.ts';

export function ErrorNotice({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  const problem = describeProblem(error);
  return (
    <div class="notice error" role="alert">
      <strong>{problem.title}</strong>
      {problem.code ? <code class="code">{problem.code}</code> : null}
      {problem.detail ? <p>{problem.detail}</p> : null}
    </div>
  );
}

export function Notice({ children, tone = 'info' }: { children: ComponentChildren; tone?: 'info' | 'warn' | 'ok' }) {
  return (
    <div class={`notice ${tone}`} role="status">
      {children}
    </div>
  );
}

type InputProps = InputHTMLAttributes<HTMLInputElement> & { label: string; hint?: string };

/** A labelled input; `hint` is read out with it. */
export function Field({ label, hint, ...input }: InputProps) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} aria-describedby={hint ? `${id}-hint` : undefined} {...input} />
      {hint ? <small id={`${id}-hint`}>{hint}</small> : null}
    </div>
  );
}

export function TextArea({ label, hint, ...area }: TextareaHTMLAttributes<HTMLTextAreaElement> & { label: string; hint?: string }) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <textarea id={id} aria-describedby={hint ? `${id}-hint` : undefined} {...area} />
      {hint ? <small id={`${id}-hint`}>{hint}</small> : null}
    </div>
  );
}

export function Select({ label, options, ...select }: SelectHTMLAttributes<HTMLSelectElement> & { label: string; options: ReadonlyArray<string | [string, string]> }) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} {...select}>
        {options.map((option) => {
          const [value, text] = typeof option === 'string' ? [option, option] : option;
          return (
            <option key={value} value={value}>
              {text}
            </option>
          );
        })}
      </select>
    </div>
  );
}

interface CheckProps {
  label: string;
  hint?: string | undefined;
  checked: boolean;
  disabled?: boolean;
  onChange(event: Event & { currentTarget: HTMLInputElement }): void;
}

export function Check({ label, hint, checked, disabled, onChange }: CheckProps) {
  const id = useId();
  return (
    <div class="check">
      <input id={id} type="checkbox" aria-describedby={hint ? `${id}-hint` : undefined} checked={checked} disabled={disabled} onChange={onChange} />
      <label for={id}>{label}</label>
      {hint ? <small id={`${id}-hint`}>{hint}</small> : null}
    </div>
  );
}

const TONES: Record<string, string> = {
  completed: 'ok', running: 'live', queued: 'live', failed: 'bad', cancelled: 'warn',
  connected: 'ok', connecting: 'live', error: 'bad', disconnected: 'warn', stopped: 'warn',
  accepted: 'ok', rejected: 'bad', enabled: 'ok', disabled: 'warn', revoked: 'warn',
};

/** A status in words, coloured by what it means (and never only by colour). */
export function Badge({ children, tone }: { children: string; tone?: string }) {
  return <span class={`badge ${tone ?? TONES[children] ?? ''}`}>{children}</span>;
}

/** A time as the person's locale writes it, the exact instant in its title. */
export function When({ at }: { at: string | null | undefined }) {
  if (!at) return <span class="muted">—</span>;
  const date = new Date(at);
  return (
    <time dateTime={at} title={date.toISOString()}>
      {date.toLocaleString()}
    </time>
  );
}

export function Json({ value }: { value: unknown }) {
  return <pre class="json">{typeof value === 'string' ? value : JSON.stringify(value, null, 2)}</pre>;
}

export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <header class="page-header">
      <h1 tabIndex={-1}>{title}</h1>
      {children ? <div class="actions">{children}</div> : null}
    </header>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/** Previous / next for `{pagination}` lists. */
export function Pager({ pagination, onOffset }: { pagination: { total: number; limit: number; offset: number; next_offset: number | null }; onOffset(offset: number): void }) {
  const { total, limit, offset, next_offset } = pagination;
  if (total <= limit && offset === 0) return null;
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - limit))}>
        Previous
      </button>
      <span>
        {offset + 1}–{Math.min(offset + limit, total)} of {total}
      </span>
      <button type="button" disabled={next_offset === null} onClick={() => next_offset !== null && onOffset(next_offset)}>
        Next
      </button>
    </nav>
  );
}

/** A list as a table: a caption for screen readers, column headers, and the rows given as children. */
export function Table({ caption, columns, children }: { caption: string; columns: readonly string[]; children: ComponentChildren }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="sr-only">{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col" key={column}>
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
