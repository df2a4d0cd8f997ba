/** Sessions, messages and runs in the database. */
import type { InArgs, InStatement, Row } from '@libsql/client';
import { and, count, desc, eq, fillPlaceholders, inArray, isNull, lt, notInArray, or, sql, type Placeholder } from 'drizzle-orm';
import type { History, HistoryQuery, Message, Run, RunStatus, RunStep, Session, Usage } from '../../domain/chat.ts';
import { paginate, type PaginationInput } from '../../domain/common.ts';
import { AppError } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import type { Db } from '../../db/client.ts';
import { messages, runs, sessions } from '../../db/schema.ts';
import type { ChatMessage, ToolCall } from '../providers/types.ts';

type MessageRow = typeof messages.$inferSelect;
type RunRow = typeof runs.$inferSelect;

/** What a run that ended this way left in its session is not part of the conversation the model sees. */
const LEFT_OUT_OF_CONTEXT: Array<Message['run_status'] & string> = ['failed', 'cancelled'];

function toMessage(row: MessageRow, runStatus: Message['run_status']): Message {
  return {
    id: row.id,
    role: row.role,
    content: row.content,
    timestamp: row.createdAt,
    session_id: row.sessionId,
    run_id: row.runId,
    user_id: row.userId,
    ...(row.toolCalls?.length ? { tool_calls: row.toolCalls as ToolCall[] } : {}),
    ...(row.toolCallId ? { tool_call_id: row.toolCallId } : {}),
    run_status: runStatus,
  };
}

/** A row of the context query as the libSQL client returns it (columns by name, JSON and timestamps as stored). */
function contextRow(raw: Row): { message: MessageRow } {
  const calls = raw.tool_calls as string | null;
  return {
    message: {
      id: raw.id as string,
      sessionId: raw.session_id as string,
      agent: raw.agent as string,
      runId: raw.run_id as string | null,
      userId: raw.user_id as string | null,
      role: raw.role as MessageRow['role'],
      content: raw.content as string,
      toolCalls: calls === null ? null : (JSON.parse(calls) as ToolCall[]),
      toolCallId: raw.tool_call_id as string | null,
      createdAt: new Date(Number(raw.created_at)),
    },
  };
}

/** Rows of the context query (newest first) as model input, oldest first. */
function toContext(newestFirst: Array<{ message: MessageRow }>): ChatMessage[] {
  const rows = newestFirst.map(({ message }) => message);
  rows.reverse();
  // A window must not open on a tool result whose call it cut off.
  while (rows[0]?.role === 'tool') rows.shift();
  return rows.map((row): ChatMessage => {
    if (row.role === 'tool') return { role: 'tool', content: row.content, tool_call_id: row.toolCallId ?? '', name: '' };
    if (row.role === 'assistant') {
      return row.toolCalls?.length ? { role: 'assistant', content: row.content, tool_calls: row.toolCalls as ToolCall[] } : { role: 'assistant', content: row.content };
    }
    return { role: row.role, content: row.content };
  });
}

export function toRun(row: RunRow): Run {
  return {
    id: row.id,
    agent_id: row.agent,
    session_id: row.sessionId,
    user_id: row.userId,
    status: row.status,
    input: row.input,
    output: row.output,
    error: row.error ?? null,
    steps: row.steps as RunStep[],
    usage: row.usage,
    source: row.source,
    parent_run_id: row.parentRunId,
    depth: row.depth,
    created_at: row.createdAt,
    started_at: row.startedAt,
    completed_at: row.completedAt,
  };
}

export interface NewMessage {
  sessionId: string;
  agent: string;
  runId: string | null;
  userId: string | null;
  role: Message['role'];
  content: string;
  toolCalls?: ToolCall[];
  toolCallId?: string;
}

/** How starting a run turned out: started (with its first message, and the context before it, when asked), or why not. */
export type RunStart =
  | { started: true; message?: Message; history?: ChatMessage[] }
  | { started: false; reason: 'busy'; runId: string }
  | { started: false; reason: 'other_agent'; agent: string }
  | { started: false; reason: 'subagent_limit' };

/** Past messages replayed to the model: enough context, bounded. */
const CONTEXT_MESSAGES = 40;

export class ConversationStore {
  /** contextStatement's SQL, with the session as a placeholder. */
  private contextSql: { sql: string; params: unknown[] } | undefined;

  constructor(private readonly db: Db) {}

  /**
   * Starts a run in one transaction: finds or creates its session and claims it for the run (free when it has no
   * active run, or that run has ended or belongs to an instance whose lease expired; a run awaiting approval keeps it
   * whatever its instance), then inserts the run if the
   * claim held, and for a sub-agent if fewer than `subagentLimit` sub-agent runs are alive across every process.
   * Session exclusion and the limit hold across processes because they are decided here, in the database.
   */
  async startRun(
    run: Run,
    instanceId: string,
    options: {
      subagentLimit?: number;
      /**
       * The run's first message, stored in the same transaction when the run starts (and only then); with
       * `context`, the session's recent messages before it are read there too, as model input (see contextQuery).
       */
      first?: { message: NewMessage; context: boolean };
    } = {},
  ): Promise<RunStart> {
    const client = this.db.$client;
    const now = Date.now();
    const liveInstances = 'SELECT id FROM instances WHERE expires_at > :now';
    const first = options.first;
    const row = first ? { ...this.messageRow(first.message), createdAt: new Date(now) } : undefined;
    const context = first?.context ? this.contextStatement(run.session_id) : undefined;
    const results = await client.batch(
      [
        // Read first: the context is what the session held before this turn's message.
        ...(context ? [context] : []),
        {
          sql: `INSERT INTO sessions (id, agent, user_id, active_run_id, created_at, updated_at) VALUES (:session, :agent, :user, :run, :now, :now)
                ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at,
                  active_run_id = CASE WHEN sessions.agent = excluded.agent AND (sessions.active_run_id IS NULL OR NOT EXISTS (
                    SELECT 1 FROM runs WHERE runs.id = sessions.active_run_id AND (runs.status = 'awaiting_approval'
                      OR (runs.status IN ('queued', 'running') AND runs.instance_id IN (${liveInstances})))
                  )) THEN excluded.active_run_id ELSE sessions.active_run_id END
                RETURNING agent, active_run_id`,
          args: { session: run.session_id, agent: run.agent_id, user: run.user_id, run: run.id, now },
        },
        {
          sql: `INSERT INTO runs (id, agent, session_id, user_id, status, input, output, error, steps, usage, source, parent_run_id, depth, instance_id, created_at, started_at, completed_at)
                SELECT :run, :agent, :session, :user, :status, :input, NULL, NULL, '[]', :usage, :source, :parent, :depth, :instance, :created, :started, NULL
                WHERE (SELECT active_run_id FROM sessions WHERE id = :session) = :run
                  AND (:limit IS NULL OR (SELECT count(*) FROM runs WHERE source = 'subagent' AND status IN ('queued', 'running') AND instance_id IN (${liveInstances})) < :limit)
                RETURNING id`,
          args: {
            run: run.id, agent: run.agent_id, session: run.session_id, user: run.user_id, status: run.status, input: run.input,
            usage: JSON.stringify(run.usage), source: run.source, parent: run.parent_run_id, depth: run.depth, instance: instanceId,
            created: run.created_at.getTime(), started: run.started_at?.getTime() ?? null, now, limit: options.subagentLimit ?? null,
          },
        },
        // A claim whose run could not be inserted (the sub-agent limit; without a limit, only a claim that did not
        // hold leaves the run out) is given back.
        ...(options.subagentLimit === undefined
          ? []
          : [
              {
                sql: 'UPDATE sessions SET active_run_id = NULL WHERE id = :session AND active_run_id = :run AND NOT EXISTS (SELECT 1 FROM runs WHERE id = :run)',
                args: { session: run.session_id, run: run.id },
              },
            ]),
        // The first message, only when the run was inserted. It is dated `now`, as the session's last update was
        // above, so that update is the one messageStatements makes.
        ...(row
          ? [
              {
                sql: `INSERT INTO messages (id, session_id, agent, run_id, user_id, role, content, tool_calls, tool_call_id, created_at)
                      SELECT :id, :session, :agent, :run, :user, :role, :content, :calls, :callId, :at WHERE EXISTS (SELECT 1 FROM runs WHERE id = :run)`,
                args: {
                  id: row.id, session: row.sessionId, agent: row.agent, run: run.id, user: row.userId, role: row.role, content: row.content,
                  calls: row.toolCalls ? JSON.stringify(row.toolCalls) : null, callId: row.toolCallId, at: now,
                },
              },
            ]
          : []),
      ],
      'write',
    );
    const [session, inserted] = context ? results.slice(1) : results;
    const claimed = session!.rows[0] as unknown as { agent: string; active_run_id: string | null };
    if (claimed.agent !== run.agent_id) return { started: false, reason: 'other_agent', agent: claimed.agent };
    if (inserted!.rows.length > 0) {
      if (!row) return { started: true };
      const message = toMessage(row, row.runId ? 'running' : null);
      return context ? { started: true, message, history: toContext(results[0]!.rows.map(contextRow)) } : { started: true, message };
    }
    return claimed.active_run_id === run.id || claimed.active_run_id === null
      ? { started: false, reason: 'subagent_limit' }
      : { started: false, reason: 'busy', runId: claimed.active_run_id };
  }

  /** The run's session is free again. */
  releaseSession(run: Run) {
    return this.db.update(sessions).set({ activeRunId: null }).where(and(eq(sessions.id, run.session_id), eq(sessions.activeRunId, run.id)));
  }

  async appendMessage(message: NewMessage): Promise<Message> {
    const row = this.messageRow(message);
    await this.db.batch(this.messageStatements(row));
    return toMessage(row, message.runId ? 'running' : null);
  }

  /**
   * What records the run's end, frees its session and, when it produced one, stores its answer: statements to run in
   * one transaction (the runtime stores them with the run's closing event), and the answer as stored.
   */
  finishStatements(run: Run, answer?: NewMessage): { statements: InStatement[]; message?: Message } {
    const row = answer ? this.messageRow(answer) : undefined;
    // SQL text rather than drizzle's builders, which cost more than the statements on this path (every turn).
    const statements: InStatement[] = [
      {
        sql: 'UPDATE runs SET status = ?, output = ?, error = ?, steps = ?, usage = ?, started_at = ?, completed_at = ? WHERE id = ?',
        args: [
          run.status, run.output, run.error ? JSON.stringify(run.error) : null, JSON.stringify(run.steps), JSON.stringify(run.usage),
          run.started_at?.getTime() ?? null, run.completed_at?.getTime() ?? null, run.id,
        ],
      },
      { sql: 'UPDATE sessions SET active_run_id = NULL WHERE id = ? AND active_run_id = ?', args: [run.session_id, run.id] },
    ];
    if (row) {
      statements.push(
        {
          sql: 'INSERT INTO messages (id, session_id, agent, run_id, user_id, role, content, tool_calls, tool_call_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          args: [
            row.id, row.sessionId, row.agent, row.runId, row.userId, row.role, row.content,
            row.toolCalls ? JSON.stringify(row.toolCalls) : null, row.toolCallId, row.createdAt.getTime(),
          ],
        },
        { sql: 'UPDATE sessions SET updated_at = ? WHERE id = ?', args: [row.createdAt.getTime(), row.sessionId] },
      );
    }
    return { statements, ...(row ? { message: toMessage(row, run.status) } : {}) };
  }

  private messageRow(message: NewMessage): MessageRow {
    return {
      id: newId('msg'),
      sessionId: message.sessionId,
      agent: message.agent,
      runId: message.runId,
      userId: message.userId,
      role: message.role,
      content: message.content,
      toolCalls: message.toolCalls ?? null,
      toolCallId: message.toolCallId ?? null,
      createdAt: new Date(),
    };
  }

  private messageStatements(row: MessageRow) {
    return [
      this.db.insert(messages).values(row),
      this.db.update(sessions).set({ updatedAt: row.createdAt }).where(eq(sessions.id, row.sessionId)),
    ] as const;
  }

  /**
   * The session's recent messages as model input (oldest first, without what failed or cancelled runs left); read
   * with the run's start, before its message is stored (startRun).
   */
  /** The context query for a session; its SQL is built once (drizzle's builders cost more than it does, every turn). */
  private contextStatement(sessionId: string): InStatement {
    const built = (this.contextSql ??= this.contextQuery(sql.placeholder('session')).toSQL());
    return { sql: built.sql, args: fillPlaceholders(built.params, { session: sessionId }) as InArgs };
  }

  private contextQuery(sessionId: Placeholder) {
    return this.db
      .select({ message: messages })
      .from(messages)
      .leftJoin(runs, eq(runs.id, messages.runId))
      .where(and(eq(messages.sessionId, sessionId), or(isNull(runs.status), notInArray(runs.status, LEFT_OUT_OF_CONTEXT))))
      .orderBy(desc(messages.id))
      .limit(CONTEXT_MESSAGES);
  }

  async history(agent: string, query: HistoryQuery): Promise<History> {
    const conditions = [eq(messages.agent, agent)];
    if (query.session_id) conditions.push(eq(messages.sessionId, query.session_id));
    if (query.user_id) conditions.push(eq(messages.userId, query.user_id));
    if (query.before instanceof Date) conditions.push(lt(messages.createdAt, query.before));
    else if (query.before) conditions.push(lt(messages.id, query.before));
    if (!query.include_tools) {
      conditions.push(inArray(messages.role, ['user', 'assistant']));
      conditions.push(sql`(${messages.role} = 'user' OR ${messages.content} <> '')`);
    }
    const rows = await this.db
      .select({ message: messages, runStatus: runs.status })
      .from(messages)
      .leftJoin(runs, eq(runs.id, messages.runId))
      .where(and(...conditions))
      .orderBy(desc(messages.id))
      .limit(query.limit + 1);
    const hasMore = rows.length > query.limit;
    const page = rows.slice(0, query.limit).reverse().map(({ message, runStatus }) => toMessage(message, runStatus));
    return {
      messages: query.include_tools ? page : page.map(({ tool_calls: _calls, ...message }) => message),
      has_more: hasMore,
      next_cursor: hasMore ? page[0]!.id : null,
    };
  }

  async sessions(agent: string, userId: string | undefined, page: PaginationInput): Promise<{ sessions: Session[]; pagination: ReturnType<typeof paginate> }> {
    const where = userId ? and(eq(sessions.agent, agent), eq(sessions.userId, userId)) : eq(sessions.agent, agent);
    // Spelled out: drizzle leaves single-table columns unqualified, which a correlated subquery cannot use.
    const messageCount = sql<number>`(SELECT count(*) FROM messages WHERE messages.session_id = sessions.id)`;
    const [rows, [totals]] = await Promise.all([
      this.db
        .select({ session: sessions, messageCount })
        .from(sessions)
        .where(where)
        .orderBy(desc(sessions.updatedAt), desc(sessions.id))
        .limit(page.limit)
        .offset(page.offset),
      this.db.select({ total: count() }).from(sessions).where(where),
    ]);
    return {
      sessions: rows.map(({ session, messageCount: n }) => ({
        id: session.id,
        agent_id: session.agent,
        user_id: session.userId,
        message_count: Number(n),
        created_at: session.createdAt,
        updated_at: session.updatedAt,
      })),
      pagination: paginate(totals?.total ?? 0, page),
    };
  }

  /** The agent's runs, newest first, optionally of one session or in one state. */
  async runs(agent: string, filter: { session_id?: string | undefined; status?: RunStatus | undefined }, page: PaginationInput): Promise<{ runs: Run[]; pagination: ReturnType<typeof paginate> }> {
    const conditions = [eq(runs.agent, agent)];
    if (filter.session_id) conditions.push(eq(runs.sessionId, filter.session_id));
    if (filter.status) conditions.push(eq(runs.status, filter.status));
    const where = and(...conditions);
    const [rows, [totals]] = await Promise.all([
      this.db.select().from(runs).where(where).orderBy(desc(runs.createdAt), desc(runs.id)).limit(page.limit).offset(page.offset),
      this.db.select({ total: count() }).from(runs).where(where),
    ]);
    return { runs: rows.map(toRun), pagination: paginate(totals?.total ?? 0, page) };
  }

  /** Records a run that ended without finishStatements (a failure), and frees its session. */
  async endRun(run: Run): Promise<void> {
    await this.db.batch([this.runUpdate(run), this.releaseSession(run)]);
  }

  /** The instance running a run, null when none is recorded. */
  async runInstance(id: string): Promise<string | null> {
    const [row] = await this.db.select({ instanceId: runs.instanceId }).from(runs).where(eq(runs.id, id)).limit(1);
    return row?.instanceId ?? null;
  }

  /** Marks a run cancelled if it is still running; false when it ended meanwhile. */
  async cancelOrphan(id: string): Promise<boolean> {
    const rows = await this.db
      .update(runs)
      .set({ status: 'cancelled', completedAt: new Date() })
      .where(and(eq(runs.id, id), inArray(runs.status, ['queued', 'running'])))
      .returning({ id: runs.id });
    return rows.length > 0;
  }

  private runUpdate(run: Run) {
    return this.db
      .update(runs)
      .set({
        status: run.status,
        output: run.output,
        error: run.error,
        steps: run.steps,
        usage: run.usage as Usage,
        startedAt: run.started_at,
        completedAt: run.completed_at,
      })
      .where(eq(runs.id, run.id));
  }

  async getRun(id: string): Promise<Run | undefined> {
    const [row] = await this.db.select().from(runs).where(eq(runs.id, id)).limit(1);
    return row ? toRun(row) : undefined;
  }
}
