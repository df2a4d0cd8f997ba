/**
 * The redaction engine: secret values (vault values, API keys, tokens, the master key) registered here are replaced
 * by [REDACTED] wherever they appear — as is or JSON-escaped, URL-encoded, base64 or base64url (secret-forms.ts) —
 * in whole values (events, errors, run records, log lines) and in text streamed a chunk at a time (model output).
 */
import { secretForms } from './secret-forms.ts';
import { SecretPrefixes } from './secret-prefixes.ts';

export const REDACTED = '[REDACTED]';
/** Shorter values would redact ordinary words and numbers everywhere. */
export const MIN_SECRET_LENGTH = 4;

export interface Redaction<T> {
  value: T;
  /** How many occurrences were replaced; 0 means `value` is the input itself. */
  count: number;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The forms of every registered secret, compiled once per change of the set (never per value or chunk). */
class Matcher {
  /** Longest first, so where one form starts another, the longer is replaced whole. */
  readonly pattern: RegExp;
  private automaton: SecretPrefixes | undefined;

  constructor(private readonly forms: string[]) {
    this.pattern = new RegExp(forms.map(escapeRegExp).join('|'), 'g');
  }

  /** Built on first use: only streams need it. */
  get prefixes(): SecretPrefixes {
    this.automaton ??= new SecretPrefixes(this.forms);
    return this.automaton;
  }
}

export class Redactor {
  /** Value -> how many times it is registered (two vault keys may hold the same value). */
  private readonly secrets = new Map<string, number>();
  /** Values held on behalf of an owner (a channel, an MCP server), replaced or released as one. */
  private readonly held = new Map<string, readonly string[]>();
  private compiled: Matcher | undefined;

  /** Registers `values` as what `owner` holds, releasing what it held before; `[]` releases everything it held. */
  hold(owner: string, values: readonly string[]): void {
    for (const value of this.held.get(owner) ?? []) this.unregister(value);
    for (const value of values) this.register(value);
    if (values.length > 0) this.held.set(owner, values);
    else this.held.delete(owner);
  }

  register(value: string): void {
    if (value.length < MIN_SECRET_LENGTH) return;
    this.secrets.set(value, (this.secrets.get(value) ?? 0) + 1);
    if (this.secrets.get(value) === 1) this.compiled = undefined;
  }

  unregister(value: string): void {
    const registered = this.secrets.get(value);
    if (registered === undefined) return;
    if (registered > 1) {
      this.secrets.set(value, registered - 1);
    } else {
      this.secrets.delete(value);
      this.compiled = undefined;
    }
  }

  get size(): number {
    return this.secrets.size;
  }

  /** Returns a copy with every registered value replaced (unchanged parts are shared), or the input when nothing matched. */
  redact<T>(value: T): Redaction<T> {
    const matcher = this.matcher();
    if (matcher === undefined) return { value, count: 0 };
    const state = { pattern: matcher.pattern, count: 0 };
    const redacted = this.walk(value, state) as T;
    return state.count === 0 ? { value, count: 0 } : { value: redacted, count: state.count };
  }

  /** A redactor for one stream of text chunks (a model's answer): see StreamRedactor. */
  stream(): StreamRedactor {
    return new StreamRedactor(() => this.matcher());
  }

  /** The compiled forms, or undefined when no secret is registered. */
  private matcher(): Matcher | undefined {
    if (this.secrets.size === 0) return undefined;
    if (this.compiled === undefined) {
      const forms = new Set([...this.secrets.keys()].flatMap((secret) => secretForms(secret, MIN_SECRET_LENGTH)));
      this.compiled = new Matcher([...forms].sort((a, b) => b.length - a.length));
    }
    return this.compiled;
  }

  private walk(value: unknown, state: { pattern: RegExp; count: number }): unknown {
    if (typeof value === 'string') {
      return value.replace(state.pattern, () => {
        state.count++;
        return REDACTED;
      });
    }
    if (Array.isArray(value)) {
      const before = state.count;
      const items = value.map((item) => this.walk(item, state));
      return state.count === before ? value : items;
    }
    if (isPlainObject(value)) {
      const before = state.count;
      const entries = Object.entries(value).map(([key, item]) => [this.walk(key, state), this.walk(item, state)]);
      return state.count === before ? value : Object.fromEntries(entries);
    }
    return value;
  }
}

/**
 * Redacts text that arrives in chunks, so a secret split across them is caught whole: what push() returns is final.
 * It holds back the end of the text that could still grow into a secret (the longest end that starts one of the
 * forms, found by SecretPrefixes), and releases it once the next chunk shows what it is. A form found before that
 * held end is final (no longer form can start there), so the joined output is what redact() makes of the joined
 * input; flush() releases the rest, redacting an unfinished form too when more than half of it shows (a secret
 * cut short is then mostly the secret). With no secret registered a chunk is returned as it is.
 */
export class StreamRedactor {
  private held = '';
  private matcher: Matcher | undefined;
  /** The automaton's state after everything pushed, against `matcher`. */
  private state = 0;
  private replaced = 0;

  /** `compiled` answers the redactor's current forms: secrets may be registered while a stream runs. */
  constructor(private readonly compiled: () => Matcher | undefined) {}

  /** How many occurrences were replaced so far. */
  get count(): number {
    return this.replaced;
  }

  /** The text that is now known to be safe to show, possibly empty. */
  push(chunk: string): string {
    const matcher = this.current();
    const text = this.held + chunk;
    if (matcher === undefined) {
      this.held = '';
      return text;
    }
    this.state = matcher.prefixes.advance(this.state, chunk);
    const undecided = text.length - matcher.prefixes.openLength(this.state, text.length);
    // All of it may still be a secret (one arriving a character at a time): nothing to look at again yet.
    if (undecided === 0) {
      this.held = text;
      return '';
    }
    const { redacted, end } = this.replaceStartingBefore(matcher, text, undecided);
    const boundary = Math.max(undecided, end);
    this.held = text.slice(boundary);
    return redacted + text.slice(end, boundary);
  }

  /** Everything held back, redacted; the stream is over (a later push starts a new one). */
  flush(): string {
    const matcher = this.current();
    const text = this.held;
    this.held = '';
    if (matcher === undefined || text === '') {
      this.state = 0;
      return text;
    }
    const { redacted, end } = this.replaceStartingBefore(matcher, text, text.length);
    const unfinished = matcher.prefixes.mostlyShownLength(this.state, text.length - end);
    this.state = 0;
    if (unfinished === 0) return redacted + text.slice(end);
    this.replaced++;
    return `${redacted}${text.slice(end, text.length - unfinished)}${REDACTED}`;
  }

  /** The compiled forms; when the set changed, what is held is read again by the new automaton. */
  private current(): Matcher | undefined {
    const matcher = this.compiled();
    if (matcher !== this.matcher) {
      this.matcher = matcher;
      this.state = matcher === undefined ? 0 : matcher.prefixes.advance(0, this.held);
    }
    return matcher;
  }

  /** `text` up to the end of the last form that starts before `limit`, with the forms replaced; a form may end after `limit`. */
  private replaceStartingBefore(matcher: Matcher, text: string, limit: number): { redacted: string; end: number } {
    const { pattern } = matcher;
    pattern.lastIndex = 0;
    let redacted = '';
    let end = 0;
    for (let found = pattern.exec(text); found !== null && found.index < limit; found = pattern.exec(text)) {
      redacted += text.slice(end, found.index) + REDACTED;
      end = pattern.lastIndex;
      this.replaced++;
    }
    return { redacted, end };
  }
}

/**
 * pino hooks that redact each log line as it is written — message, error stacks and bindings alike, the secrets'
 * JSON-escaped forms included: `pino({ level, hooks: redactingLogHooks(redactor) })`.
 */
export function redactingLogHooks(redactor: Redactor): { streamWrite(line: string): string } {
  return { streamWrite: (line) => redactor.redact(line).value };
}
