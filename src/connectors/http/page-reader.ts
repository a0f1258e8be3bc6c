import { PermanentError, SourceError } from '../../core/errors.js';
import type { HTTPClient, HTTPResponse } from './http-client.js';
import { recordsOf } from './json-path.js';
import { parseExactJSON } from '../shared/exact-json.js';
import type { Paginator } from './paginator.js';
import type { RequestAuth } from './request-auth.js';

/** What {@link readPages} needs to fetch and decode pages. */
export interface PageReaderOptions {
  readonly stepId: string;
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
  readonly recordsPath: string | undefined;
  readonly maxPages: number;
  readonly client: HTTPClient;
  readonly auth: RequestAuth;
  readonly paginator: Paginator;
  readonly redact: (url: string) => string;
  /**
   * Masks the source's secrets in text the API sent back (error bodies often echo the request's
   * headers); applied to a whole body before any part of it goes into a message.
   */
  readonly redactText: (text: string) => string;
}

/** One decoded page. */
export interface Page {
  /** 1-based. */
  readonly number: number;
  /** The requested URL, secrets masked. */
  readonly url: string;
  readonly records: readonly unknown[];
}

const BODY_SNIPPET_CHARS = 200;

/**
 * Fetches every page of a collection, in order, and yields its records. Numbers a double would
 * round (ids beyond 2^53, long decimals) are kept exact (see `parseExactJSON`). HTTP failures,
 * undecodable bodies and bodies without records where `recordsPath` points fail with a
 * {@link SourceError} naming the URL and the page.
 *
 * @example
 * ```ts
 * for await (const page of readPages(options)) stage.add(page.records, page.url);
 * ```
 */
export async function* readPages(options: PageReaderOptions): AsyncGenerator<Page> {
  const { paginator, stepId } = options;
  const requested = new Set<string>();
  let url: string | undefined = paginator.first();
  for (let number = 1; url !== undefined; number++) {
    if (number > options.maxPages) {
      throw new SourceError(
        stepId,
        `more than maxPages (${options.maxPages}) pages to read; stopped before ${options.redact(url)}`,
        {
          hint: 'raise maxPages if the collection really is that large, or narrow the query; records past the limit were not read',
        },
      );
    }
    if (requested.has(url)) {
      throw new SourceError(
        stepId,
        `pagination loops: page ${number} would request ${options.redact(url)} again`,
        {
          hint: 'the API returned the same next page (cursor or link) twice; check the pagination settings',
        },
      );
    }
    requested.add(url);
    const response = await fetchPage(options, url, number);
    const label = `${options.method} ${options.redact(url)} (page ${number})`;
    const body = decodeBody(options, response, label);
    const records = recordsOf(body, options.recordsPath);
    if (records === undefined) {
      throw new SourceError(
        stepId,
        `${label}: ${options.recordsPath === undefined ? 'the body is not an array of records' : `recordsPath ${options.recordsPath} matches nothing`}`,
        {
          hint: `set recordsPath to where the records are; the body looks like ${describeShape(body)}`,
        },
      );
    }
    yield { number, url: options.redact(url), records };
    url = paginator.next({ url, headers: response.headers, body, recordCount: records.length });
  }
}

async function fetchPage(
  options: PageReaderOptions,
  url: string,
  number: number,
): Promise<HTTPResponse> {
  const what = `page ${number}`;
  const send = async (): Promise<HTTPResponse> => {
    const target = new URL(url);
    const headers = new Headers({ accept: 'application/json', ...options.headers });
    if (options.body !== undefined && !headers.has('content-type'))
      headers.set('content-type', 'application/json');
    await options.auth.apply(target, headers);
    return options.client.send(
      {
        method: options.method,
        url: target.toString(),
        headers,
        ...(options.body === undefined ? {} : { body: options.body }),
      },
      what,
    );
  };
  let response = await send();
  if (response.status === 401 && options.auth.renew()) response = await send();
  const label = `${options.method} ${options.redact(url)} (${what})`;
  if (response.status === 401 || response.status === 403) {
    const problem = options.redactText(
      `HTTP ${response.status}${response.statusText === '' ? '' : ` ${response.statusText}`}`,
    );
    const said = snippet(options.redactText(response.text));
    throw new SourceError(
      options.stepId,
      `${label} was refused: ${problem}; the credentials were not accepted${said === '' ? '' : `: ${said}`}`,
      {
        cause: new PermanentError(`${problem}: ${said}`),
        hint:
          response.status === 401
            ? 'check the auth settings of the source (token, username/password, API key or client credentials); an env secret may hold a stale value'
            : 'the credentials are valid but lack access to this resource; check their scopes or permissions',
      },
    );
  }
  if (response.status < 200 || response.status >= 300) {
    throw new SourceError(
      options.stepId,
      (
        options.redactText(`${label} answered HTTP ${response.status} ${response.statusText}: `) +
        snippet(options.redactText(response.text))
      ).trim(),
      {
        cause: new PermanentError(`HTTP ${response.status}`),
        hint: 'check the url, query and body of the source; client errors (4xx) are not retried',
      },
    );
  }
  return response;
}

function decodeBody(options: PageReaderOptions, response: HTTPResponse, label: string): unknown {
  const { stepId } = options;
  const type = response.headers.get('content-type');
  if (type !== null && !/[/+]json\b/i.test(type.split(';')[0] ?? '')) {
    throw new SourceError(
      stepId,
      `${label} answered content type ${type}, not JSON: ${snippet(options.redactText(response.text))}`,
      {
        hint: 'check the url; an HTML answer often means a wrong path, a login page or a proxy error page',
      },
    );
  }
  if (response.text.trim() === '') {
    throw new SourceError(stepId, `${label} answered an empty body where JSON was expected`, {
      hint: 'check the url and the pagination settings; the API sent no content',
    });
  }
  try {
    return parseExactJSON(response.text);
  } catch (cause) {
    const length = response.text.length;
    const reason = options.redactText(cause instanceof Error ? cause.message : String(cause));
    throw new SourceError(
      stepId,
      `${label} answered invalid JSON (${reason}; ${length} characters, ending ${JSON.stringify(options.redactText(response.text).slice(-40))})`,
      {
        cause,
        hint: 'the body is not valid JSON or was cut off; if it ends mid-record the server or a proxy truncated it, so run again, otherwise check the url',
      },
    );
  }
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > BODY_SNIPPET_CHARS ? `${flat.slice(0, BODY_SNIPPET_CHARS)}...` : flat;
}

function describeShape(body: unknown): string {
  if (Array.isArray(body)) return `an array of ${body.length}`;
  if (typeof body === 'object' && body !== null) {
    const keys = Object.keys(body).slice(0, 10);
    return `an object with keys ${keys.map((k) => JSON.stringify(k)).join(', ') || '(none)'}`;
  }
  return `a ${typeof body === 'object' ? 'null' : typeof body}`;
}
