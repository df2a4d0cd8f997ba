/** The web_crawler built-in: fetches a page through the SSRF guard and returns its readable text. */
import { AppError } from '../../domain/errors.ts';
import type { SkillArgs, SkillResult } from '../../domain/skills.ts';
import { OutboundFetchError, type NetGuardOptions } from '../net-guard.ts';
import { fetchGuarded } from '../outbound-http.ts';

export interface CrawlSettings {
  guard: NetGuardOptions;
  timeoutMs: number;
  outputLimitBytes: number;
}

/** Pages are read up to this size; the rest is not downloaded. */
const PAGE_MAX_BYTES = 2 * 1024 * 1024;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity, body: string) => {
    const code = body.startsWith('#x') || body.startsWith('#X') ? parseInt(body.slice(2), 16) : body.startsWith('#') ? Number(body.slice(1)) : Number.NaN;
    if (!Number.isNaN(code)) return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
    return ENTITIES[body.toLowerCase()] ?? entity;
  });
}

/** Readable text of an HTML page: no scripts, styles or markup; block elements become line breaks. */
export function htmlToText(html: string): string {
  const text = html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style|noscript|template|svg|head)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<\/?(p|div|br|li|ul|ol|h[1-6]|tr|table|section|article|header|footer|nav|main|blockquote|pre|hr)\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ');
  return decodeEntities(text)
    .split('\n')
    .map((line) => line.replace(/\s+/g, ' ').trim())
    .filter(Boolean)
    .join('\n');
}

function urlOf(args: SkillArgs): unknown {
  return Array.isArray(args) ? args[0] : args.url;
}

export async function crawl(args: SkillArgs, settings: CrawlSettings, signal?: AbortSignal): Promise<SkillResult> {
  const started = performance.now();
  const result = (output: string, exit_code: number, truncated = false): SkillResult => ({
    output, exit_code, truncated, timed_out: false, sandbox: 'none', execution_time_ms: Math.round(performance.now() - started),
  });
  const url = urlOf(args);
  if (typeof url !== 'string' || !URL.canParse(url)) return result('usage: ["https://example.com/page"] or {"url": "https://example.com/page"}', 2);
  try {
    const page = await fetchGuarded(url, { guard: settings.guard, timeoutMs: settings.timeoutMs, maxBytes: PAGE_MAX_BYTES, overflow: 'truncate', signal });
    const text = /html|xml/i.test(page.contentType) || page.contentType === '' ? htmlToText(page.body) : page.body;
    const bytes = Buffer.from(text);
    const fits = bytes.length <= settings.outputLimitBytes;
    return result(fits ? text : bytes.subarray(0, settings.outputLimitBytes).toString('utf8'), 0, page.truncated || !fits);
  } catch (error) {
    if (error instanceof OutboundFetchError || (error instanceof AppError && error.code === 'URL_NOT_ALLOWED')) return result(error.message, 1);
    throw error;
  }
}
