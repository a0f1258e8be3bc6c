import { describe, expect, it } from 'vitest';
import { connectorDatasets, pathDataset, serverNamespace } from './dataset-naming.js';

const named = (connector: string, config: unknown, locations: string[] = []) =>
  connectorDatasets({ connector, config, baseDir: '/repo/pipelines', locations });

describe('dataset naming', () => {
  it('names tables by server and database, never with credentials', () => {
    expect(
      named('postgres', {
        url: 'postgresql://etl:s3cr%40t@db.internal/shop?sslmode=require',
        table: 'orders',
      }),
    ).toEqual([{ namespace: 'postgres://db.internal:5432', name: 'shop.public.orders' }]);
    expect(
      named('postgres', { url: 'postgres://u:p@10.0.0.1:6543/dw', table: 'sales."Ördersü"' }),
    ).toEqual([{ namespace: 'postgres://10.0.0.1:6543', name: 'dw.sales."Ördersü"' }]);
    expect(named('mysql', { url: 'mariadb://root:pw@maria:3307/app', table: 'users' })).toEqual([
      { namespace: 'mysql://maria:3307', name: 'app.users' },
    ]);
    expect(named('mysql', { host: 'db', database: 'app', password: 'pw', table: 't' })).toEqual([
      { namespace: 'mysql://db:3306', name: 'app.t' },
    ]);
    expect(
      named('clickhouse', { url: 'https://u:p@ch.example:8443/metrics', table: 'events' }),
    ).toEqual([{ namespace: 'clickhouse://ch.example:8443', name: 'metrics.events' }]);
    expect(named('clickhouse', { url: 'http://ch', table: 'events' })).toEqual([
      { namespace: 'clickhouse://ch:8123', name: 'default.events' },
    ]);
    const all = JSON.stringify([
      named('postgres', { url: 'postgresql://etl:s3cr%40t@db.internal/shop', table: 'o' }),
      named('mysql', { url: 'mysql://root:pw@maria/app', table: 'u' }),
    ]);
    expect(all).not.toMatch(/s3cr|pw|etl|root/);
  });

  it('names files by absolute path, S3 objects by bucket and key, Delta tables by location', () => {
    expect(
      named('csv', { path: 'data/*.csv' }, ['/repo/data/a.csv', '/repo/data/b b.csv']),
    ).toEqual([
      { namespace: 'file', name: '/repo/data/a.csv' },
      { namespace: 'file', name: '/repo/data/b b.csv' },
    ]);
    expect(named('parquet', { path: '../out/daily.parquet' })).toEqual([
      { namespace: 'file', name: '/repo/out/daily.parquet' },
    ]);
    expect(named('delta', { path: 's3://lake/bronze/orders/' })).toEqual([
      { namespace: 's3://lake', name: 'bronze/orders' },
    ]);
    expect(named('delta', { path: 'file:///srv/lake/t%C3%A9' })).toEqual([
      { namespace: 'file', name: '/srv/lake/té' },
    ]);
    expect(pathDataset('s3://bucket', '/x')).toEqual({ namespace: 's3://bucket', name: '/' });
  });

  it('names topics and subjects by their first server', () => {
    expect(named('kafka', { brokers: 'k1:9093,k2:9093', topic: 'clicks' })).toEqual([
      { namespace: 'kafka://k1:9093', name: 'clicks' },
    ]);
    expect(named('kafka', { brokers: ['k1'], topics: ['a', 'b'] })).toEqual([
      { namespace: 'kafka://k1:9092', name: 'a' },
      { namespace: 'kafka://k1:9092', name: 'b' },
    ]);
    expect(named('nats', { servers: 'nats://user:pass@127.0.0.1:4222', stream: 'ORDERS' })).toEqual(
      [{ namespace: 'nats://127.0.0.1:4222', name: 'ORDERS' }],
    );
  });

  it('names nothing it cannot name instead of guessing', () => {
    expect(named('postgres', { url: 'postgres://db/shop', query: 'select 1' })).toEqual([]);
    expect(named('postgres', { url: 'not a url', table: 't' })).toEqual([]);
    expect(named('custom_thing', { whatever: 1 }, ['relative/loc'])).toEqual([]);
    expect(serverNamespace('postgres', '')).toBeUndefined();
  });
});
