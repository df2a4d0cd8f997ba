/** Constant-time comparison of a secret someone sent with the one expected (tokens, bearer tokens of channels). */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Compares digests, which always have equal length, so the time taken reveals nothing about the secret. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}
