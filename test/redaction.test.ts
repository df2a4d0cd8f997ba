import { describe, expect, it } from 'vitest';
import { REDACTED, Redactor } from '../src/services/redaction.ts';

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
