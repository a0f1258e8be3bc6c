/**
 * The target of the `rel="next"` link of an RFC 8288 `Link` header, resolved against the URL
 * of the response; undefined when there is none.
 *
 * @example
 * ```ts
 * nextLink('<https://api.x/items?page=2>; rel="next", <https://api.x/items?page=9>; rel="last"', 'https://api.x/items');
 * // "https://api.x/items?page=2"
 * ```
 */
export function nextLink(header: string | null, base: string): string | undefined {
  if (header === null) return undefined;
  const link = /<([^>]*)>((?:\s*;\s*[^;,]+(?:=(?:"[^"]*"|[^;,]*))?)*)/g;
  for (const match of header.matchAll(link)) {
    const params = match[2] ?? '';
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^;,\s]+))/i.exec(params);
    const relations = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/);
    if (relations.includes('next')) return new URL(match[1] ?? '', base).toString();
  }
  return undefined;
}
