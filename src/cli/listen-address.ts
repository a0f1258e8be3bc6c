import { UsageError } from '../core/errors.js';

/**
 * Parses `--http` (or another listening option, `flag`): `8080`, `:8080`, `0.0.0.0:8080` or
 * `[::1]:8080`.
 *
 * @example
 * ```ts
 * listenAddress('0.0.0.0:8080'); // { hostname: '0.0.0.0', port: 8080 }
 * ```
 */
export function listenAddress(text: string, flag = '--http'): { hostname: string; port: number } {
  const trimmed = text.trim();
  const colon = trimmed.lastIndexOf(':');
  const host = colon < 0 ? '' : trimmed.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const portText = colon < 0 ? trimmed : trimmed.slice(colon + 1);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65_535)
    throw new UsageError(`${flag} expects [host:]port, got "${text}"`, {
      hint: `e.g. ${flag} 127.0.0.1:${flag === '--http' ? 8080 : 9465}`,
    });
  return { hostname: host === '' ? '127.0.0.1' : host, port };
}
