import { describe, expect, it } from 'vitest';
import { TableError, TableWriteError } from '../core/errors.js';
import type { S3RequestContext } from './s3-errors.js';
import { s3ErrorName, s3Failure } from './s3-errors.js';

const context: S3RequestContext = {
  table: 's3://lake/orders',
  bucket: 'lake',
  url: 's3://lake/orders/_delta_log/',
  endpoint: 'http://127.0.0.1:9000',
  write: false,
};

/** An error shaped as the AWS SDK v3 throws them. */
function sdkError(name: string, status?: number, message = name): Error {
  return Object.assign(new Error(message), {
    name,
    ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }),
  });
}

describe('s3ErrorName', () => {
  it('reads the SDK name, the Code, a Node error code, or the HTTP status', () => {
    expect(s3ErrorName(sdkError('NoSuchBucket', 404))).toBe('NoSuchBucket');
    expect(s3ErrorName(Object.assign(new Error('x'), { Code: 'PreconditionFailed' }))).toBe(
      'PreconditionFailed',
    );
    expect(s3ErrorName(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toBe(
      'ECONNREFUSED',
    );
    expect(s3ErrorName(sdkError('UnknownError', 412))).toBe('PreconditionFailed');
    expect(s3ErrorName(sdkError('UnknownError', 403))).toBe('AccessDenied');
    expect(s3ErrorName(undefined)).toBe('Error');
  });
});

describe('s3Failure', () => {
  it('explains a missing bucket, naming the table and what to do', () => {
    const error = s3Failure(sdkError('NoSuchBucket', 404), context);
    expect(error).toBeInstanceOf(TableError);
    expect(error.code).toBe('TABLE_UNREADABLE');
    expect(error.message).toBe(
      'Table s3://lake/orders: the bucket "lake" does not exist at the S3 endpoint http://127.0.0.1:9000',
    );
    expect(error.hint).toMatch(/aws s3 mb s3:\/\/lake/);
  });

  it('explains denied access, missing credentials, an unreachable endpoint and a wrong region', () => {
    expect(s3Failure(sdkError('AccessDenied', 403), context).message).toMatch(
      /access to s3:\/\/lake\/orders\/_delta_log\/ was denied \(AccessDenied\)/,
    );
    expect(s3Failure(sdkError('InvalidAccessKeyId', 403), context).hint).toMatch(
      /AWS_ACCESS_KEY_ID/,
    );
    expect(s3Failure(sdkError('CredentialsProviderError'), context).message).toMatch(
      /no AWS credentials were found/,
    );
    const refused = s3Failure(
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      context,
    );
    expect(refused.message).toMatch(/cannot reach the S3 endpoint http:\/\/127.0.0.1:9000/);
    expect(refused.hint).toMatch(/AWS_ENDPOINT_URL/);
    expect(
      s3Failure(sdkError('PermanentRedirect', 301), { ...context, endpoint: undefined }).hint,
    ).toMatch(/AWS_REGION/);
  });

  it('says when a store lacks the conditional writes commits need', () => {
    const error = s3Failure(sdkError('NotImplemented', 501), { ...context, write: true });
    expect(error).toBeInstanceOf(TableWriteError);
    expect(error.code).toBe('TABLE_WRITE_REFUSED');
    expect(error.message).toMatch(/conditional writes \(If-None-Match: \*\)/);
  });

  it('keeps the store own words for anything else', () => {
    const error = s3Failure(sdkError('SlowDown', 503, 'Please reduce your request rate.'), context);
    expect(error.message).toBe(
      'Table s3://lake/orders: S3 request for s3://lake/orders/_delta_log/ failed: SlowDown: Please reduce your request rate.',
    );
  });
});
