/**
 * The few Telegram Bot API methods the channel uses (over src/services/outbound-http.ts, with the channel's timeouts),
 * their failures as TelegramApiError. The bot token is part of every URL, so no message here ever contains a URL.
 */
import { jsonBody, OutboundTimeout, outboundFetch } from '../outbound-http.ts';

export interface TelegramChat {
  id: number;
  type: string;
  username?: string;
  title?: string;
  first_name?: string;
}

export interface TelegramVoice {
  file_id: string;
  mime_type?: string;
  file_size?: number;
  duration?: number;
}

export interface TelegramMessage {
  message_id: number;
  chat: TelegramChat;
  from?: { id: number; username?: string; first_name?: string };
  text?: string;
  voice?: TelegramVoice;
  audio?: TelegramVoice;
}

/** A press of an inline keyboard button (the Approve / Deny buttons of a tool call waiting for approval). */
export interface TelegramCallbackQuery {
  id: string;
  from: { id: number; username?: string };
  message?: { message_id: number; chat: TelegramChat };
  data?: string;
}

export interface TelegramUpdate {
  update_id: number;
  message?: TelegramMessage;
  callback_query?: TelegramCallbackQuery;
}

/** Buttons under a message; each press comes back as a callback_query with the button's data (at most 64 bytes). */
export interface InlineKeyboard {
  inline_keyboard: Array<Array<{ text: string; callback_data: string }>>;
}

interface TelegramAnswer<T> {
  ok: boolean;
  result?: T;
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number };
}

export class TelegramApiError extends Error {
  constructor(
    message: string,
    /** The HTTP status, or undefined when no answer came (network failure, timeout). */
    readonly status: number | undefined,
    /** Seconds Telegram asks to wait (429). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'TelegramApiError';
  }
}

export interface TelegramApiSettings {
  baseUrl: string;
  token: string;
  /** For every call except getUpdates, which waits its long-poll timeout on top. */
  timeoutMs: number;
}

/** Telegram refuses messages longer than this. */
export const MAX_MESSAGE_LENGTH = 4096;

export class TelegramApi {
  private readonly base: string;

  constructor(private readonly settings: TelegramApiSettings) {
    this.base = settings.baseUrl.replace(/\/+$/, '');
  }

  /** Long-polls for updates from `offset` on; answers after `timeoutSeconds` with [] when nothing came. */
  getUpdates(offset: number | undefined, timeoutSeconds: number, signal: AbortSignal): Promise<TelegramUpdate[]> {
    const body = { timeout: timeoutSeconds, allowed_updates: ['message', 'callback_query'], ...(offset === undefined ? {} : { offset }) };
    return this.call<TelegramUpdate[]>('getUpdates', body, signal, timeoutSeconds * 1000 + this.settings.timeoutMs);
  }

  async sendMessage(chatId: number | string, text: string, signal: AbortSignal, replyMarkup?: InlineKeyboard): Promise<void> {
    await this.call('sendMessage', { chat_id: chatId, text, ...(replyMarkup ? { reply_markup: replyMarkup } : {}) }, signal);
  }

  /** Ends the button's loading state, showing `text` to whoever pressed it. */
  async answerCallbackQuery(callbackQueryId: string, text: string, signal: AbortSignal): Promise<void> {
    await this.call('answerCallbackQuery', { callback_query_id: callbackQueryId, text }, signal);
  }

  getFile(fileId: string, signal: AbortSignal): Promise<{ file_path?: string; file_size?: number }> {
    return this.call('getFile', { file_id: fileId }, signal);
  }

  /** The bytes of a file getFile described, refused beyond `maxBytes`. */
  async downloadFile(filePath: string, maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
    const response = await this.request('download', () =>
      outboundFetch(`${this.base}/file/bot${this.settings.token}/${filePath}`, { method: 'GET' }, { signal, timeoutMs: this.settings.timeoutMs }),
    );
    if (!response.ok) {
      await response.arrayBuffer().catch(() => undefined);
      throw new TelegramApiError(`Telegram file download failed: HTTP ${response.status}`, response.status);
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length > maxBytes) throw new TelegramApiError(`The file is larger than ${maxBytes} bytes`, response.status);
    return bytes;
  }

  private async call<T>(method: string, body: unknown, signal: AbortSignal, timeoutMs = this.settings.timeoutMs): Promise<T> {
    const response = await this.request(method, () =>
      outboundFetch(`${this.base}/bot${this.settings.token}/${method}`, { method: 'POST', ...jsonBody(body) }, { signal, timeoutMs }),
    );
    const answer = (await response.json().catch(() => undefined)) as TelegramAnswer<T> | undefined;
    if (response.ok && answer?.ok) return answer.result as T;
    const description = typeof answer?.description === 'string' ? answer.description.slice(0, 200) : response.statusText;
    throw new TelegramApiError(`Telegram ${method} failed: HTTP ${response.status} ${description}`.trim(), response.status, answer?.parameters?.retry_after);
  }

  private async request(method: string, send: () => Promise<Response>): Promise<Response> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof OutboundTimeout) throw new TelegramApiError(`Telegram ${method} did not answer in time`, undefined);
      // An abort is the caller's own doing: passed on as is, so the caller can tell it from a failure.
      if ((error as Error).name === 'AbortError') throw error;
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      throw new TelegramApiError(`Telegram ${method} failed: ${cause ?? 'network error'}`, undefined);
    }
  }
}

/** Splits a reply into messages Telegram accepts, preferring to break at a newline. */
export function splitMessage(text: string): string[] {
  const parts: string[] = [];
  let rest = text;
  while (rest.length > MAX_MESSAGE_LENGTH) {
    const newline = rest.lastIndexOf('\n', MAX_MESSAGE_LENGTH);
    const cut = newline > MAX_MESSAGE_LENGTH / 2 ? newline : MAX_MESSAGE_LENGTH;
    parts.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^\n/, '');
  }
  if (rest.length > 0 || parts.length === 0) parts.push(rest);
  return parts;
}
