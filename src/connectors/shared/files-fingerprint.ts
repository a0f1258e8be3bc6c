import { lazy } from '../../contracts/lazy-implementation.js';

/**
 * The `fingerprint` of file sources (files' sizes and modification times), loading the file
 * resolution (and its glob library) on first use.
 *
 * @example
 * ```ts
 * export const csvSource = defineSource({ ..., fingerprint: fingerprintFiles });
 * ```
 */
export const fingerprintFiles = lazy(() => import('./resolve-files.js'), 'filesFingerprint');
