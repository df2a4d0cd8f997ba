/** Embeddings from any OpenAI-compatible endpoint (POST {baseUrl}/embeddings), used for vector recall. */
import { z } from 'zod';
import type { MoxxyConfig } from '../../config/schema.ts';
import { jsonBody, outboundFetch } from '../outbound-http.ts';

export type EmbeddingSettings = NonNullable<MoxxyConfig['memory']['embeddings']>;

/** One vector per text, in the order given. */
export type Embedder = (texts: string[]) => Promise<number[][]>;

const EmbeddingResponse = z.object({
  data: z.array(z.object({ index: z.number().int(), embedding: z.array(z.number()) })),
});

export function openAiEmbedder(settings: EmbeddingSettings): Embedder {
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/embeddings`;
  const headers: Record<string, string> = settings.apiKey ? { authorization: `Bearer ${settings.apiKey}` } : {};
  return async (texts) => {
    // No retries: a failed embedding only costs vector recall for this item or query, and callers are waiting.
    const response = await outboundFetch(url, { method: 'POST', ...jsonBody({ model: settings.model, input: texts }, headers) }, { timeoutMs: settings.timeoutMs });
    if (!response.ok) {
      await response.arrayBuffer().catch(() => undefined);
      throw new Error(`${url} answered HTTP ${response.status}`);
    }
    const body: unknown = await response.json();
    const vectors = EmbeddingResponse.parse(body)
      .data.sort((a, b) => a.index - b.index)
      .map((item) => item.embedding);
    if (vectors.length !== texts.length || vectors.some((vector) => vector.length !== settings.dimensions)) {
      throw new Error(`expected ${texts.length} embeddings of ${settings.dimensions} dimensions from ${url}`);
    }
    return vectors;
  };
}
