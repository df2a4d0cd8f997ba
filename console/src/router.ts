/** Hash routes (`#/chat/default/ses_...`): the server serves one page at /, and every view has a link of its own. */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  page: string;
  params: string[];
}

function parse(hash: string): Route {
  const [page = '', ...params] = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  return { page: page || 'agents', params: params.filter(Boolean) };
}

export function href(page: string, ...params: Array<string | undefined>): string {
  return `#/${[page, ...params.filter((param): param is string => Boolean(param))].map(encodeURIComponent).join('/')}`;
}

export function navigate(page: string, ...params: Array<string | undefined>): void {
  location.hash = href(page, ...params);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const update = () => setRoute(parse(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}
