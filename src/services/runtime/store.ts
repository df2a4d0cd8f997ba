/** Sessions, messages and runs in the database. */
import { and, count, desc, eq, inArray, isNull, lt, notInArray, or, sql } from 'drizzle-orm';
import type { Message, Run, RunStep, Session, Usage } from '../../domain/chat.ts';
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

/** Past messages replayed to the model: enough context, bounded. */
const CONTEXT_MESSAGES = 40;

export class ConversationStore {
  constructor(private readonly db: Db) {}

  /** Finds or creates the session; a session belongs to one agent. */
  async ensureSession(agent: string, sessionId: string | undefined, userId: string | null): Promise<string> {
    const now = new Date();
    const id = sessionId ?? newId('ses');
    const [row] = await this.db
      .insert(sessions)
      .values({ id, agent, userId, createdAt: now, updatedAt: now })
      .onConflictDoUpdate({ target: sessions.id, set: { updatedAt: now } })
      .returning({ agent: sessions.agent });
    if (row && row.agent !== agent) {
      throw new AppError('VALIDATION_ERROR', `Session '${id}' belongs to agent '${row.agent}'`, {
        issues: [{ path: 'session_id', message: `belongs to agent '${row.agent}'`, code: 'invalid_value' }],
      });
    }
    return id;
  }

  async appendMessage(message: NewMessage): Promise<Message> {
    const row = this.messageRow(message);
    await this.db.batch(this.messageStatements(row));
    return toMessage(row, message.runId ? 'running' : null);
  }

  /** Records the run's end and, when it produced one, its answer, in one transaction. */
  async finishRun(run: Run, answer?: NewMessage): Promise<Message | undefined> {
    const row = answer ? this.messageRow(answer) : undefined;
    await this.db.batch([this.runUpdate(run), ...(row ? this.messageStatements(row) : [])]);
    return row ? toMessage(row, run.status) : undefined;
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

  /** The session's recent messages as model input, oldest first, without what failed or cancelled runs left. */
  async contextMessages(sessionId: string): Promise<ChatMessage[]> {
    const rows = (
      await this.db
        .select({ message: messages })
        .from(messages)
        .leftJoin(runs, eq(runs.id, messages.runId))
        .where(and(eq(messages.sessionId, sessionId), or(isNull(runs.status), notInArray(runs.status, LEFT_OUT_OF_CONTEXT))))
        .orderBy(desc(messages.id))
        .limit(CONTEXT_MESSAGES)
    ).map(({ message }) => message);
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

  async history(agent: string, query: { session_id?: string; user_id?: string; limit: number; before?: Date; include_tools: boolean }) {
    const conditions = [eq(messages.agent, agent)];
    if (query.session_id) conditions.push(eq(messages.sessionId, query.session_id));
    if (query.user_id) conditions.push(eq(messages.userId, query.user_id));
    if (query.before) conditions.push(lt(messages.createdAt, query.before));
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

  async insertRun(run: Run): Promise<void> {
    await this.db.insert(runs).values({
      id: run.id,
      agent: run.agent_id,
      sessionId: run.session_id,
      userId: run.user_id,
      status: run.status,
      input: run.input,
      output: run.output,
      error: run.error,
      steps: run.steps,
      usage: run.usage,
      source: run.source,
      parentRunId: run.parent_run_id,
      depth: run.depth,
      createdAt: run.created_at,
      startedAt: run.started_at,
      completedAt: run.completed_at,
    });
  }

  async updateRun(run: Run): Promise<void> {
    await this.runUpdate(run);
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

  /** Runs left queued or running by a process that stopped: they can never finish now. */
  async failInterruptedRuns(): Promise<number> {
    const interrupted = await this.db
      .update(runs)
      .set({ status: 'failed', error: { code: 'INTERNAL_ERROR', message: 'The server stopped during this run' }, completedAt: new Date() })
      .where(inArray(runs.status, ['queued', 'running']))
      .returning({ id: runs.id });
    return interrupted.length;
  }
}
