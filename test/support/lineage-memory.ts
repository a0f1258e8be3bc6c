import { LineageEmitter } from '../../src/observe/lineage/lineage-emitter.js';
import type { LineageEmitterOptions } from '../../src/observe/lineage/lineage-emitter.js';
import type { RunEvent } from '../../src/observe/lineage/openlineage-event.js';

/** An emitter whose only transport keeps the events in memory, in the order sent. */
export function memoryEmitter(options: Omit<LineageEmitterOptions, 'transports'> = {}): {
  emitter: LineageEmitter;
  events: RunEvent[];
} {
  const events: RunEvent[] = [];
  const emitter = LineageEmitter.create({
    ...options,
    transports: [{ name: 'memory', send: async (event) => void events.push(event) }],
  });
  return { emitter, events };
}
