/** Prefixed, time-ordered identifiers (UUIDv7), as in `run_0193...`. */
import { uuidv7 } from 'uuidv7';

export type IdPrefix = 'run' | 'msg' | 'mem' | 'ses' | 'evt' | 'tok' | 'whk' | 'hbt' | 'hb' | 'chn' | 'dlv' | 'mcp' | 'inst';

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${uuidv7()}`;
}
