/** Speech to text through an OpenAI-compatible POST {baseUrl}/audio/transcriptions (Whisper, faster-whisper servers, Groq...). */
import type { MoxxyConfig } from '../config/schema.ts';
import { AppError } from '../domain/errors.ts';
import { outboundFetch } from './outbound-http.ts';

export interface TranscribeInput {
  audio: Uint8Array;
  /** e.g. audio/m4a; it also names the uploaded file, from which the API infers the format. */
  contentType: string;
  language?: string;
}

export interface Transcriber {
  transcribe(input: TranscribeInput): Promise<string>;
}

type TranscriptionConfig = NonNullable<MoxxyConfig['transcription']>;

/** audio/x-m4a -> m4a, audio/mpeg -> mp3: the extension the transcription API expects. */
function fileExtension(contentType: string): string {
  const subtype = contentType.split(';')[0]!.trim().split('/')[1]?.replace(/^x-/, '') ?? 'bin';
  return subtype === 'mpeg' ? 'mp3' : subtype;
}

/** Undefined when no transcriber is configured (the channel then answers 503 no_transcriber). */
export function createTranscriber(
  config: TranscriptionConfig | undefined,
  resolveSecret: (value: string) => Promise<string>,
  timeoutMs: number,
): Transcriber | undefined {
  if (!config) return undefined;
  return {
    async transcribe({ audio, contentType, language }) {
      const form = new FormData();
      form.set('model', config.model);
      if (language) form.set('language', language);
      form.set('file', new Blob([audio], { type: contentType }), `audio.${fileExtension(contentType)}`);
      const apiKey = config.apiKey ? await resolveSecret(config.apiKey) : undefined;
      const url = `${config.baseUrl.replace(/\/+$/, '')}/audio/transcriptions`;
      let response: Response;
      try {
        // The whole exchange is bounded, not only its start: the answer is read below under the same signal.
        response = await outboundFetch(
          url,
          { method: 'POST', body: form, headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} },
          { timeoutMs, signal: AbortSignal.timeout(timeoutMs) },
        );
      } catch (error) {
        const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (error as Error).message;
        throw new AppError('PROVIDER_ERROR', `Transcription failed: ${reason}`, { provider: 'transcription' });
      }
      if (!response.ok) {
        // Read, not cancelled: cancelling a body msw produced never settles.
        const text = await response.text().catch(() => '');
        const reason = (apiKey ? text.replaceAll(apiKey, '[REDACTED]') : text).slice(0, 200);
        throw new AppError('PROVIDER_ERROR', `Transcription failed: HTTP ${response.status} ${reason}`.trim(), { provider: 'transcription', status: response.status });
      }
      const body = (await response.json().catch(() => undefined)) as { text?: unknown } | undefined;
      if (typeof body?.text !== 'string') throw new AppError('PROVIDER_ERROR', 'Transcription failed: the answer has no text', { provider: 'transcription' });
      return body.text.trim();
    },
  };
}
