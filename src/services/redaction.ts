/**
 * The redaction engine: secret values (vault values, API keys) registered here are replaced by
 * [REDACTED] wherever they appear in a value — inside longer strings, in nested objects and arrays,
 * and in object keys — before events are stored or sent.
 */

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

export class Redactor {
  /** Value -> how many times it is registered (two vault keys may hold the same value). */
  private readonly secrets = new Map<string, number>();
  private pattern: RegExp | undefined;

  register(value: string): void {
    if (value.length < MIN_SECRET_LENGTH) return;
    this.secrets.set(value, (this.secrets.get(value) ?? 0) + 1);
    if (this.secrets.get(value) === 1) this.pattern = undefined;
  }

  unregister(value: string): void {
    const registered = this.secrets.get(value);
    if (registered === undefined) return;
    if (registered > 1) {
      this.secrets.set(value, registered - 1);
    } else {
      this.secrets.delete(value);
      this.pattern = undefined;
    }
  }

  get size(): number {
    return this.secrets.size;
  }

  /** Returns a copy with every registered value replaced (unchanged parts are shared), or the input when nothing matched. */
  redact<T>(value: T): Redaction<T> {
    if (this.secrets.size === 0) return { value, count: 0 };
    const state = { pattern: this.compiled(), count: 0 };
    const redacted = this.walk(value, state) as T;
    return state.count === 0 ? { value, count: 0 } : { value: redacted, count: state.count };
  }

  private compiled(): RegExp {
    // Longest first, so a secret that contains another is replaced whole.
    this.pattern ??= new RegExp(
      [...this.secrets.keys()]
        .sort((a, b) => b.length - a.length)
        .map(escapeRegExp)
        .join('|'),
      'g',
    );
    return this.pattern;
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
