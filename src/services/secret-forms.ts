/** The forms a secret takes in text that leaves the server: as is, and in the encodings JSON, URLs and base64 give it. */

/** A JSON encoder that escapes every non-ASCII character (Python's json.dumps, many loggers) writes `\uXXXX`. */
const asciiJson = (escaped: string) => escaped.replace(/[\u0080-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);

function urlEncoded(secret: string): string[] {
  try {
    return [encodeURIComponent(secret)];
  } catch {
    // A lone surrogate has no UTF-8 form, so no URL carries it.
    return [];
  }
}

/**
 * Base64 turns each 3 bytes into 4 characters, so what a secret becomes inside longer encoded data depends on its
 * offset there, modulo 3. At each of the three offsets the characters made of the secret's bits alone are the same
 * whatever surrounds it: those stable cores are the forms. The character at each edge mixes in neighbouring bytes
 * (it carries at most 4 bits of the secret) and is left as it is.
 */
function base64Cores(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  return [0, 1, 2].map((offset) => {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    return encoded.slice(Math.ceil((offset * 8) / 6), Math.floor(((offset + bytes.length) * 8) / 6));
  });
}

const base64url = (base64: string) => base64.replaceAll('+', '-').replaceAll('/', '_');

/** Every distinct form of `secret` at least `minLength` characters long (shorter ones would match ordinary text). */
export function secretForms(secret: string, minLength: number): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  const forms = new Set([secret, json, asciiJson(json), ...urlEncoded(secret)]);
  for (const core of base64Cores(secret)) forms.add(core).add(base64url(core));
  return [...forms].filter((form) => form.length >= minLength);
}
