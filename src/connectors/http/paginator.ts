import { nextLink } from './link-header.js';
import { valueAt } from './json-path.js';
import type { PaginationConfig } from './rest-config.js';

/** What a paginator sees of one page. */
export interface PageSeen {
  /** The URL that was requested for the page. */
  readonly url: string;
  readonly headers: Headers;
  readonly body: unknown;
  readonly recordCount: number;
}

/** Walks the pages of a collection: the first URL, then each next one from the page before. */
export interface Paginator {
  first(): string;
  /** The URL of the page after `page`, or undefined when `page` was the last. */
  next(page: PageSeen): string | undefined;
}

/**
 * A paginator for a pagination config. `baseURL` is the first request's URL with every
 * configured query parameter; page, offset and cursor parameters are set on it.
 *
 * @example
 * ```ts
 * const pages = createPaginator({ type: 'page', param: 'page', startAt: 1 }, 'https://api.x/items');
 * pages.first(); // "https://api.x/items?page=1"
 * ```
 */
export function createPaginator(config: PaginationConfig, baseURL: string): Paginator {
  const withParams = (params: Readonly<Record<string, string | number>>): string => {
    const url = new URL(baseURL);
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, String(value));
    return url.toString();
  };
  switch (config.type) {
    case 'none':
      return { first: () => baseURL, next: () => undefined };
    case 'page': {
      let page = config.startAt;
      const size: Record<string, number> =
        config.pageSize !== undefined && config.sizeParam !== undefined
          ? { [config.sizeParam]: config.pageSize }
          : {};
      return {
        first: () => withParams({ ...size, [config.param]: page }),
        next(seen) {
          if (seen.recordCount === 0) return undefined;
          if (config.pageSize !== undefined && seen.recordCount < config.pageSize) return undefined;
          page += 1;
          return withParams({ ...size, [config.param]: page });
        },
      };
    }
    case 'offset': {
      let offset = 0;
      const at = (): string =>
        withParams({ [config.offsetParam]: offset, [config.limitParam]: config.limit });
      return {
        first: at,
        next(seen) {
          offset += seen.recordCount;
          if (seen.recordCount === 0 || seen.recordCount < config.limit) return undefined;
          if (config.totalPath !== undefined) {
            const total = Number(valueAt(config.totalPath, seen.body));
            if (Number.isFinite(total) && offset >= total) return undefined;
          }
          return at();
        },
      };
    }
    case 'cursor':
      return {
        first: () => baseURL,
        next(seen) {
          const cursor = valueAt(config.cursorPath, seen.body);
          if (cursor === undefined || cursor === '' || cursor === false) return undefined;
          return withParams({ [config.cursorParam]: String(cursor) });
        },
      };
    case 'link':
      return { first: () => baseURL, next: (seen) => nextLink(seen.headers.get('link'), seen.url) };
    case 'next_url':
      return {
        first: () => baseURL,
        next(seen) {
          const next = valueAt(config.nextUrlPath, seen.body);
          if (typeof next !== 'string' || next === '') return undefined;
          return new URL(next, seen.url).toString();
        },
      };
  }
}
