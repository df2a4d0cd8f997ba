/**
 * Events across processes: two `moxxy serve` processes on one database file. Turns run on A; one subscriber on A
 * and one on B read GET /v1/events/stream. Lag is the time from an event's timestamp (set where it was emitted) to
 * its arrival; both processes share this machine's clock. Same-process delivery is the baseline.
 */
import { request } from 'node:http';
import { fmt, startChild, summarize, type BenchSection } from '../lib.ts';

const TURNS = Number(process.env.BENCH_CROSS_TURNS ?? 200);
const WORDS = 10;

interface Subscriber {
  lags: number[];
  ids: string[];
  close(): void;
}

function subscribe(url: string): Promise<Subscriber> {
  const lags: number[] = [];
  const ids: string[] = [];
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/events/stream?agent_id=default&event_type=model.stream`, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const now = Date.now();
        buffer += chunk;
        const frames = buffer.split('\n\n');
        buffer = frames.pop()!;
        for (const frame of frames) {
          const data = frame.split('\n').find((line) => line.startsWith('data: '));
          if (!data) continue;
          const event = JSON.parse(data.slice(6)) as { event_id: string; timestamp: string };
          ids.push(event.event_id);
          lags.push(now - Date.parse(event.timestamp));
        }
      });
      resolve({ lags, ids, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

export default async function eventsCrossProcess(): Promise<BenchSection> {
  const config = { rateLimits: { enabled: false } };
  const a = await startChild(undefined, {}, config);
  const b = await startChild(undefined, { MOXXY_HOME: a.home }, config);
  try {
    const [local, remote] = await Promise.all([subscribe(a.url), subscribe(b.url)]);
    const message = Array.from({ length: WORDS }, (_, i) => `word${i}`).join(' ');
    for (let turn = 0; turn < TURNS; turn++) {
      const res = await fetch(`${a.url}/api/agents/default/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message }) });
      await res.arrayBuffer();
    }
    const expected = TURNS * WORDS;
    for (let waited = 0; waited < 10_000 && remote.ids.length < expected; waited += 50) await new Promise((r) => setTimeout(r, 50));
    local.close();
    remote.close();
    const rows = [
      ['same process (A → A)', local],
      ['other process (A → B)', remote],
    ] as const;
    const table = rows.map(([label, sub]) => {
      const s = summarize([...sub.lags]);
      const duplicates = sub.ids.length - new Set(sub.ids).size;
      return `| ${label} | ${sub.ids.length} / ${expected} | ${duplicates} | ${fmt(s.p50, 1)} | ${fmt(s.p99, 1)} | ${fmt(s.max, 1)} |`;
    });
    const inOrder = remote.ids.every((id, i) => i === 0 || id > remote.ids[i - 1]!);
    return {
      title: 'Events across processes (two servers, one database file)',
      markdown: [
        `${TURNS} echo turns of ${WORDS} words on A; one model.stream subscriber on A and one on B. Lag = arrival - event timestamp.`,
        '',
        '| subscriber | received | duplicates | lag p50 ms | lag p99 ms | max ms |',
        '|---|---:|---:|---:|---:|---:|',
        ...table,
        '',
        `B received A's events in emission order (UUIDv7 ids ascending): ${inOrder ? 'yes' : 'no'}. Target: cross-process p99 <= 250 ms.`,
      ].join('\n'),
    };
  } finally {
    await b.stop();
    await a.stop();
  }
}
