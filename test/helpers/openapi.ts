/**
 * The contract check every suite uses: each REST response must match the generated OpenAPI document
 * (the operation's response for that status, or the ErrorEnvelope for routes the document does not have).
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { openApiDocument as buildDocument } from '../../src/http/openapi-document.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

export const openApiDocument = buildDocument() as unknown as {
  paths: Record<string, Record<string, { operationId: string; responses: Record<string, { content?: Record<string, unknown> }> }>>;
  components: Record<string, unknown>;
};

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(openApiDocument as object, 'openapi.json');

const pointer = (...segments: string[]) => segments.map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

interface Template {
  path: string;
  regex: RegExp;
}

const templates: Template[] = Object.keys(openApiDocument.paths).map((path) => ({
  path,
  regex: new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{\w+\\?\}/g, '[^/]+')}/?$`),
}));

export function findOperation(method: string, url: string): { path: string; method: string } | undefined {
  const path = new URL(url, 'http://x').pathname;
  const lower = method.toLowerCase();
  const match = templates.find((t) => t.regex.test(path) && openApiDocument.paths[t.path]?.[lower]);
  return match ? { path: match.path, method: lower } : undefined;
}

const validators = new Map<string, ReturnType<Ajv2020['compile']>>();

function validatorFor(ref: string) {
  let validate = validators.get(ref);
  if (!validate) {
    validate = ajv.compile({ $ref: ref });
    validators.set(ref, validate);
  }
  return validate;
}

/** Throws, with the reasons, when a response does not match the document. */
export function assertMatchesOpenApi(method: string, url: string, status: number, contentType: string | null, body: unknown): void {
  const operation = findOperation(method, url);
  let ref: string;
  if (!operation) {
    if (status < 400) throw new Error(`${method} ${url} answered ${status} but the OpenAPI document has no such operation`);
    ref = 'openapi.json#/components/schemas/ErrorEnvelope';
  } else {
    const responses = openApiDocument.paths[operation.path]![operation.method]!.responses;
    const response = responses[String(status)];
    if (!response) {
      throw new Error(`${method} ${url} answered ${status}, which ${operation.path} does not document (${Object.keys(responses).join(', ')})`);
    }
    const media = contentType?.split(';')[0]?.trim() ?? '';
    if (!response.content?.[media]) throw new Error(`${method} ${url} answered ${status} with undocumented content type '${contentType}'`);
    if (media !== 'application/json') return;
    ref = `openapi.json#/${pointer('paths', operation.path, operation.method, 'responses', String(status), 'content', media, 'schema')}`;
  }
  const validate = validatorFor(ref);
  if (!validate(body)) {
    throw new Error(`${method} ${url} (${status}) does not match openapi.json: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 2000)}`);
  }
}
