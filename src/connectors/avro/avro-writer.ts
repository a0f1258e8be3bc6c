import { dirname, isAbsolute, resolve } from 'node:path';
import { duckdb } from '../../contracts/duckdb-api.js';
import type { z } from 'zod';
import { SinkError } from '../../core/errors.js';
import type { SinkWriteContext } from '../../contracts/batch-connector.js';
import type { StagedOutput } from '../../contracts/staged-output.js';
import { writeDenied } from '../../contracts/write-access.js';
import { stagePath } from '../shared/staged-path.js';
import type { avroSinkConfig } from './avro-configs.js';
import { avroSelectList, avroWriteSchema } from './avro-write-types.js';
import { ContainerWriter } from './container-writer.js';

type AvroSinkOptions = z.output<typeof avroSinkConfig>;

/**
 * The `avro` sink's `write`: stages one container file from the input, published by a rename.
 *
 * @example
 * ```ts
 * const staged = await writeAvro(avroSinkConfig.parse({ path: 'out/orders.avro' }), context);
 * ```
 */
export async function writeAvro(
  config: AvroSinkOptions,
  context: SinkWriteContext,
): Promise<StagedOutput> {
  const { stepId, signal } = context;
  const target = isAbsolute(config.path) ? config.path : resolve(context.baseDir, config.path);
  let derived;
  try {
    derived = avroWriteSchema(context.inputFields, config.recordName ?? stepId);
  } catch (cause) {
    throw new SinkError(
      stepId,
      `cannot derive an Avro schema for ${target}: ${String((cause as Error).message)}`,
      {
        cause,
        hint: 'rename or cast the offending column in a sql step before the sink',
      },
    );
  }
  let staged;
  try {
    staged = await stagePath(target, context.runId, 'file');
  } catch (cause) {
    const denied = await writeDenied(cause, dirname(target));
    throw new SinkError(stepId, denied?.message ?? `cannot prepare ${target}: ${String(cause)}`, {
      cause,
      hint: denied?.hint ?? 'check that the output folder is writable',
    });
  }
  let writer: ContainerWriter | undefined;
  try {
    writer = await ContainerWriter.create(staged.stagingPath, derived.schema, {
      codec: config.codec,
      blockSize: config.blockSize,
    });
    const result = await context.connection.stream(
      `SELECT ${avroSelectList(context.inputFields)} FROM ${context.input}`,
    );
    const names = result.deduplicatedColumnNames();
    // DuckDB builds row objects by assignment, which would lose a column named `__proto__`.
    const batches = names.includes('__proto__')
      ? ownKeyRows(result.yieldConvertedRows(duckdb().JSDuckDBValueConverter), names)
      : result.yieldConvertedRowObjects(duckdb().JSDuckDBValueConverter);
    for await (const rows of batches) {
      signal.throwIfAborted();
      for (const row of rows) {
        writer.append(derived.encode(row));
        if (writer.blockFull) await writer.flush();
      }
    }
    await writer.close();
    const rowsWritten = writer.records;
    writer = undefined;
    return {
      rowsWritten,
      outputs: [target],
      publish: () => staged.publish(),
      discard: () => staged.discard(),
    };
  } catch (cause) {
    await writer?.abort();
    await staged.discard();
    if (signal.aborted) throw cause;
    const denied = await writeDenied(cause, dirname(target));
    if (denied !== undefined)
      throw new SinkError(stepId, denied.message, { cause, hint: denied.hint });
    throw new SinkError(
      stepId,
      `cannot write Avro file ${target}: ${String((cause as Error).message ?? cause)}`,
      {
        cause,
      },
    );
  }
}

async function* ownKeyRows(
  batches: AsyncIterable<unknown[][]>,
  names: readonly string[],
): AsyncGenerator<Record<string, unknown>[]> {
  for await (const rows of batches)
    yield rows.map((values) => Object.fromEntries(names.map((name, i) => [name, values[i]])));
}
