import { mkdir, open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LineageTransport } from '../lineage-transport.js';
import type { RunEvent } from '../openlineage-event.js';

/**
 * Appends each event as one line of NDJSON. The file is opened in append mode and each line is
 * one `write`, so lines of several processes appending to the same file never interleave.
 *
 * @example
 * ```ts
 * const file = fileTransport({ path: '.sluice/lineage.ndjson' });
 * ```
 */
export function fileTransport(options: { readonly path: string }): LineageTransport {
  let handle: Promise<FileHandle> | undefined;
  const opened = (): Promise<FileHandle> => {
    handle ??= mkdir(dirname(options.path), { recursive: true }).then(() =>
      open(options.path, 'a'),
    );
    handle.catch(() => (handle = undefined));
    return handle;
  };
  return {
    name: `file ${options.path}`,
    async send(event: RunEvent): Promise<void> {
      const line = Buffer.from(`${JSON.stringify(event)}\n`);
      const file = await opened();
      const { bytesWritten } = await file.write(line);
      if (bytesWritten !== line.length)
        throw new Error(`wrote ${bytesWritten} of ${line.length} bytes to ${options.path}`);
    },
    async close(): Promise<void> {
      const file = handle;
      handle = undefined;
      await (await file)?.close();
    },
  };
}

/**
 * Writes each event as one NDJSON line to standard output.
 *
 * @example
 * ```ts
 * const console = consoleTransport();
 * ```
 */
export function consoleTransport(
  output: { write(text: string, done: (error?: Error | null) => void): boolean } = process.stdout,
): LineageTransport {
  return {
    name: 'console',
    send: (event: RunEvent) =>
      new Promise<void>((resolve, reject) => {
        output.write(`${JSON.stringify(event)}\n`, (error) => (error ? reject(error) : resolve()));
      }),
  };
}
