/**
 * The contract check every suite uses: each response must match the generated OpenAPI document of its path — a
 * dialect's under its prefix (/api/v1: MUXI), else openapi.json — the operation's response for that status, or the
 * document's error component for routes it does not have.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { dialectOpenApiDocument } from '../../src/http/dialect-openapi.ts';
import { isDialectPath } from '../../src/http/dialects/dialect.ts';
import { muxiDialect } from '../../src/http/dialects/muxi/index.ts';
import { openApiDocument as buildDocument } from '../../src/http/openapi-document.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

interface Document {
  paths: Record<string, Record<string, { operationId: string; responses: Record<string, { content?: Record<string, unknown> }> }>>;
  components: Record<string, unknown>;
}

export const openApiDocument = buildDocument() as unknown as Document;
export const muxiOpenApiDocument = dialectOpenApiDocument(muxiDialect) as unknown as Document;

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);

const pointer = (...segments: string[]) => segments.map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** A document's contract: finds the operation a request reached and checks an answer against it. */
function contractOf(document: Document, name: string, errorComponent: string) {
  ajv.addSchema(document as object, name);
  const templates = Object.keys(document.paths).map((path) => ({
    path,
    regex: new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{\w+\\?\}/g, '[^/]+')}/?$`),
  }));
  const validators = new Map<string, ReturnType<Ajv2020['compile']>>();
  const validatorFor = (ref: string) => {
    let validate = validators.get(ref);
    if (!validate) {
      validate = ajv.compile({ $ref: ref });
      validators.set(ref, validate);
    }
    return validate;
  };

  function findOperation(method: string, url: string): { path: string; method: string } | undefined {
    const path = new URL(url, 'http://x').pathname;
    const lower = method.toLowerCase();
    const match = templates.find((t) => t.regex.test(path) && document.paths[t.path]?.[lower]);
    return match ? { path: match.path, method: lower } : undefined;
  }

  function assertMatches(method: string, url: string, status: number, contentType: string | null, body: unknown): void {
    const operation = findOperation(method, url);
    let ref: string;
    if (!operation) {
      if (status < 400) throw new Error(`${method} ${url} answered ${status} but ${name} has no such operation`);
      ref = `${name}#/components/schemas/${errorComponent}`;
    } else {
      const responses = document.paths[operation.path]![operation.method]!.responses;
      const response = responses[String(status)];
      if (!response) {
        throw new Error(`${method} ${url} answered ${status}, which ${operation.path} does not document (${Object.keys(responses).join(', ')})`);
      }
      const media = contentType?.split(';')[0]?.trim() ?? '';
      if (!response.content?.[media]) throw new Error(`${method} ${url} answered ${status} with undocumented content type '${contentType}'`);
      if (media !== 'application/json') return;
      ref = `${name}#/${pointer('paths', operation.path, operation.method, 'responses', String(status), 'content', media, 'schema')}`;
    }
    const validate = validatorFor(ref);
    if (!validate(body)) {
      throw new Error(`${method} ${url} (${status}) does not match ${name}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 2000)}`);
    }
  }

  return { findOperation, assertMatches };
}

const main = contractOf(openApiDocument, 'openapi.json', 'ErrorEnvelope');
const muxi = contractOf(muxiOpenApiDocument, 'muxi.openapi.json', 'MuxiError');

const contractFor = (url: string) => (isDialectPath(muxiDialect, new URL(url, 'http://x').pathname) ? muxi : main);

/** The operation of openapi.json a request reaches, if any. */
export const findOperation = main.findOperation;

/** Throws, with the reasons, when a response does not match the document of its path. */
export function assertMatchesOpenApi(method: string, url: string, status: number, contentType: string | null, body: unknown): void {
  contractFor(url).assertMatches(method, url, status, contentType, body);
}
