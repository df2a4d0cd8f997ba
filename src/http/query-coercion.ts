/**
 * Reads query-string values (always strings) into the types an input schema expects, by looking at the
 * schema, never by changing it: tRPC callers keep strict types, REST callers may send `?limit=10&flag=false`.
 * Values that do not convert are left as they are, so the schema reports them.
 */
import type { z } from 'zod';

type Kind = 'number' | 'boolean' | 'date' | 'array' | 'other';

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  options?: z.ZodType[];
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if (def.innerType && ['optional', 'nullable', 'default', 'prefault', 'catch', 'readonly', 'nonoptional'].includes(def.type)) {
      current = def.innerType;
    } else if (def.type === 'pipe' && def.in) {
      current = def.in;
    } else {
      return current;
    }
  }
}

function kindOf(schema: z.ZodType): { kind: Kind; element?: z.ZodType } {
  const inner = unwrap(schema);
  const def = defOf(inner);
  switch (def.type) {
    case 'number':
    case 'int':
    case 'bigint':
      return { kind: 'number' };
    case 'boolean':
      return { kind: 'boolean' };
    case 'date':
      return { kind: 'date' };
    case 'array':
      return { kind: 'array', element: def.element };
    // `before=msg_...` or `before=2025-01-01T00:00:00Z`: a value that does not convert stays a string for the other options.
    case 'union':
      return (def.options ?? []).map(kindOf).find(({ kind }) => kind !== 'other' && kind !== 'array') ?? { kind: 'other' };
    default:
      return { kind: 'other' };
  }
}

const NUMERIC = /^-?(?:\d+|\d*\.\d+)(?:e[+-]?\d+)?$/i;

function coerceScalar(value: unknown, kind: Kind): unknown {
  if (typeof value !== 'string') return value;
  switch (kind) {
    case 'number':
      return NUMERIC.test(value.trim()) ? Number(value) : value;
    case 'boolean':
      if (value === 'true' || value === '1') return true;
      if (value === 'false' || value === '0') return false;
      return value;
    case 'date': {
      const date = new Date(value);
      return Number.isNaN(date.getTime()) ? value : date;
    }
    default:
      return value;
  }
}

export type QueryCoercer = (query: Record<string, unknown>) => Record<string, unknown>;

/** Builds, once per route, a function that converts a parsed query string for this input schema into a new object. */
export function buildQueryCoercer(schema: z.ZodType | undefined): QueryCoercer {
  if (!schema) return (query) => ({ ...query });
  const def = defOf(unwrap(schema));
  if (def.type !== 'object' || !def.shape) return (query) => ({ ...query });
  const fields = new Map(Object.entries(def.shape).map(([key, field]) => [key, kindOf(field)]));
  return (query) => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(query)) {
      const field = fields.get(key);
      if (!field) {
        out[key] = value;
      } else if (field.kind === 'array') {
        // `?event_type=` is the empty list, as OpenAPI writes one (form style, not exploded).
        const items = Array.isArray(value) ? value : value === '' ? [] : String(value).split(',');
        const element = field.element ? kindOf(field.element).kind : 'other';
        out[key] = items.map((item) => coerceScalar(item, element));
      } else {
        out[key] = coerceScalar(Array.isArray(value) ? value[value.length - 1] : value, field.kind);
      }
    }
    return out;
  };
}
