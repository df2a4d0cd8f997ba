/**
 * JSON Schema -> fast-check arbitraries, for the subset openapi.json uses: $ref, object (properties,
 * required, additionalProperties), string (pattern, format, enum, minLength/maxLength), integer/number
 * bounds, boolean, null, arrays, anyOf/oneOf/allOf, type lists and `nullable`. The contract fuzz suite
 * draws requests from these; `invalidFor` draws values a schema must refuse.
 */
import fc from 'fast-check';
import { resolveRef as resolveLocalRef } from '../../scripts/openapi-refs.ts';

export type JsonSchema = { [keyword: string]: any };

export interface ArbitraryContext {
  /** The document $refs point into (`#/components/schemas/X`). */
  root: JsonSchema;
  /**
   * Replaces the arbitrary at a property path (`['model', 'provider']`), e.g. to keep a generated URL on
   * loopback. Returning undefined keeps the schema's own arbitrary.
   */
  override?: (path: string[], schema: JsonSchema) => fc.Arbitrary<unknown> | undefined;
}

/** Nested objects deeper than this get their required properties only, so recursive schemas stay finite. */
const MAX_DEPTH = 5;
/** Generated strings and arrays stay short unless the schema demands more: requests, not load tests. */
const SPAN = 24;
const ARRAY_SPAN = 4;

/** The schema a `$ref` chain ends at (scripts/openapi-refs.ts); a reference that names nothing, or a loop, is an error. */
export function resolveRef(schema: JsonSchema, root: JsonSchema): JsonSchema {
  const resolved = resolveLocalRef(root, schema);
  if (schema?.$ref !== undefined && (resolved === undefined || typeof resolved.$ref === 'string')) throw new Error(`Unresolvable $ref ${schema.$ref}`);
  return resolved as JsonSchema;
}

function typesOf(schema: JsonSchema): string[] {
  const types: string[] = Array.isArray(schema.type) ? [...schema.type] : schema.type ? [schema.type] : [];
  if (schema.nullable === true && !types.includes('null')) types.push('null');
  return types;
}

/** A printable-first string alphabet: mostly ASCII, sometimes any Unicode grapheme (emoji, CJK, combining marks). */
const textUnit = fc.oneof({ weight: 4, arbitrary: fc.constant('grapheme-ascii' as const) }, { weight: 1, arbitrary: fc.constant('grapheme' as const) });

function stringArbitrary(schema: JsonSchema): fc.Arbitrary<string> {
  const minLength: number = schema.minLength ?? 0;
  const maxLength: number = Math.max(minLength, Math.min(schema.maxLength ?? Infinity, minLength + SPAN));
  // JSON Schema counts code points; zod (the server) counts UTF-16 units. Keeping to the tighter rule keeps valid values valid.
  const fits = (value: string) => value.length >= minLength && value.length <= (schema.maxLength ?? Infinity);
  if (schema.pattern) {
    return fc.stringMatching(new RegExp(schema.pattern), { size: 'small' }).filter(fits);
  }
  switch (schema.format) {
    case 'date-time':
      return fc
        .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
        .map((date) => date.toISOString());
    case 'uri':
    case 'url':
      // Loopback only: a generated URL must never send the server to the internet.
      return fc.webPath().map((path) => `http://127.0.0.1:9${path.startsWith('/') ? path : `/${path}`}`).filter(fits);
    case 'binary':
      return fc.string({ unit: 'binary-ascii', maxLength: 64 });
    default:
      return textUnit.chain((unit) => fc.string({ unit, minLength, maxLength })).filter(fits);
  }
}

function numberArbitrary(schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  let min: number | undefined = schema.minimum;
  let max: number | undefined = schema.maximum;
  if (typeof schema.exclusiveMinimum === 'number') min = integer ? schema.exclusiveMinimum + 1 : schema.exclusiveMinimum;
  if (typeof schema.exclusiveMaximum === 'number') max = integer ? schema.exclusiveMaximum - 1 : schema.exclusiveMaximum;
  if (integer) {
    return fc.integer({ min: Math.max(min ?? -1_000_000, Number.MIN_SAFE_INTEGER), max: Math.min(max ?? 1_000_000, Number.MAX_SAFE_INTEGER) });
  }
  const double = fc.double({ min: min ?? -1e6, max: max ?? 1e6, noNaN: true, noDefaultInfinity: true });
  return typeof schema.exclusiveMinimum === 'number' || typeof schema.exclusiveMaximum === 'number'
    ? double.filter((n) => n !== schema.exclusiveMinimum && n !== schema.exclusiveMaximum)
    : double;
}

/** Keys for `additionalProperties` maps: identifier-like, which every record in the document accepts. */
const mapKey = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,11}$/);

function objectArbitrary(schema: JsonSchema, context: ArbitraryContext, path: string[], depth: number): fc.Arbitrary<Record<string, unknown>> {
  const properties: Record<string, JsonSchema> = schema.properties ?? {};
  const required = new Set<string>(schema.required ?? []);
  const shallow = depth >= MAX_DEPTH;
  const keys = Object.keys(properties).filter((key) => required.has(key) || !shallow);
  const record = fc.record(
    Object.fromEntries(keys.map((key) => [key, arbitraryFor(properties[key]!, context, [...path, key], depth + 1)])),
    { requiredKeys: keys.filter((key) => required.has(key)) },
  );
  const extra = schema.additionalProperties;
  if (!extra || typeof extra !== 'object' || shallow) return record as fc.Arbitrary<Record<string, unknown>>;
  const values = Object.keys(extra).length ? arbitraryFor(extra, context, [...path, '*'], depth + 1) : fc.jsonValue({ maxDepth: 1 });
  return fc
    .tuple(record, fc.dictionary(mapKey, values, { maxKeys: 3 }))
    .map(([known, more]) => ({ ...more, ...known }));
}

/** Values that match `schema` (as far as this subset goes). */
export function arbitraryFor(input: JsonSchema, context: ArbitraryContext, path: string[] = [], depth = 0): fc.Arbitrary<unknown> {
  const overridden = context.override?.(path, input);
  if (overridden) return overridden;
  const schema = resolveRef(input, context.root);
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const branches: JsonSchema[] | undefined = schema.anyOf ?? schema.oneOf;
  if (branches) {
    const alternatives = branches.map((branch) => arbitraryFor(branch, context, path, depth));
    return schema.nullable ? fc.option(fc.oneof(...alternatives), { nil: null }) : fc.oneof(...alternatives);
  }
  if (schema.allOf) {
    const merged = (schema.allOf as JsonSchema[]).map((part) => resolveRef(part, context.root));
    return arbitraryFor(Object.assign({}, ...merged), context, path, depth);
  }
  const types = typesOf(schema);
  if (types.length === 0) {
    if (schema.properties) types.push('object');
    else return fc.jsonValue({ maxDepth: 2 });
  }
  const byType = types.map((type): fc.Arbitrary<unknown> => {
    switch (type) {
      case 'null':
        return fc.constant(null);
      case 'boolean':
        return fc.boolean();
      case 'integer':
        return numberArbitrary(schema, true);
      case 'number':
        return numberArbitrary(schema, false);
      case 'string':
        return stringArbitrary(schema);
      case 'array': {
        const minLength: number = schema.minItems ?? 0;
        const maxLength = Math.max(minLength, Math.min(schema.maxItems ?? Infinity, minLength + ARRAY_SPAN));
        const items = schema.items ? arbitraryFor(schema.items, context, [...path, '[]'], depth + 1) : fc.jsonValue({ maxDepth: 1 });
        return fc.array(items, { minLength, maxLength });
      }
      case 'object':
        return objectArbitrary(schema, context, path, depth);
      default:
        throw new Error(`Unsupported JSON Schema type '${type}' at ${path.join('.') || '(root)'}`);
    }
  });
  return byType.length === 1 ? byType[0]! : fc.oneof(...byType);
}

/** A JSON value of a different kind than the schema allows; undefined when the schema allows any kind. */
export function wrongTypeFor(input: JsonSchema, root: JsonSchema): fc.Arbitrary<unknown> | undefined {
  const schema = resolveRef(input, root);
  const allowed = new Set(typesOf(schema));
  if (allowed.has('integer')) allowed.add('number');
  const candidates: Array<[string, fc.Arbitrary<unknown>]> = [
    ['string', fc.string({ maxLength: 8 })],
    ['number', fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(1.5))],
    ['boolean', fc.boolean()],
    ['null', fc.constant(null)],
    ['array', fc.array(fc.integer(), { maxLength: 3 })],
    ['object', fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 })],
  ];
  const usable = candidates.filter(([type]) => allowed.size > 0 && !allowed.has(type)).map(([, arbitrary]) => arbitrary);
  return usable.length ? fc.oneof(...usable) : undefined;
}

/**
 * Strings built to upset parsers and file systems: control characters, lone surrogates, RTL marks,
 * traversal, NUL, very long, percent-encoding tricks.
 */
export const weirdString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '..',
    '../../etc/passwd',
    '%2e%2e',
    'a\u0000b',
    '\u202e\u0645\u0631\u062d\u0628\u0627',
    '\ud800',
    '😀👍🏽',
    'Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇',
    ' ',
    '%',
    '%%32%65',
    'null',
    'undefined',
    '__proto__',
    'constructor',
    '-1',
    '1e309',
    'CON',
    'a'.repeat(300),
    '\\\\server\\share',
    "'; DROP TABLE agents; --",
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }),
);
