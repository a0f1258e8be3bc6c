/** The two exposition formats `GET /metrics` writes. */
export type ExpositionFormat = 'prometheus' | 'openmetrics';

/**
 * Content types of the formats, as Prometheus expects them.
 *
 * @example
 * ```ts
 * response.headers.set('content-type', EXPOSITION_CONTENT_TYPES.openmetrics);
 * ```
 */
export const EXPOSITION_CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = {
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

/**
 * The format an `Accept` header asks for: OpenMetrics 1.0.0 when it names
 * `application/openmetrics-text` (any version, with a quality at least that of `text/plain`),
 * Prometheus text 0.0.4 otherwise, including when the header is absent.
 *
 * @example
 * ```ts
 * negotiateExposition('application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5'); // 'openmetrics'
 * negotiateExposition(undefined); // 'prometheus'
 * ```
 */
export function negotiateExposition(accept: string | undefined): ExpositionFormat {
  if (accept === undefined) return 'prometheus';
  let openMetrics = 0;
  let text = 0;
  for (const range of accept.split(',')) {
    const [type = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    const q = quality(parameters);
    if (type === 'application/openmetrics-text') openMetrics = Math.max(openMetrics, q);
    else if (type === 'text/plain' || type === 'text/*') text = Math.max(text, q);
  }
  return openMetrics > 0 && openMetrics >= text ? 'openmetrics' : 'prometheus';
}

function quality(parameters: readonly string[]): number {
  for (const parameter of parameters) {
    const match = /^q\s*=\s*([0-9.]+)$/.exec(parameter);
    if (match !== null) {
      const q = Number(match[1]);
      return Number.isFinite(q) ? Math.min(1, Math.max(0, q)) : 0;
    }
  }
  return 1;
}
