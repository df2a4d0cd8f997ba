/** Prefixed, time-ordered identifiers (UUIDv7), as in `run_0193...`. */
import { randomFillSync } from 'node:crypto';
import { V7Generator } from 'uuidv7';

export type IdPrefix = 'run' | 'msg' | 'mem' | 'ses' | 'evt' | 'tok' | 'whk' | 'hbt' | 'hb' | 'chn' | 'dlv' | 'mcp' | 'inst';

/**
 * The generator's randomness, drawn from the operating system 4 KiB at a time: the package's default draws 32 bytes
 * through the Web Crypto API, one call for every two or three identifiers (a chat turn makes a dozen).
 */
class PooledRandom {
  private readonly pool = new Uint32Array(1024);
  private next = this.pool.length;

  nextUint32(): number {
    if (this.next === this.pool.length) {
      randomFillSync(this.pool);
      this.next = 0;
    }
    return this.pool[this.next++]!;
  }
}

const generator = new V7Generator(new PooledRandom());

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${generator.generate().toString()}`;
}
