/** Installing a skill from a URL: where its files are, fetching them through the SSRF guard, and reading the manifest. */
import { AppError } from '../../domain/errors.ts';
import { OutboundFetchError, type NetGuardOptions } from '../net-guard.ts';
import { fetchGuarded } from '../outbound-http.ts';
import { ManifestError, parseManifestJson, parseManifestToml, type Manifest } from './manifest.ts';

export const MANIFEST_MAX_BYTES = 64 * 1024;
export const ENTRYPOINT_MAX_BYTES = 1024 * 1024;

const MANIFEST_FILES = ['manifest.toml', 'skill.json'] as const;

export interface SkillLocation {
  /** Directory URL the entrypoint is fetched from, without a trailing slash. */
  base: string;
  /** Manifest URLs to try, in order. */
  manifests: string[];
}

/**
 * GitHub tree URLs (https://github.com/OWNER/REPO/tree/REF/PATH) become raw.githubusercontent.com URLs; a repository
 * URL means its default branch. Any other URL is the directory holding the files, or a manifest file itself.
 */
export function locateSkill(url: string): SkillLocation {
  const parsed = new URL(url);
  parsed.hash = '';
  parsed.search = '';
  if (parsed.hostname === 'github.com' || parsed.hostname === 'www.github.com') {
    const [owner, repo, kind, ref, ...path] = parsed.pathname.split('/').filter(Boolean);
    if (owner && repo && (kind === undefined || ((kind === 'tree' || kind === 'blob') && ref))) {
      const base = ['https://raw.githubusercontent.com', owner, repo.replace(/\.git$/, ''), ref ?? 'HEAD', ...path].join('/');
      return locateSkill(base);
    }
  }
  const href = parsed.href.replace(/\/+$/, '');
  const file = MANIFEST_FILES.find((name) => href.endsWith(`/${name}`));
  if (file) return { base: href.slice(0, -file.length - 1), manifests: [href] };
  return { base: href, manifests: MANIFEST_FILES.map((name) => `${href}/${name}`) };
}

export interface FetchedSkill {
  manifest: Manifest;
  manifestText: string;
  code: string;
}

export interface InstallSettings {
  guard: NetGuardOptions;
  timeoutMs: number;
}

function installFailed(url: string, reason: string): AppError {
  return new AppError('SKILL_INSTALL_FAILED', `Could not install a skill from ${url}: ${reason}`, { url, reason });
}

/** Fetches the manifest (manifest.toml, else skill.json) and the entrypoint it names. */
export async function fetchSkill(url: string, settings: InstallSettings): Promise<FetchedSkill> {
  const location = locateSkill(url);
  const get = (target: string, maxBytes: number) => fetchGuarded(target, { guard: settings.guard, timeoutMs: settings.timeoutMs, maxBytes });
  try {
    let found: { text: string; json: boolean } | undefined;
    for (const manifestUrl of location.manifests) {
      try {
        found = { text: (await get(manifestUrl, MANIFEST_MAX_BYTES)).body, json: manifestUrl.endsWith('.json') };
        break;
      } catch (error) {
        // A missing manifest.toml is normal for skill.json packages; anything else is a real failure.
        if (!(error instanceof OutboundFetchError && error.status === 404)) throw error;
      }
    }
    if (!found) throw installFailed(url, `no ${MANIFEST_FILES.join(' or ')} at ${location.base}`);
    const manifest = found.json ? parseManifestJson(found.text) : parseManifestToml(found.text);
    const code = (await get(`${location.base}/${manifest.entrypoint}`, ENTRYPOINT_MAX_BYTES)).body;
    if (code.length === 0) throw installFailed(url, `${manifest.entrypoint} is empty`);
    return { manifest, manifestText: found.text, code };
  } catch (error) {
    if (error instanceof OutboundFetchError || error instanceof ManifestError) throw installFailed(url, error.message);
    throw error;
  }
}
