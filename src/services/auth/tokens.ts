/** API tokens: made here, stored as SHA-256 hex (the token itself is shown once), looked up by hash. */
import { createHash, randomBytes } from 'node:crypto';
import { and, count, desc, eq, gt, inArray, isNull, or } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { apiTokens } from '../../db/schema.ts';
import { paginate, type PaginationInput } from '../../domain/common.ts';
import { AppError, validationError } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import type { Scope } from '../../domain/scopes.ts';
import { TOKEN_PREFIX, type ApiToken, type TokenCreate, type TokenCreated, type TokenList } from '../../domain/tokens.ts';

type TokenRow = typeof apiTokens.$inferSelect;

/** Enough of the token to recognise it in a list, far too little to guess the rest (`mox_` + 8 characters). */
const SHOWN_PREFIX_LENGTH = TOKEN_PREFIX.length + 8;
/** last_used_at is a hint, not an audit trail: one write a minute per token keeps hot tokens off the write path. */
const LAST_USED_RESOLUTION_MS = 60_000;

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

function toApiToken(row: TokenRow): ApiToken {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    prefix: row.prefix,
    created_at: row.createdAt,
    expires_at: row.expiresAt,
    last_used_at: row.lastUsedAt,
    revoked_at: row.revokedAt,
  };
}

/** A token that may be used now: its id and scopes. */
export interface ValidToken {
  id: string;
  scopes: Scope[];
}

export class TokenService {
  private readonly lastTouched = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  async create(input: TokenCreate): Promise<TokenCreated> {
    const createdAt = new Date(this.now());
    const expiresAt = this.expiryOf(input, createdAt);
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const row: TokenRow = {
      id: newId('tok'),
      name: input.name,
      hash: hashToken(token),
      prefix: token.slice(0, SHOWN_PREFIX_LENGTH),
      scopes: [...new Set(input.scopes)],
      createdAt,
      expiresAt,
      lastUsedAt: null,
      revokedAt: null,
    };
    await this.db.insert(apiTokens).values(row);
    const { id, name, scopes, prefix, created_at, expires_at } = toApiToken(row);
    return { id, name, scopes, token, prefix, created_at, expires_at };
  }

  async list(page: PaginationInput): Promise<TokenList> {
    const [rows, [total]] = await Promise.all([
      this.db.select().from(apiTokens).orderBy(desc(apiTokens.createdAt), apiTokens.id).limit(page.limit).offset(page.offset),
      this.db.select({ value: count() }).from(apiTokens),
    ]);
    return { tokens: rows.map(toApiToken), pagination: paginate(total?.value ?? 0, page) };
  }

  /** Revoking is immediate for every server on this database: each request looks the token up, and open streams re-check theirs with `usable`. */
  async revoke(id: string): Promise<{ id: string; status: 'revoked' }> {
    const [row] = await this.db.select().from(apiTokens).where(eq(apiTokens.id, id));
    if (!row) throw new AppError('TOKEN_NOT_FOUND', `Token '${id}' not found`, { id });
    if (!row.revokedAt) await this.db.update(apiTokens).set({ revokedAt: new Date(this.now()) }).where(eq(apiTokens.id, id));
    return { id, status: 'revoked' };
  }

  /** The token's id and scopes, or undefined when it is unknown, expired or revoked. */
  async verify(token: string): Promise<ValidToken | undefined> {
    if (!token.startsWith(TOKEN_PREFIX)) return undefined;
    const [row] = await this.db.select().from(apiTokens).where(eq(apiTokens.hash, hashToken(token)));
    const now = this.now();
    if (!row || row.revokedAt || (row.expiresAt && row.expiresAt.getTime() <= now)) return undefined;
    this.touch(row, now);
    return { id: row.id, scopes: row.scopes };
  }

  /** Which of these tokens may still be used (neither revoked nor expired), in one query: streams they opened re-check it. */
  async usable(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db
      .select({ id: apiTokens.id })
      .from(apiTokens)
      .where(and(inArray(apiTokens.id, [...ids]), isNull(apiTokens.revokedAt), or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, new Date(this.now())))));
    return new Set(rows.map((row) => row.id));
  }

  private touch(row: TokenRow, now: number): void {
    const last = Math.max(this.lastTouched.get(row.id) ?? 0, row.lastUsedAt?.getTime() ?? 0);
    if (now - last < LAST_USED_RESOLUTION_MS) return;
    this.lastTouched.set(row.id, now);
    // Not awaited: a failed bookkeeping write must not fail the request it describes.
    this.db.update(apiTokens).set({ lastUsedAt: new Date(now) }).where(eq(apiTokens.id, row.id)).catch(() => this.lastTouched.delete(row.id));
  }

  private expiryOf(input: TokenCreate, createdAt: Date): Date | null {
    if (input.expires_in !== undefined) return new Date(createdAt.getTime() + input.expires_in * 1000);
    if (input.expires_at === undefined) return null;
    const expiresAt = new Date(input.expires_at);
    if (expiresAt.getTime() <= createdAt.getTime()) {
      throw validationError([{ path: 'expires_at', message: 'must be in the future', code: 'too_small' }]);
    }
    return expiresAt;
  }
}
