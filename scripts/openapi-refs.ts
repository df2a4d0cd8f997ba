/** Local `$ref`s of an OpenAPI document (`#/components/...`), followed one way by the client generators and the tests. */

type Json = Record<string, any>;

/** The node a local JSON pointer (`#/a/b~1c`) names, or undefined (also for a reference outside the document). */
export function lookupRef(document: Json, ref: string): Json | undefined {
  if (!ref.startsWith('#/')) return undefined;
  return ref
    .slice(2)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<any>((node, key) => node?.[key], document);
}

/**
 * The schema itself, or what its `$ref` chain ends at (32 hops at most: past that, the last `$ref` node is returned
 * and the caller sees a loop); undefined when a reference names nothing.
 */
export function resolveRef(document: Json, schema: Json | undefined): Json | undefined {
  let current = schema;
  for (let hops = 0; typeof current?.$ref === 'string' && hops < 32; hops++) current = lookupRef(document, current.$ref);
  return current;
}
