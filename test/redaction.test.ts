import { describe, expect, it } from 'vitest';
import { REDACTED, Redactor, redactingLogHooks } from '../src/services/redaction.ts';

describe('Redactor', () => {
  it('returns the very same value with count 0 when nothing is registered', () => {
    const redactor = new Redactor();
    const payload = { a: ['sk-123456'], b: { c: 'text' } };
    const result = redactor.redact(payload);
    expect(result.count).toBe(0);
    expect(result.value).toBe(payload);
  });

  it('replaces registered values inside longer strings, nested objects, arrays and keys', () => {
    const redactor = new Redactor();
    redactor.register('hunter22');
    const payload = {
      message: 'password is hunter22, again: hunter22.',
      nested: { list: ['ok', { deep: 'xhunter22x' }], count: 3, flag: true, none: null },
      hunter22: 'as a key',
    };
    const result = redactor.redact(payload);
    expect(result.count).toBe(4);
    expect(result.value).toEqual({
      message: `password is ${REDACTED}, again: ${REDACTED}.`,
      nested: { list: ['ok', { deep: `x${REDACTED}x` }], count: 3, flag: true, none: null },
      [REDACTED]: 'as a key',
    });
    expect(JSON.stringify(result.value)).not.toContain('hunter22');
  });

  it('leaves the input untouched and shares the parts that held no secret', () => {
    const redactor = new Redactor();
    redactor.register('s3cr3t-value');
    const clean = { untouched: ['a', 'b'] };
    const payload = { clean, dirty: 's3cr3t-value' };
    const result = redactor.redact(payload);
    expect(payload.dirty).toBe('s3cr3t-value');
    expect(result.value.clean).toBe(clean);
    expect(result.value.dirty).toBe(REDACTED);
  });

  it('prefers the longest registered value when one contains another', () => {
    const redactor = new Redactor();
    redactor.register('abcd');
    redactor.register('abcdefgh');
    expect(redactor.redact('xx abcdefgh yy abcd')).toEqual({ value: `xx ${REDACTED} yy ${REDACTED}`, count: 2 });
  });

  it('treats registered values literally, not as patterns', () => {
    const redactor = new Redactor();
    redactor.register('a.b*c+(d)');
    expect(redactor.redact('a.b*c+(d) aXbbbc(d)')).toEqual({ value: `${REDACTED} aXbbbc(d)`, count: 1 });
  });

  it('ignores values shorter than 4 characters', () => {
    const redactor = new Redactor();
    redactor.register('abc');
    expect(redactor.size).toBe(0);
    expect(redactor.redact('abc abc').count).toBe(0);
  });

  it('stops redacting a value once every registration of it is removed', () => {
    const redactor = new Redactor();
    redactor.register('shared-secret');
    redactor.register('shared-secret');
    redactor.unregister('shared-secret');
    expect(redactor.redact('shared-secret').value).toBe(REDACTED);
    redactor.unregister('shared-secret');
    expect(redactor.redact('shared-secret')).toEqual({ value: 'shared-secret', count: 0 });
    redactor.unregister('never-registered');
  });
});

describe('Redactor: encoded forms', () => {
  const secret = 'p@ss "w0rd"/é+€?&=42';

  it('replaces a secret JSON-escaped, ASCII-JSON-escaped and URL-encoded', () => {
    const redactor = new Redactor();
    redactor.register(secret);
    const json = JSON.stringify({ password: secret });
    const asciiJson = json.replace(/[\u0080-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
    const url = `https://example.test/login?password=${encodeURIComponent(secret)}&next=/`;
    expect(redactor.redact(json).value).toBe(`{"password":"${REDACTED}"}`);
    expect(redactor.redact(asciiJson).value).toBe(`{"password":"${REDACTED}"}`);
    expect(redactor.redact(url).value).toBe(`https://example.test/login?password=${REDACTED}&next=/`);
  });

  it.each([0, 1, 2])('replaces base64 and base64url of a secret inside longer encoded data (offset %i modulo 3)', (offset) => {
    const redactor = new Redactor();
    redactor.register(secret);
    const data = Buffer.concat([Buffer.from('header:'.slice(0, 6 + offset)), Buffer.from(secret), Buffer.from(':trailer')]);
    for (const encoding of ['base64', 'base64url'] as const) {
      const redacted = redactor.redact(`token=${data.toString(encoding)};`).value;
      expect(redacted).toContain(REDACTED);
      expect(decodableRuns(redacted, encoding).some((bytes) => sharesBytes(bytes, Buffer.from(secret), 6))).toBe(false);
    }
    expect(redactor.redact(Buffer.from(secret).toString('base64')).value).toContain(REDACTED);
  });
});

describe('StreamRedactor', () => {
  const secret = 'CANARYSPLIT-58672fe9';

  function streamed(redactor: Redactor, chunks: string[]): string[] {
    const stream = redactor.stream();
    return [...chunks.map((chunk) => stream.push(chunk)), stream.flush()];
  }

  it('returns each chunk itself when no secret is registered', () => {
    const chunk = 'plain text';
    expect(new Redactor().stream().push(chunk)).toBe(chunk);
  });

  it('holds back the start of a secret split across chunks and releases it as [REDACTED]', () => {
    const redactor = new Redactor();
    redactor.register(secret);
    const out = streamed(redactor, ['The key is CANAR', 'YSPLIT-58', '672fe9', ' and that is all.']);
    expect(out).toEqual(['The key is ', '', `${REDACTED}`, ' and that is all.', '']);
  });

  it('releases held text once the next chunk shows it is no secret, and at the end of the stream', () => {
    const redactor = new Redactor();
    redactor.register(secret);
    expect(streamed(redactor, ['a CANARY', ' bird', ' CANARYSPL'])).toEqual(['a ', 'CANARY bird', ' ', 'CANARYSPL']);
    expect(streamed(redactor, ['caught a CANA'])).toEqual(['caught a ', 'CANA']);
  });

  it('redacts a secret cut short at the end of the stream only when more than half of it shows', () => {
    const redactor = new Redactor();
    redactor.register(secret);
    expect(streamed(redactor, ['key: CANARYSPLIT-586']).join('')).toBe(`key: ${REDACTED}`);
    expect(streamed(redactor, ['the CANARY']).join('')).toBe('the CANARY');
  });

  it('catches encoded forms split across chunks', () => {
    const redactor = new Redactor();
    redactor.register('pass"word/é');
    const json = JSON.stringify({ password: 'pass"word/é' });
    const chunks = json.match(/.{1,3}/g)!;
    expect(streamed(redactor, chunks).join('')).toBe(`{"password":"${REDACTED}"}`);
  });

  it('uses secrets registered while the stream runs', () => {
    const redactor = new Redactor();
    const stream = redactor.stream();
    expect(stream.push('first CANARYSPLIT')).toBe('first CANARYSPLIT');
    redactor.register(secret);
    expect(stream.push(' then CANARYSPLIT')).toBe(' then ');
    expect(stream.push('-58672fe9.')).toBe(`${REDACTED}.`);
    expect(stream.count).toBe(1);
  });

  it('joins to what redact() makes of the whole text, however it is cut', () => {
    const random = seeded(7);
    const alphabet = 'ab"\\é%=-';
    const word = (length: number) => Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    for (let trial = 0; trial < 2000; trial++) {
      const redactor = new Redactor();
      const secrets = Array.from({ length: 1 + Math.floor(random() * 3) }, () => word(4 + Math.floor(random() * 6)));
      for (const value of secrets) redactor.register(value);
      const text = Array.from({ length: 6 }, () => (random() < 0.5 ? secrets[Math.floor(random() * secrets.length)]! : word(Math.floor(random() * 5)))).join('');
      const chunks: string[] = [];
      for (let at = 0; at < text.length; ) {
        const size = 1 + Math.floor(random() * 6);
        chunks.push(text.slice(at, at + size));
        at += size;
      }
      const stream = redactor.stream();
      const joined = chunks.map((chunk) => stream.push(chunk)).join('');
      // What push() returns is final: always the start of what redact() makes of the whole text. flush() differs
      // from it only where it replaces a secret cut short by the end of the text.
      const whole = redactor.redact(text).value;
      expect(whole.startsWith(joined), JSON.stringify({ secrets, chunks })).toBe(true);
      const rest = stream.flush();
      if (!rest.endsWith(REDACTED)) expect(joined + rest).toBe(whole);
      for (const value of secrets) expect(joined + rest).not.toContain(value);
    }
  });
});

describe('redactingLogHooks', () => {
  it('redacts a written log line, JSON-escaped forms included', () => {
    const redactor = new Redactor();
    redactor.register('log "secret" 42');
    const line = `${JSON.stringify({ level: 50, msg: 'failed with log "secret" 42', err: { stack: 'Error: log "secret" 42\n    at x' } })}\n`;
    const written = redactingLogHooks(redactor).streamWrite(line);
    expect(JSON.parse(written)).toEqual({ level: 50, msg: `failed with ${REDACTED}`, err: { stack: `Error: ${REDACTED}\n    at x` } });
  });
});

/** Bytes decoded from every run of encoded characters in `text`, at each of the four character offsets. */
function decodableRuns(text: string, encoding: 'base64' | 'base64url'): Buffer[] {
  const run = encoding === 'base64' ? /[A-Za-z0-9+/]{4,}/g : /[A-Za-z0-9_-]{4,}/g;
  return [...text.matchAll(run)].flatMap(([chars]) => [0, 1, 2, 3].map((skip) => Buffer.from(chars.slice(skip), encoding)));
}

/** Whether `a` contains `length` consecutive bytes of `b`. */
function sharesBytes(a: Buffer, b: Buffer, length: number): boolean {
  for (let start = 0; start + length <= b.length; start++) if (a.includes(b.subarray(start, start + length))) return true;
  return false;
}

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
