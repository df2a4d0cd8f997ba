/** A delivery's body as its template sees it: JSON, a form (GitHub's `payload` field unwrapped), or text. */
import { AppError } from '../../domain/errors.ts';

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AppError('INVALID_JSON', `Request body is not valid JSON: ${(error as Error).message}`);
  }
}

function parseForm(text: string): unknown {
  const form = Object.fromEntries(new URLSearchParams(text));
  // GitHub's form content type sends the JSON event as the one field `payload`.
  const keys = Object.keys(form);
  if (keys.length === 1 && keys[0] === 'payload') return parseJson(form.payload!);
  return form;
}

/** `undefined` bytes (no body) read as null; an unknown content type is refused. */
export function parsePayload(bytes: Buffer | undefined, contentType: string | undefined): unknown {
  if (!bytes || bytes.length === 0) return null;
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const text = bytes.toString('utf8');
  if (type === 'application/json' || type.endsWith('+json')) return parseJson(text);
  if (type === 'application/x-www-form-urlencoded') return parseForm(text);
  if (type === 'text/plain') return text;
  throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported Content-Type: send application/json, application/x-www-form-urlencoded or text/plain');
}
