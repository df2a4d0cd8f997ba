/**
 * One Telegram channel: a getUpdates long-poll loop. Only chats paired with `/pair CODE` reach the agent; the
 * others are told how to pair. The update offset is stored before an update is handled, so a restart never
 * handles an update twice (at most once: an update interrupted by a crash is not retried).
 *
 * A tool call that waits for approval is sent to the chat with inline Approve / Deny buttons; a press (a
 * callback_query) decides it. The poller follows the paused run in the background and sends its answer (or the
 * next call to approve) when it goes on, however it was decided (buttons, the API, expiry).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parsePairCommand } from '../../domain/channels.ts';
import type { Approval, ApprovalDecisionInput, PolicyList } from '../../domain/approvals.ts';
import type { Run } from '../../domain/chat.ts';
import { RUN_END_EVENTS, type EmitEvent, type EventEnvelope } from '../../domain/events.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { Transcriber } from '../transcription.ts';
import { splitMessage, TelegramApi, TelegramApiError, type TelegramCallbackQuery, type TelegramMessage } from './telegram-api.ts';

const MAX_VOICE_BYTES = 10 * 1024 * 1024;
const MAX_BACKOFF_MS = 60_000;
const SOURCE = 'channel:telegram';
/** callback_data of the approval buttons: `ap:<a|d>:<run id>:<call id>` (Telegram allows 64 bytes). */
const APPROVAL_BUTTON = /^ap:([ad]):(run_[0-9a-f-]+):(.+)$/;

/** The session of a chat's turns, and back. */
export const sessionOfChat = (channel: string, chatId: string) => `telegram:${channel}:${chatId}`;
const chatOfSession = (sessionId: string, channel: string) => sessionId.slice(sessionOfChat(channel, '').length);

export interface TelegramSettings {
  apiBaseUrl: string;
  pollTimeoutSeconds: number;
  requestTimeoutMs: number;
  /** First delay after a failed poll; doubles up to a minute. */
  retryDelayMs: number;
}

/** What the loop needs from the channel service: its stored state, its pairings and where to report. */
export interface TelegramHost {
  agent: string;
  channel: string;
  allowedTools: string[] | undefined;
  /** The channel's tool policy: it narrows the agent's. */
  toolPolicy: PolicyList['policy'] | undefined;
  settings: TelegramSettings;
  /** Approves or denies a tool call a run of this channel waits on. */
  decide(runId: string, callId: string, input: ApprovalDecisionInput, decidedBy: string): Promise<Approval>;
  /** The calls of this channel's chats waiting for approval (followed again when the poller starts). */
  pendingApprovals(): Promise<Approval[]>;
  /** A run's events from its first on, live (whichever process writes them), until `signal` aborts. */
  runEvents(runId: string, signal: AbortSignal): AsyncIterable<EventEnvelope>;
  runtime: Runtime;
  resolveToken(): Promise<string>;
  transcriber(): Transcriber | undefined;
  emit(event: EmitEvent): Promise<void>;
  loadOffset(): Promise<number | undefined>;
  /** False when the channel was configured again (or disabled, or deleted) since this poller started. */
  saveOffset(offset: number): Promise<boolean>;
  isPaired(chatId: string): Promise<boolean>;
  /** Consumes the pending pairing code when it matches and has not expired; true when the chat is now paired. */
  pairChat(chatId: string, code: string, username: string | null): Promise<boolean>;
  setStatus(status: 'running' | 'stopped' | 'error', lastError: string | null): Promise<void>;
  log(message: string, error?: unknown): void;
}

const describeError = (error: unknown) => (error instanceof Error ? error.message : String(error));

export class TelegramBot {
  private readonly controller = new AbortController();
  private loop: Promise<void> | undefined;
  private api: TelegramApi | undefined;
  private activeRun: string | undefined;
  /** Paused runs being followed, so their answers reach the chat. */
  private readonly following = new Set<Promise<void>>();

  constructor(private readonly host: TelegramHost) {}

  start(): void {
    this.loop ??= this.poll().catch((error: unknown) => this.host.log('telegram channel loop ended', error));
  }

  /** Stops polling at once (aborting the pending getUpdates and any reply being sent) and cancels a run in progress. */
  async stop(): Promise<void> {
    this.controller.abort();
    if (this.activeRun) await this.host.runtime.cancel(this.activeRun).catch(() => undefined);
    await this.loop;
    await Promise.allSettled([...this.following]);
  }

  private get signal(): AbortSignal {
    return this.controller.signal;
  }

  private async poll(): Promise<void> {
    const { host } = this;
    try {
      this.api = new TelegramApi({ baseUrl: host.settings.apiBaseUrl, token: await host.resolveToken(), timeoutMs: host.settings.requestTimeoutMs });
    } catch (error) {
      await host.setStatus('error', `The bot token cannot be used: ${describeError(error)}`);
      return;
    }
    let offset = await host.loadOffset();
    let failures = 0;
    let status: 'running' | 'error' = 'running';
    await host.setStatus('running', null);
    // Calls asked about before a restart (or by the poller another process ran) still get their answers sent.
    for (const approval of await host.pendingApprovals().catch(() => [])) {
      const run = await host.runtime.get(approval.run_id).catch(() => undefined);
      if (run) this.followInBackground(chatOfSession(run.session_id, host.channel), approval);
    }
    while (!this.signal.aborted) {
      try {
        const updates = await this.api.getUpdates(offset, host.settings.pollTimeoutSeconds, this.signal);
        if (status !== 'running') await host.setStatus((status = 'running'), null);
        failures = 0;
        for (const update of updates) {
          if (this.signal.aborted) break;
          offset = update.update_id + 1;
          // Another process changed the channel: its poller of the new config takes it from here (and owns the status).
          if (!(await host.saveOffset(offset))) return;
          if (update.message) await this.handle(update.message);
          else if (update.callback_query) await this.press(update.callback_query);
        }
      } catch (error) {
        if (this.signal.aborted) break;
        failures += 1;
        if (error instanceof TelegramApiError && error.status === 401) {
          await host.setStatus('error', 'Telegram rejected the bot token (401 Unauthorized): configure the channel with a valid botToken');
          return;
        }
        const rateLimited = error instanceof TelegramApiError && error.retryAfter !== undefined;
        const delayMs = rateLimited
          ? (error as TelegramApiError).retryAfter! * 1000
          : Math.min(host.settings.retryDelayMs * 2 ** (failures - 1), MAX_BACKOFF_MS);
        status = rateLimited ? status : 'error';
        await host.setStatus(status, `${describeError(error)}; retrying in ${Math.ceil(delayMs / 1000)} s`);
        await sleep(delayMs, undefined, { signal: this.signal }).catch(() => undefined);
      }
    }
    await host.setStatus('stopped', null);
  }

  private async handle(message: TelegramMessage): Promise<void> {
    const chatId = String(message.chat.id);
    try {
      const code = message.text === undefined ? undefined : parsePairCommand(message.text);
      if (code !== undefined) return await this.pair(message, code);
      if (!(await this.host.isPaired(chatId))) {
        return await this.reply(chatId, `This chat is not paired with agent '${this.host.agent}'. Ask its operator for a pairing code and send /pair CODE here.`);
      }
      const voice = message.voice ?? message.audio;
      if (message.text !== undefined) return await this.converse(message, message.text, false);
      if (voice) {
        const transcript = await this.transcribe(chatId, voice.file_id, voice.mime_type ?? 'audio/ogg', voice.file_size);
        if (transcript) await this.converse(message, transcript, true);
        return;
      }
      await this.reply(chatId, 'I can read text messages and listen to voice notes; this kind of message I cannot handle.');
    } catch (error) {
      if (this.signal.aborted) return;
      // One bad update must not stop the channel: it is logged and the loop goes on.
      this.host.log(`telegram update in chat ${chatId} failed`, error);
    }
  }

  private async pair(message: TelegramMessage, code: string): Promise<void> {
    const chatId = String(message.chat.id);
    const username = message.chat.username ?? message.chat.title ?? message.from?.username ?? null;
    if (await this.host.isPaired(chatId)) return this.reply(chatId, `This chat is already paired with agent '${this.host.agent}'.`);
    const paired = code.length > 0 && (await this.host.pairChat(chatId, code, username));
    await this.reply(
      chatId,
      paired ? `Paired: this chat now talks to agent '${this.host.agent}'.` : 'That pairing code is not valid or has expired. Ask for a new one.',
    );
  }

  /** The transcript, or undefined after telling the chat why there is none. */
  private async transcribe(chatId: string, fileId: string, contentType: string, size: number | undefined): Promise<string | undefined> {
    const transcriber = this.host.transcriber();
    if (!transcriber) {
      await this.reply(chatId, 'Sorry, I cannot listen to voice notes here (no transcriber is configured). Please send text instead.');
      return undefined;
    }
    if (size !== undefined && size > MAX_VOICE_BYTES) {
      await this.reply(chatId, 'Sorry, that voice note is too long for me. Please send a shorter one.');
      return undefined;
    }
    try {
      const file = await this.api!.getFile(fileId, this.signal);
      if (!file.file_path) throw new TelegramApiError('Telegram getFile returned no file_path', 200);
      const audio = await this.api!.downloadFile(file.file_path, MAX_VOICE_BYTES, this.signal);
      const transcript = await transcriber.transcribe({ audio, contentType });
      if (transcript) return transcript;
      await this.reply(chatId, 'I could not hear any words in that voice note.');
    } catch (error) {
      if (this.signal.aborted) throw error;
      this.host.log(`telegram voice note in chat ${chatId} could not be transcribed`, error);
      await this.reply(chatId, 'Sorry, I could not transcribe that voice note. Please try again or send text.');
    }
    return undefined;
  }

  private async converse(message: TelegramMessage, text: string, voice: boolean): Promise<void> {
    const { host } = this;
    const chatId = String(message.chat.id);
    const channel = { channel: host.channel, type: 'telegram', chat_id: chatId };
    await host.emit({ agent_id: host.agent, run_id: null, event_type: 'channel.message_received', payload: { ...channel, content: text, ...(voice ? { voice: true } : {}) } });
    const handle = await host.runtime.start({
      agent: host.agent,
      message: text,
      source: SOURCE,
      session_id: sessionOfChat(host.channel, chatId),
      user_id: `telegram:${message.from?.id ?? chatId}`,
      ...(host.allowedTools ? { restrictions: [{ source: 'channel' as const, name: host.channel, patterns: host.allowedTools }] } : {}),
      ...(host.toolPolicy ? { policies: [{ source: 'channel' as const, name: host.channel, policy: host.toolPolicy }] } : {}),
    });
    this.activeRun = handle.run.id;
    const { run } = await handle.done.finally(() => (this.activeRun = undefined));
    if (this.signal.aborted) return;
    await this.answer(chatId, run);
  }

  /** Sends how the run ended, or asks for the call it waits on (and follows it until it goes on). */
  private async answer(chatId: string, run: Run): Promise<void> {
    const { host } = this;
    const channel = { channel: host.channel, type: 'telegram', chat_id: chatId };
    if (run.status === 'awaiting_approval' && run.pending_approval) {
      await this.askApproval(chatId, run.pending_approval);
      this.followInBackground(chatId, run.pending_approval);
      return;
    }
    const content =
      run.status === 'failed' ? `Sorry, I could not answer: ${run.error?.message ?? 'the run failed'}` : run.output || '(no answer)';
    await this.reply(chatId, content);
    await host.emit({ agent_id: host.agent, run_id: run.id, event_type: 'channel.message_sent', payload: { ...channel, status: run.status, content } });
  }

  private async askApproval(chatId: string, approval: Approval): Promise<void> {
    const args = JSON.stringify(approval.arguments ?? {});
    const text = `The agent wants to run ${approval.tool} with ${args.length > 1000 ? `${args.slice(0, 1000)}…` : args}. Allow it?`;
    const data = (decision: 'a' | 'd') => `ap:${decision}:${approval.run_id}:${approval.call_id}`;
    await this.api!.sendMessage(chatId, text, this.signal, {
      inline_keyboard: [[{ text: 'Approve', callback_data: data('a') }, { text: 'Deny', callback_data: data('d') }]],
    });
  }

  private followInBackground(chatId: string, approval: Approval): void {
    const following: Promise<void> = this.follow(chatId, approval)
      .catch((error: unknown) => {
        if (!this.signal.aborted) this.host.log(`telegram chat ${chatId}: following run ${approval.run_id} failed`, error);
      })
      .finally(() => this.following.delete(following));
    this.following.add(following);
  }

  /**
   * Waits until the run goes on past `approval` (decided here, through the API, or expired) to its end or its next
   * call to approve, then answers the chat.
   */
  private async follow(chatId: string, approval: Approval): Promise<void> {
    for await (const event of this.host.runEvents(approval.run_id, this.signal)) {
      const pausedAgain = event.event_type === 'approval.requested' && event.payload.tool_call_id !== approval.call_id;
      if (pausedAgain || RUN_END_EVENTS.has(event.event_type)) return this.answer(chatId, await this.host.runtime.get(approval.run_id));
    }
  }

  /** An Approve / Deny button pressed in a paired chat: decides the call of a run of this chat. */
  private async press(query: TelegramCallbackQuery): Promise<void> {
    const chatId = query.message ? String(query.message.chat.id) : undefined;
    const match = query.data ? APPROVAL_BUTTON.exec(query.data) : null;
    let answer = 'This button no longer does anything.';
    try {
      if (chatId && match && (await this.host.isPaired(chatId))) {
        const [, decision, runId, callId] = match;
        const run = await this.host.runtime.get(runId!);
        if (run.agent_id === this.host.agent && run.session_id === sessionOfChat(this.host.channel, chatId)) {
          const decided = await this.host.decide(runId!, callId!, { decision: decision === 'a' ? 'approve' : 'deny', for_session: false }, `telegram:${query.from.id}`);
          answer = decided.status === 'approved' ? 'Approved' : 'Denied';
        }
      }
    } catch (error) {
      answer = error instanceof Error ? error.message : answer;
    }
    await this.api!.answerCallbackQuery(query.id, answer, this.signal).catch((error: unknown) => this.host.log('telegram answerCallbackQuery failed', error));
  }

  private async reply(chatId: string, text: string): Promise<void> {
    for (const part of splitMessage(text)) await this.api!.sendMessage(chatId, part, this.signal);
  }
}
