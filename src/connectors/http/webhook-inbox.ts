import { randomUUID } from 'node:crypto';
import { link, mkdir, open, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';

const BATCH = /^(\d{16})\.ndjson$/;
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The landing folder of a webhook: `sluice serve --http` appends each accepted request as one
 * NDJSON batch file, durably (written, fsynced, renamed into place, folder fsynced) before it
 * answers; `source.webhook` reads the batches a run has not yet consumed. Batch files are named by
 * a sequence number that only grows and are renamed into place in that order, so a reader that
 * has consumed up to N never misses a batch numbered below N. One server process writes an inbox
 * (a batch is never overwritten, but only one writer keeps the numbers in the order batches
 * appear).
 *
 * @example
 * ```ts
 * const inbox = WebhookInbox.open('.sluice', 'orders');
 * await inbox.append([{ id: 1 }, { id: 2 }]); // durable when it returns
 * const batches = await inbox.pending(undefined); // [{ sequence: '1764...', file: '/.../1764....ndjson' }]
 * ```
 */
export class WebhookInbox {
  #last = 0n;
  #ready: Promise<void> | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(readonly folder: string) {}

  /** The inbox called `name` under a state folder (`<stateDir>/inbox/<name>`). */
  static open(stateDir: string, name: string): WebhookInbox {
    if (!NAME.test(name))
      throw new Error(
        `"${name}" is not a webhook inbox name: use letters, digits, "_" and "-" (at most 64)`,
      );
    return new WebhookInbox(join(stateDir, 'inbox', name));
  }

  /** Writes one batch of records durably; returns its sequence number. */
  async append(records: readonly unknown[]): Promise<string> {
    await (this.#ready ??= this.#init());
    const staging = join(this.folder, `.${randomUUID()}.tmp`);
    const handle = await open(staging, 'wx');
    try {
      await handle.writeFile(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
      await handle.sync();
    } finally {
      await handle.close();
    }
    // Numbering and renaming happen one batch at a time, so files appear in sequence order.
    const named = this.#queue.then(async () => {
      const now = BigInt(Date.now()) * 1000n;
      this.#last = now > this.#last ? now : this.#last + 1n;
      // link() never replaces a batch: a number already taken (another writer, a clock that
      // went back) moves on to the next one.
      for (;;) {
        const sequence = this.#last.toString().padStart(16, '0');
        try {
          await link(staging, join(this.folder, `${sequence}.ndjson`));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
          this.#last += 1n;
          continue;
        }
        await unlink(staging);
        await syncFolder(this.folder);
        return sequence;
      }
    });
    this.#queue = named.catch(() => undefined);
    return named;
  }

  /** The batches after `consumed` (a sequence number), oldest first. */
  async pending(consumed: string | undefined): Promise<{ sequence: string; file: string }[]> {
    return (await this.#batches()).filter((b) => consumed === undefined || b.sequence > consumed);
  }

  /** Deletes the batches up to and including `consumed`, which a successful run has read. */
  async removeConsumed(consumed: string): Promise<number> {
    const done = (await this.#batches()).filter((b) => b.sequence <= consumed);
    await Promise.all(done.map((b) => rm(b.file, { force: true })));
    return done.length;
  }

  async #batches(): Promise<{ sequence: string; file: string }[]> {
    let names: string[];
    try {
      names = await readdir(this.folder);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names
      .map((name) => BATCH.exec(name)?.[1])
      .filter((sequence): sequence is string => sequence !== undefined)
      .sort()
      .map((sequence) => ({ sequence, file: join(this.folder, `${sequence}.ndjson`) }));
  }

  async #init(): Promise<void> {
    await mkdir(this.folder, { recursive: true });
    const newest = (await this.#batches()).at(-1);
    if (newest !== undefined) this.#last = BigInt(newest.sequence);
  }
}

async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
