import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { arrowProblem, checkLayers, fileCycles, roomOf } from '../scripts/check-layers.js';

const ROOT = resolve(import.meta.dirname, '..');

describe('layering check', () => {
  it('finds no forbidden arrow and no file cycle in src/', () => {
    expect(checkLayers(ROOT)).toEqual([]);
  });

  it('names the room of a file', () => {
    expect(roomOf('src/engine/executor.ts')).toBe('engine');
    expect(roomOf('src/connectors/kafka/kafka-sink.ts')).toBe('connectors/kafka');
    expect(roomOf('src/registry.ts')).toBe('registry');
  });

  it('rejects a back-arrow from a connector to the engine, and one connector reaching into another', () => {
    const edge = (from: string, to: string, typeOnly = false) => ({
      from,
      to,
      specifier: 'x',
      typeOnly,
      line: 1,
    });
    expect(arrowProblem(edge('src/connectors/nats/nats-sink.ts', 'src/engine/executor.ts'))).toBe(
      'connectors/nats may not import engine',
    );
    expect(
      arrowProblem(edge('src/connectors/avro/avro-sink.ts', 'src/connectors/files/csv-source.ts')),
    ).toBe('connectors/avro may not import connectors/files');
    expect(
      arrowProblem(
        edge('src/connectors/avro/avro-sink.ts', 'src/connectors/shared/staged-path.ts'),
      ),
    ).toBeUndefined();
    expect(
      arrowProblem(edge('src/define/factories.ts', 'src/connectors/mysql/mysql-configs.ts', true)),
    ).toBeUndefined();
    expect(
      arrowProblem(edge('src/define/factories.ts', 'src/connectors/mysql/mysql-configs.ts')),
    ).toBe('define may not import connectors/mysql');
  });

  it('finds files that import each other in a circle', () => {
    const edge = (from: string, to: string) => ({
      from,
      to,
      specifier: 'x',
      typeOnly: true,
      line: 1,
    });
    expect(fileCycles([edge('a', 'b'), edge('b', 'c'), edge('c', 'a'), edge('c', 'd')])).toEqual([
      ['a', 'b', 'c'],
    ]);
  });
});
