/** The dialects the API server speaks besides /api's envelope, each under its own prefix. */
import type { Dialect } from './dialect.ts';
import { muxiDialect } from './muxi/index.ts';

export const DIALECTS: readonly Dialect[] = [muxiDialect];
