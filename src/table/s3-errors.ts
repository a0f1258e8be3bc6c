import { TableError, TableWriteError } from '../core/errors.js';

/** What an S3 request was doing when it failed, for the message. */
export interface S3RequestContext {
  /** The table, `s3://bucket/prefix`. */
  readonly table: string;
  readonly bucket: string;
  /** The object or prefix the request was about, as an `s3://` URL. */
  readonly url: string;
  /** The endpoint of an S3-compatible store, when one is configured. */
  readonly endpoint: string | undefined;
  /** Whether the request writes (put, delete): its failure refuses the write. */
  readonly write: boolean;
}

interface SDKError {
  readonly name?: string;
  readonly code?: string;
  readonly Code?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'TimeoutError',
  'RequestTimeout',
]);

const ACCESS_CODES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
]);

/**
 * The name of an S3 failure (`NoSuchKey`, `PreconditionFailed`, `ECONNREFUSED`...), from the
 * SDK's error name, its `Code`, or the HTTP status when the body said nothing.
 *
 * @example
 * ```ts
 * if (s3ErrorName(error) === 'PreconditionFailed') return false;
 * ```
 */
export function s3ErrorName(error: unknown): string {
  const e = (typeof error === 'object' && error !== null ? error : {}) as SDKError;
  const named = e.Code ?? (e.name !== undefined && e.name !== 'Error' ? e.name : undefined);
  if (named !== undefined && named !== 'UnknownError' && named !== 'Unknown') return named;
  if (e.code !== undefined) return e.code;
  switch (e.$metadata?.httpStatusCode) {
    case 403:
      return 'AccessDenied';
    case 404:
      return 'NotFound';
    case 409:
      return 'Conflict';
    case 412:
      return 'PreconditionFailed';
    case 501:
      return 'NotImplemented';
    default:
      return named ?? 'Error';
  }
}

/**
 * A failed S3 request as a table error that says what happened and what to do: a missing
 * bucket, denied access, missing credentials, an unreachable endpoint, a wrong region, a store
 * without conditional writes; anything else keeps the store's own words. Reads give a
 * {@link TableError} (`TABLE_UNREADABLE`), writes a {@link TableWriteError}.
 *
 * @example
 * ```ts
 * throw s3Failure(error, { table: 's3://lake/orders', bucket: 'lake', url: 's3://lake/orders/_delta_log/', endpoint: undefined, write: false });
 * ```
 */
export function s3Failure(error: unknown, context: S3RequestContext): TableError {
  const name = s3ErrorName(error);
  const where = context.endpoint === undefined ? 'AWS S3' : `the S3 endpoint ${context.endpoint}`;
  const [message, hint] = explain(name, context, where, error);
  const options = { cause: error, hint };
  return context.write
    ? new TableWriteError(context.table, message, options)
    : new TableError(context.table, message, options);
}

function explain(
  name: string,
  context: S3RequestContext,
  where: string,
  error: unknown,
): [string, string] {
  if (name === 'NoSuchBucket')
    return [
      `the bucket "${context.bucket}" does not exist at ${where}`,
      `create it (e.g. aws s3 mb s3://${context.bucket}), or check the URL${context.endpoint === undefined ? ' and set AWS_ENDPOINT_URL for an S3-compatible store' : ' and AWS_ENDPOINT_URL'}`,
    ];
  if (ACCESS_CODES.has(name))
    return [
      `access to ${context.url} was denied (${name})`,
      'check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), and that they may list, read, write and delete objects under this prefix',
    ];
  if (name === 'CredentialsProviderError')
    return [
      'no AWS credentials were found',
      'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)',
    ];
  if (NETWORK_CODES.has(name))
    return [
      `cannot reach ${where} (${name}) for ${context.url}`,
      context.endpoint === undefined
        ? 'check the network, or set AWS_ENDPOINT_URL to the address of an S3-compatible store'
        : 'check that the store is running and AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3) points at it',
    ];
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed')
    return [
      `the bucket "${context.bucket}" is in another region (${name})`,
      "set AWS_REGION to the bucket's region",
    ];
  if (name === 'NotImplemented')
    return [
      `${where} does not support a request Delta tables need for ${context.url} (${name}); commits need conditional writes (If-None-Match: *)`,
      'use a store that supports conditional writes: AWS S3, MinIO, Cloudflare R2, ...',
    ];
  const text = (error as SDKError | undefined)?.message;
  return [
    `S3 request for ${context.url} failed: ${name}${text !== undefined && text !== '' && text !== name ? `: ${text}` : ''}`,
    `check the URL, the credentials and ${where}`,
  ];
}
