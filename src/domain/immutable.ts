/**
 * Deeply frozen values. A service freezes what it caches and hands out, so a caller cannot change the
 * cache by accident — and the REST adapter may reuse the checked, serialized response of a frozen result
 * it has already sent (src/http/rest-adapter.ts). Dates are frozen too, which stops new properties but not
 * setTime(): by convention nothing in this codebase mutates a Date it did not create.
 */
export function freezeDeep<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const inner of Object.values(value)) freezeDeep(inner);
  return Object.freeze(value);
}
