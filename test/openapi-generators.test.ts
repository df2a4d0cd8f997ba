/**
 * openapi.json through the eyes of third-party client generators. openapi-python-client, openapi-generator and
 * openapi-typescript (with `enum: true`) name every inline enum or object after where it appears (`Skill.language` ->
 * `SkillLanguage`, union members -> `ChatStreamChunkType0`), and drop or refuse models whose names clash. So every
 * union member that is an object is a named component, and no inline schema gets a component's name.
 */
import { readFileSync } from 'node:fs';
import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript';
import { describe, expect, it } from 'vitest';

type Schema = Record<string, any>;

const document = JSON.parse(readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8')) as Schema;
const components = document.components.schemas as Record<string, Schema>;
const componentNames = Object.keys(components);

const pascal = (text: string) =>
  text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');

const isModel = (schema: Schema) => schema.type === 'object' && schema.properties !== undefined;

/** The names generators give the inline schemas of a component, and what in it they would have to leave anonymous. */
function inlineSchemas(schema: Schema, name: string, found: { named: string[]; anonymousMembers: string[] }, root = true) {
  if (typeof schema !== 'object' || schema === null || '$ref' in schema) return found;
  if (!root && (Array.isArray(schema.enum) || isModel(schema))) found.named.push(name);
  for (const keyword of ['anyOf', 'oneOf'] as const) {
    (schema[keyword] as Schema[] | undefined)?.forEach((member, index) => {
      if (isModel(member)) found.anonymousMembers.push(`${name}.${keyword}[${index}]`);
      inlineSchemas(member, `${name}Type${index}`, found, false);
    });
  }
  for (const [property, value] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) inlineSchemas(value, name + pascal(property), found, false);
  if (schema.items) inlineSchemas(schema.items, `${name}Item`, found, false);
  if (typeof schema.additionalProperties === 'object') inlineSchemas(schema.additionalProperties, `${name}AdditionalProperty`, found, false);
  return found;
}

describe('openapi.json for client generators', () => {
  const inline = componentNames.reduce((found, name) => inlineSchemas(components[name]!, name, found), { named: [] as string[], anonymousMembers: [] as string[] });

  it('names every object that is a member of a union (chat stream chunks, run steps), so generators make one model each', () => {
    expect(inline.anonymousMembers).toEqual([]);
    expect(components.ChatStreamChunk!.anyOf.map((member: Schema) => member.$ref)).toEqual([
      '#/components/schemas/ChatStreamDone',
      '#/components/schemas/ChatStreamToolCall',
      '#/components/schemas/ChatStreamToolResult',
      '#/components/schemas/ChatStreamApproval',
      '#/components/schemas/ChatStreamContent',
    ]);
  });

  it('gives no inline enum or object the name of a component (Skill.language is SkillRuntime, not a second SkillLanguage)', () => {
    expect(inline.named.filter((name) => componentNames.includes(name))).toEqual([]);
    expect(components.Skill!.properties.language).toEqual({ $ref: '#/components/schemas/SkillRuntime' });
    expect(components.SkillRuntime!.enum).toEqual([...components.SkillLanguage!.enum, 'builtin']);
  });

  it('generates with openapi-typescript (TypeScript enums named by place) into one declaration per name, every component included', async () => {
    const output = astToString(
      await openapiTS(structuredClone(document) as OpenAPI3, { silent: true, enum: true, rootTypes: true, rootTypesKeepCasing: true }),
    );
    const declared = [...output.matchAll(/^export (?:enum|type|interface) (\w+)/gm)].map((match) => match[1]!);
    expect(declared.filter((name, index) => declared.indexOf(name) !== index)).toEqual([]);
    // Enum components come out as the TypeScript enum of their own name, the others as Schema<Name>.
    const missing = componentNames.filter((name) => !declared.includes(Array.isArray(components[name]!.enum) ? name : `Schema${name}`));
    expect(missing).toEqual([]);
    expect(declared).toEqual(expect.arrayContaining(['SkillLanguage', 'SkillRuntime', 'SchemaSkill', 'SchemaSkillList', 'SchemaChatStreamContent']));
  });
});
