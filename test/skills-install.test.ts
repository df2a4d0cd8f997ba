import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { assertUrlAllowed, isPublicAddress, OutboundFetchError, type NetGuardOptions } from '../src/services/net-guard.ts';
import { locateSkill } from '../src/services/skills/install.ts';
import { parseManifestToml } from '../src/services/skills/manifest.ts';
import { htmlToText } from '../src/services/skills/web-crawler.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

/** msw cannot fake DNS, so the server's resolver answers from this table (no test touches the internet). */
const HOSTS: Record<string, string> = {
  'raw.githubusercontent.com': '185.199.108.133',
  'skills.example.com': '93.184.216.34',
  'mirror.example.com': '93.184.216.35',
  'evil.example.com': '127.0.0.1',
  'metadata.example.com': '169.254.169.254',
};

vi.mock('node:dns/promises', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:dns/promises')>();
  const lookup = async (host: string) => {
    const address = HOSTS[host];
    if (!address) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return [{ address, family: 4 }];
  };
  return { ...original, lookup, default: { ...original, lookup } };
});

const RAW = 'https://raw.githubusercontent.com/user/moxxy-skills/main/skills/weather';
const WEATHER_MANIFEST = `# The weather skill
name = "weather"
description = "Get weather information"
version = "1.2.0"
run_command = "bash"
entrypoint = "weather.sh"
needs_network = false
env_keys = [
  "WEATHER_API_KEY", # used later
]
usage_example = '<invoke name="weather">["London"]</invoke>'
`;
const WEATHER_CODE = '#!/bin/bash\necho "Weather for $1: sunny"\n';

const msw = setupServer();
let server: TestServer;
const hits: string[] = [];

beforeAll(async () => {
  msw.listen({ onUnhandledRequest: 'bypass' });
  // Outbound requests only, not the test's own calls to the server.
  msw.events.on('request:start', ({ request }) => void (request.url.startsWith(server.url) || hits.push(request.url)));
  server = await startTestServer({ skills: { fetchTimeoutMs: 3000 } });
  await server.api.post('/api/agents', { name: 'installer' });
});
afterEach(() => {
  msw.resetHandlers();
  hits.length = 0;
});
afterAll(async () => {
  msw.close();
  await server.close();
});

const install = (body: Record<string, unknown>, api = server.api) => api.post('/api/agents/installer/skills/install', body);
const text = (body: string, init?: ResponseInit) => new HttpResponse(body, { ...init, headers: { 'content-type': 'text/plain', ...init?.headers } });

describe('install from a URL', () => {
  it('installs from a GitHub tree URL through raw.githubusercontent.com, and the skill runs', async () => {
    msw.use(
      http.get(`${RAW}/manifest.toml`, () => text(WEATHER_MANIFEST)),
      http.get(`${RAW}/weather.sh`, () => text(WEATHER_CODE)),
    );
    const url = 'https://github.com/user/moxxy-skills/tree/main/skills/weather';
    const res = await install({ url, name: 'weather' });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({
      name: 'weather', description: 'Get weather information', version: '1.2.0', language: 'bash', run_command: 'bash', entrypoint: 'weather.sh',
      env_keys: ['WEATHER_API_KEY'], usage_example: '<invoke name="weather">["London"]</invoke>', source_url: url, builtin: false,
    });
    const source = (await server.api.get('/api/agents/installer/skills/weather/source')).body.data;
    expect(source).toEqual({ manifest: WEATHER_MANIFEST, code: WEATHER_CODE });
    const run = await server.api.post('/api/agents/installer/skills/weather/invoke', { args: ['London'] });
    expect(run.body.data.output).toBe('Weather for London: sunny\n');

    const again = await install({ url, name: 'weather' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('SKILL_EXISTS');
  });

  it('installs from a base URL with skill.json when there is no manifest.toml, named by the manifest', async () => {
    msw.use(
      http.get('https://skills.example.com/pkg/greeter/manifest.toml', () => text('not found', { status: 404 })),
      http.get('https://skills.example.com/pkg/greeter/skill.json', () =>
        HttpResponse.json({ name: 'greeter', description: 'Greets', language: 'python', needs_fs_write: true, author: 'someone' }),
      ),
      http.get('https://skills.example.com/pkg/greeter/main.py', () => text('import sys\nprint("hello", *sys.argv[1:])\n')),
    );
    const refused = await install({ url: 'https://skills.example.com/pkg/greeter/' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'SKILL_CONSENT_REQUIRED', details: { requested: ['needs_fs_write'], missing: ['needs_fs_write'] } });
    expect((await server.api.get('/api/agents/installer/skills/greeter')).status).toBe(404);
    const res = await install({ url: 'https://skills.example.com/pkg/greeter/', approve: ['needs_fs_write'] });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({ name: 'greeter', language: 'python', run_command: 'python3', entrypoint: 'main.py', needs_fs_write: true, version: '1.0.0' });
    expect((await server.api.post('/api/agents/installer/skills/greeter/invoke', { args: ['you'] })).body.data.output).toBe('hello you\n');
  });

  it('follows redirects between public hosts', async () => {
    msw.use(
      http.get('https://skills.example.com/moved/manifest.toml', () => new HttpResponse(null, { status: 302, headers: { location: 'https://mirror.example.com/m/manifest.toml' } })),
      http.get('https://mirror.example.com/m/manifest.toml', () => text('name = "moved"\nlanguage = "sh"\n')),
      http.get('https://skills.example.com/moved/run.sh', () => text('echo moved\n')),
    );
    const res = await install({ url: 'https://skills.example.com/moved' });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({ name: 'moved', language: 'sh', entrypoint: 'run.sh' });
  });

  it('refuses a redirect to a private address, without fetching it', async () => {
    msw.use(
      http.get('https://skills.example.com/trap/manifest.toml', () =>
        new HttpResponse(null, { status: 301, headers: { location: 'https://169.254.169.254/latest/meta-data/' } }),
      ),
      http.get('https://169.254.169.254/*', () => text('secret credentials')),
    );
    const res = await install({ url: 'https://skills.example.com/trap' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('URL_NOT_ALLOWED');
    expect(res.body.error.message).toContain('169.254.169.254');
    expect(hits).toEqual(['https://skills.example.com/trap/manifest.toml']);
  });

  it('gives up after three redirects', async () => {
    let n = 0;
    msw.use(http.get('https://skills.example.com/loop/*', () => new HttpResponse(null, { status: 302, headers: { location: `/loop/${++n}` } })));
    const res = await install({ url: 'https://skills.example.com/loop/manifest.toml' });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('SKILL_INSTALL_FAILED');
    expect(res.body.error.details.reason).toContain('more than 3 redirects');
  });

  it('refuses plain http, loopback, link-local (metadata) and names that resolve to them', async () => {
    for (const url of ['http://skills.example.com/x', 'https://127.0.0.1/x', 'https://169.254.169.254/x', 'https://[::1]/x', 'https://10.0.0.8/x', 'https://evil.example.com/x', 'https://metadata.example.com/x', 'ftp://skills.example.com/x']) {
      const res = await install({ url });
      expect(res.status, url).toBe(400);
      expect(res.body.error.code, url).toBe('URL_NOT_ALLOWED');
    }
    expect(hits).toEqual([]);
  });

  it('refuses a manifest over 64 KB and an entrypoint over 1 MB', async () => {
    msw.use(
      http.get('https://skills.example.com/big-manifest/manifest.toml', () => text(`name = "big"\nlanguage = "sh"\n${'# padding\n'.repeat(7000)}`)),
      http.get('https://skills.example.com/big-code/manifest.toml', () => text('name = "big"\nlanguage = "sh"\n')),
      http.get('https://skills.example.com/big-code/run.sh', () => text(`echo hi\n${'#'.repeat(1024 * 1024)}\n`)),
    );
    const manifest = await install({ url: 'https://skills.example.com/big-manifest' });
    expect(manifest.status).toBe(502);
    expect(manifest.body.error).toMatchObject({ code: 'SKILL_INSTALL_FAILED' });
    expect(manifest.body.error.details.reason).toContain('larger than 65536 bytes');
    const code = await install({ url: 'https://skills.example.com/big-code' });
    expect(code.body.error.details.reason).toContain('larger than 1048576 bytes');
    expect((await server.api.get('/api/agents/installer/skills/big')).body.error.code).toBe('SKILL_NOT_FOUND');
  });

  it('explains a missing package, an invalid manifest and a slow server as 502 SKILL_INSTALL_FAILED', async () => {
    msw.use(
      http.get('https://skills.example.com/gone/*', () => text('nope', { status: 404 })),
      http.get('https://skills.example.com/tables/manifest.toml', () => text('name = "t"\n[permissions]\nnet = true\n')),
      http.get('https://skills.example.com/slow/manifest.toml', async ({ request }) => {
        await new Promise((resolve) => request.signal.addEventListener('abort', resolve));
        return text('too late');
      }),
    );
    const gone = await install({ url: 'https://skills.example.com/gone' });
    expect(gone.body.error).toMatchObject({ code: 'SKILL_INSTALL_FAILED', details: { reason: 'no manifest.toml or skill.json at https://skills.example.com/gone' } });
    const tables = await install({ url: 'https://skills.example.com/tables' });
    expect(tables.body.error.details.reason).toBe('manifest.toml line 2: tables are not supported');
    const slow = await install({ url: 'https://skills.example.com/slow' });
    expect(slow.body.error.details.reason).toContain('did not answer within 3000 ms');
  });

  it('installs over plain http from loopback only when allowHttpLoopbackInstall is set', async () => {
    const files: Record<string, string> = { '/pkg/manifest.toml': 'name = "local"\nlanguage = "sh"\n', '/pkg/run.sh': 'echo local\n' };
    const local: Server = createServer((req, res) => {
      const body = files[req.url ?? ''];
      res.writeHead(body ? 200 : 404).end(body ?? 'missing');
    });
    await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(local.address() as { port: number }).port}/pkg`;
    const dev = await startTestServer({ skills: { allowHttpLoopbackInstall: true } });
    try {
      expect((await install({ url })).body.error.code).toBe('URL_NOT_ALLOWED');
      await dev.api.post('/api/agents', { name: 'installer' });
      const res = await install({ url }, dev.api);
      expect(res.status).toBe(201);
      expect((await dev.api.post('/api/agents/installer/skills/local/invoke', {})).body.data.output).toBe('local\n');
    } finally {
      await dev.close();
      await new Promise((resolve) => local.close(resolve));
    }
  });

  it('answers AGENT_NOT_FOUND for an unknown agent before fetching anything', async () => {
    const res = await server.api.post('/api/agents/ghost/skills/install', { url: 'https://skills.example.com/x' });
    expect(res.body.error.code).toBe('AGENT_NOT_FOUND');
    expect(hits).toEqual([]);
  });
});

describe('web_crawler', () => {
  it('returns the text of a page without tags, scripts or styles', async () => {
    msw.use(
      http.get('https://skills.example.com/article', () =>
        HttpResponse.html(
          '<html><head><title>T</title><style>body{color:red}</style></head><body><script>alert("x")</script>' +
            '<h1>Hello &amp; welcome</h1><p>First <b>bold</b> paragraph.</p><!-- hidden --><div>Second&#33;</div></body></html>',
        ),
      ),
    );
    const res = await server.api.post('/api/agents/installer/skills/web_crawler/invoke', { args: ['https://skills.example.com/article'] });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ output: 'Hello & welcome\nFirst bold paragraph.\nSecond!', exit_code: 0, truncated: false });
  });

  it('takes {"url": ...} too, and refuses private addresses as a failed run', async () => {
    msw.use(http.get('https://169.254.169.254/*', () => text('secret credentials')));
    const res = await server.api.post('/api/agents/installer/skills/web_crawler/invoke', { args: { url: 'https://metadata.example.com/latest' } });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('SKILL_FAILED');
    expect(res.body.error.details).toMatchObject({ exit_code: 1 });
    expect(res.body.error.details.output).toContain('URL not allowed: metadata.example.com resolves to 169.254.169.254');
    expect(hits).toEqual([]);
  });

  it('runs as an agent tool', async () => {
    await server.api.post('/api/agents', { name: 'crawler', allowed_tools: ['web_crawler'] });
    msw.use(http.get('https://skills.example.com/plain.txt', () => text('just text')));
    const res = await server.api.post('/api/agents/crawler/chat', { message: '<invoke name="web_crawler">["https://skills.example.com/plain.txt"]</invoke>' });
    expect(res.body.data.content).toBe('web_crawler: just text');
  });
});

describe('the SSRF guard', () => {
  const lookupTo = (...addresses: string[]) => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  const guard = (lookup: NetGuardOptions['lookup'], extra: Partial<NetGuardOptions> = {}): NetGuardOptions => ({
    allowPrivateNetwork: false, allowHttpLoopback: false, lookup, ...extra,
  });

  it('classifies addresses', () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '0.0.0.0', '100.100.100.200', '::1', '::', 'fe80::1', 'fc00::1', 'fd00:ec2::254', '::ffff:127.0.0.1', '::ffff:7f00:1']) {
      expect(isPublicAddress(address), address).toBe(false);
    }
    for (const address of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) expect(isPublicAddress(address), address).toBe(true);
  });

  it('refuses names resolving to loopback or metadata addresses, or to any private address among several', async () => {
    await expect(assertUrlAllowed(new URL('https://a.test/'), guard(lookupTo('127.0.0.1')))).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' });
    await expect(assertUrlAllowed(new URL('https://a.test/'), guard(lookupTo('169.254.169.254')))).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' });
    await expect(assertUrlAllowed(new URL('https://a.test/'), guard(lookupTo('93.184.216.34', '10.0.0.1')))).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' });
    await expect(assertUrlAllowed(new URL('https://[::ffff:127.0.0.1]/'), guard(lookupTo()))).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' });
    await expect(assertUrlAllowed(new URL('https://a.test/'), guard(lookupTo('93.184.216.34')))).resolves.toBeUndefined();
    await expect(assertUrlAllowed(new URL('https://a.test/'), guard(lookupTo()))).rejects.toBeInstanceOf(OutboundFetchError);
  });

  it('lets private addresses through only when allowed, and plain http only to loopback when allowed', async () => {
    await expect(assertUrlAllowed(new URL('https://a.test/'), guard(lookupTo('10.0.0.1'), { allowPrivateNetwork: true }))).resolves.toBeUndefined();
    await expect(assertUrlAllowed(new URL('http://a.test/'), guard(lookupTo('10.0.0.1'), { allowPrivateNetwork: true }))).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' });
    await expect(assertUrlAllowed(new URL('http://localhost/'), guard(lookupTo('127.0.0.1', '::1'), { allowHttpLoopback: true }))).resolves.toBeUndefined();
    await expect(assertUrlAllowed(new URL('http://a.test/'), guard(lookupTo('93.184.216.34'), { allowHttpLoopback: true }))).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' });
    await expect(assertUrlAllowed(new URL('https://a.test/'), guard(lookupTo('169.254.169.254'), { allowHttpLoopback: true }))).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' });
  });
});

describe('skill locations and manifests', () => {
  it('maps GitHub URLs to raw.githubusercontent.com and accepts base URLs or manifest URLs', () => {
    expect(locateSkill('https://github.com/user/moxxy-skills/tree/main/skills/weather')).toEqual({ base: RAW, manifests: [`${RAW}/manifest.toml`, `${RAW}/skill.json`] });
    expect(locateSkill('https://github.com/user/one-skill').base).toBe('https://raw.githubusercontent.com/user/one-skill/HEAD');
    expect(locateSkill('https://github.com/user/r/blob/v2/s/skill.json')).toEqual({ base: 'https://raw.githubusercontent.com/user/r/v2/s', manifests: ['https://raw.githubusercontent.com/user/r/v2/s/skill.json'] });
    expect(locateSkill('https://skills.example.com/a/b/?x=1#frag')).toEqual({
      base: 'https://skills.example.com/a/b', manifests: ['https://skills.example.com/a/b/manifest.toml', 'https://skills.example.com/a/b/skill.json'],
    });
  });

  it('reads manifest.toml as TOML (smol-toml) and refuses tables, naming the line', () => {
    expect(parseManifestToml('name = "x"\ndescription = """two\nlines"""\nusage_example = \'lit\\n\' # c\nlanguage = "sh"\nenv_keys = ["A_KEY", \'B\',\n  "C",]\r\n')).toMatchObject({
      name: 'x', description: 'two\nlines', usage_example: 'lit\\n', language: 'sh', env_keys: ['A_KEY', 'B', 'C'],
    });
    for (const [source, error] of [
      ['[table]\n', 'manifest.toml line 1: tables are not supported'],
      ['language = "sh"\nmeta = { a = 1 }\n', 'manifest.toml line 2: tables are not supported'],
      ['a = 1\na = 2\n', 'manifest.toml line 2: '],
      ['a = "open\n', 'manifest.toml line 1: '],
      ['a = yes\n', 'manifest.toml line 1: '],
      ['language = "sh"\nneeds_env = "yes"\n', 'invalid manifest'],
    ] as const) {
      expect(() => parseManifestToml(source), source).toThrow(error);
    }
  });

  it('settles language, run_command and entrypoint, and refuses entrypoints that are paths', () => {
    expect(parseManifestToml('name = "x"\nentrypoint = "tool.py"\n')).toMatchObject({ language: 'python', run_command: 'python3', entrypoint: 'tool.py' });
    expect(parseManifestToml('run_command = "node"\n')).toMatchObject({ language: 'node', entrypoint: 'index.js' });
    expect(() => parseManifestToml('language = "sh"\nentrypoint = "../../etc/passwd"\n')).toThrow(/entrypoint/);
    expect(() => parseManifestToml('language = "sh"\nrun_command = "rm"\n')).toThrow("run_command 'rm' does not run sh");
    expect(() => parseManifestToml('description = "no language"\n')).toThrow(/must name a language/);
  });

  it('turns HTML into readable text', () => {
    expect(htmlToText('<ul><li>one</li><li>two &lt;3</li></ul><noscript>enable js</noscript><p>a&nbsp;b &#x41;</p>')).toBe('one\ntwo <3\na b A');
  });
});
