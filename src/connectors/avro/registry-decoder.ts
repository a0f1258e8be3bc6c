import type { Type as AvroType } from 'avsc';
import { createAvroType } from './avro-type.js';
import type { AvroSchemaJSON } from './avro-type.js';
import type { SchemaRegistryClient } from './schema-registry.js';
import { decodeAvroPayload, readConfluentHeader } from './wire-format.js';

/**
 * Decodes Confluent wire-format messages: looks the writer schema up by the id in each message
 * (cached by the client), and resolves it to `readerSchema` when given (avsc's
 * `createResolver`, Avro schema resolution: added fields take defaults, promoted types widen).
 *
 * @example
 * ```ts
 * const decode = createRegistryDecoder(registry, readerSchema);
 * const record = await decode(message);
 * ```
 */
export function createRegistryDecoder(
  registry: SchemaRegistryClient,
  readerSchema?: AvroSchemaJSON,
): (message: Uint8Array, signal?: AbortSignal) => Promise<unknown> {
  const reader = readerSchema === undefined ? undefined : createAvroType(readerSchema);
  const byId = new Map<
    number,
    { type: AvroType; resolver?: ReturnType<AvroType['createResolver']> }
  >();
  return async (message, signal) => {
    const { schemaId, payload } = readConfluentHeader(message);
    let entry = byId.get(schemaId);
    if (entry === undefined) {
      const writer = createAvroType(
        JSON.parse(await registry.schemaById(schemaId, signal)) as AvroSchemaJSON,
      );
      entry =
        reader === undefined
          ? { type: writer }
          : { type: reader, resolver: reader.createResolver(writer) };
      byId.set(schemaId, entry);
    }
    return decodeAvroPayload(entry.type, payload, entry.resolver);
  };
}
