/**
 * Publishes the lines of an NDJSON file to NATS JetStream as they are, one message per line
 * (creating the stream when missing): `npx jiti examples/medallion/publish.ts <file>`.
 */
import { readFile } from 'node:fs/promises';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/**
 * The non-empty lines of a file, untouched: a line that is not JSON is published too, as a
 * producer with a bug would.
 *
 * @example
 * ```ts
 * const messages = await readMessages('examples/medallion/data/orders-1.ndjson');
 * ```
 */
export async function readMessages(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8')).split('\n').filter((line) => line.trim() !== '');
}

/**
 * Publishes each message to `subject`, in order, waiting for JetStream to store it; creates the
 * stream (capturing `subject`) when it does not exist. Returns how many were published.
 *
 * @example
 * ```ts
 * await publish({ servers: 'nats://127.0.0.1:4222', stream: 'ORDERS', subject: 'orders.web', messages });
 * ```
 */
export async function publish(options: {
  readonly servers: string;
  readonly stream: string;
  readonly subject: string;
  readonly messages: readonly string[];
}): Promise<number> {
  const nc = await connect({ servers: options.servers });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams
      .info(options.stream)
      .catch(() => jsm.streams.add({ name: options.stream, subjects: [options.subject] }));
    const js = jetstream(nc);
    for (const message of options.messages) await js.publish(options.subject, message);
    return options.messages.length;
  } finally {
    await nc.close();
  }
}

if (process.argv[1]?.endsWith('publish.ts')) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: npx jiti examples/medallion/publish.ts <file.ndjson>');
    process.exit(2);
  }
  const published = await publish({
    servers: process.env['SLUICE_EXAMPLE_NATS'] ?? 'nats://127.0.0.1:4222',
    stream: process.env['SLUICE_EXAMPLE_STREAM'] ?? 'ORDERS',
    subject: process.env['SLUICE_EXAMPLE_SUBJECT'] ?? 'orders.web',
    messages: await readMessages(file),
  });
  console.log(`published ${published} messages`);
}
