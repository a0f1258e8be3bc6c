import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** What an idempotency key answered the first time. */
export interface IdempotentAnswer {
  /** sha256 of the body the key came with. */
  readonly digest: string;
  readonly batch: string | null;
  readonly records: number;
}

/** How long an idempotency key is remembered. */
const KEY_RETENTION_MS = 24 * 60 * 60 * 1000;
/**
 * The most idempotency keys an inbox remembers by default (the oldest go first), bounding its
 * memory: a resend is recognised within 24 hours or 100,000 newer keys, whichever comes first
 * (some 17 minutes for a sender posting 100 requests a second, each with a new key).
 *
 * @example
 * ```ts
 * await WebhookReceipts.open('.sluice', 'orders', 300, { maxKeys: MAX_IDEMPOTENCY_KEYS });
 * ```
 */
export const MAX_IDEMPOTENCY_KEYS = 100_000;

interface SignatureLine {
  readonly s: string;
  /** The signature's timestamp, unix seconds. */
  readonly t: number;
}
interface KeyLine {
  readonly k: string;
  readonly d: string;
  readonly b: string | null;
  readonly n: number;
  /** When the key was first taken, epoch ms. */
  readonly at: number;
}

/**
 * What an inbox remembers of the requests it took, so a replay is refused after a restart too:
 * the signatures accepted within the tolerance window (a signed request sent again is refused
 * while its timestamp is still accepted) and the `Idempotency-Key`s of the last 24 hours with
 * the batch each produced (at most {@link MAX_IDEMPOTENCY_KEYS}, the oldest forgotten first). Kept in `<stateDir>/inbox/.receipts/<inbox>.ndjson`, appended and
 * fsynced before the request is answered, compacted when it holds mostly expired lines.
 *
 * A request is reserved in memory while it is written, so two copies arriving at once are told
 * apart too: the second signature is refused, the second key waits for the first's answer.
 *
 * @example
 * ```ts
 * const receipts = await WebhookReceipts.open('.sluice', 'orders', 300);
 * if (receipts.seenSignature(sig)) return 409;
 * ```
 */
export class WebhookReceipts {
  readonly #file: string;
  readonly #toleranceSeconds: number;
  readonly #maxKeys: number;
  readonly #signatures = new Map<string, number>();
  readonly #keys = new Map<string, KeyLine>();
  readonly #pendingKeys = new Map<string, Promise<IdempotentAnswer | undefined>>();
  #lines = 0;
  /** The file ends in a line cut short (a crash mid-write): the next append starts a new line. */
  #cutShort = false;
  /** The line count at which expired receipts are next looked for. */
  #nextCheck = 1_000;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(file: string, toleranceSeconds: number, maxKeys: number) {
    this.#file = file;
    this.#toleranceSeconds = toleranceSeconds;
    this.#maxKeys = maxKeys;
  }

  /** Loads an inbox's receipts (none when the file does not exist yet). */
  static async open(
    stateDir: string,
    inbox: string,
    toleranceSeconds: number,
    options: { readonly maxKeys?: number } = {},
  ): Promise<WebhookReceipts> {
    const receipts = new WebhookReceipts(
      join(stateDir, 'inbox', '.receipts', `${inbox}.ndjson`),
      toleranceSeconds,
      options.maxKeys ?? MAX_IDEMPOTENCY_KEYS,
    );
    let text = '';
    try {
      text = await readFile(receipts.#file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    receipts.#cutShort = text !== '' && !text.endsWith('\n');
    for (const line of text.split('\n')) {
      if (line === '') continue;
      let parsed: Partial<SignatureLine & KeyLine>;
      try {
        parsed = JSON.parse(line) as Partial<SignatureLine & KeyLine>;
      } catch {
        continue; // a line cut short by a crash: its request was never answered
      }
      receipts.#lines += 1;
      if (typeof parsed.s === 'string' && typeof parsed.t === 'number')
        receipts.#signatures.set(parsed.s, parsed.t);
      else if (typeof parsed.k === 'string') {
        receipts.#keys.delete(parsed.k);
        receipts.#keys.set(parsed.k, parsed as KeyLine);
      }
    }
    receipts.#trimKeys();
    receipts.#expire(Date.now());
    return receipts;
  }

  /**
   * Reserves a signature: false when it was accepted before (or is being accepted now), which
   * makes the request a replay. Release it with {@link release} when the request fails.
   */
  reserveSignature(signature: string, timestamp: number): boolean {
    if (this.#signatures.has(signature)) return false;
    this.#signatures.set(signature, timestamp);
    return true;
  }

  /** Forgets a reserved signature whose request was not taken. */
  release(signature: string): void {
    this.#signatures.delete(signature);
  }

  /**
   * Runs `work` (the append of a batch) as the request of an idempotency key unless the key was
   * taken before: then resolves to the first request's answer (waiting for it while it is
   * written) with `first: false`. Checked and reserved in one step, so two copies arriving at
   * once append one batch.
   */
  async withKey(
    key: string,
    work: () => Promise<IdempotentAnswer>,
  ): Promise<{ readonly answer: IdempotentAnswer; readonly first: boolean }> {
    const pending = this.#pendingKeys.get(key);
    if (pending !== undefined) {
      const answer = await pending;
      // The first request failed: this one tries again.
      return answer === undefined ? this.withKey(key, work) : { answer, first: false };
    }
    const known = this.#keys.get(key);
    if (known !== undefined && Date.now() - known.at <= KEY_RETENTION_MS)
      return { answer: { digest: known.d, batch: known.b, records: known.n }, first: false };
    const done = work();
    const settled = done.then(
      (answer) => answer,
      () => undefined,
    );
    this.#pendingKeys.set(key, settled);
    try {
      return { answer: await done, first: true };
    } finally {
      this.#pendingKeys.delete(key);
    }
  }

  /**
   * Durably records an accepted request's signature and idempotency key (either may be absent),
   * before it is answered.
   */
  async record(entry: {
    readonly signature?: { readonly id: string; readonly timestamp: number };
    readonly key?: { readonly key: string; readonly answer: IdempotentAnswer };
  }): Promise<void> {
    const now = Date.now();
    const lines: string[] = [];
    if (entry.signature !== undefined) {
      this.#signatures.set(entry.signature.id, entry.signature.timestamp);
      lines.push(JSON.stringify({ s: entry.signature.id, t: entry.signature.timestamp }));
    }
    if (entry.key !== undefined) {
      const line: KeyLine = {
        k: entry.key.key,
        d: entry.key.answer.digest,
        b: entry.key.answer.batch,
        n: entry.key.answer.records,
        at: now,
      };
      this.#keys.delete(line.k);
      this.#keys.set(line.k, line);
      this.#trimKeys();
      lines.push(JSON.stringify(line));
    }
    if (lines.length === 0) return;
    const written = this.#queue.then(() => this.#append(lines, now));
    this.#queue = written.catch(() => undefined);
    await written;
  }

  async #append(lines: readonly string[], now: number): Promise<void> {
    await mkdir(dirname(this.#file), { recursive: true });
    this.#lines += lines.length;
    if (this.#lines >= this.#nextCheck) {
      this.#expire(now);
      this.#nextCheck = this.#lines + 1_000;
      if (this.#lines > 2 * (this.#signatures.size + this.#keys.size)) {
        await this.#rewrite();
        return;
      }
    }
    const handle = await open(this.#file, 'a');
    try {
      await handle.writeFile(
        `${this.#cutShort ? '\n' : ''}${lines.map((line) => `${line}\n`).join('')}`,
      );
      await handle.sync();
      this.#cutShort = false;
    } finally {
      await handle.close();
    }
  }

  /** Writes only the live receipts to a new file and renames it into place. */
  async #rewrite(): Promise<void> {
    const lines = [
      ...[...this.#signatures].map(([s, t]) => JSON.stringify({ s, t })),
      ...[...this.#keys.values()].map((line) => JSON.stringify(line)),
    ];
    const staging = `${this.#file}.tmp`;
    const handle = await open(staging, 'w');
    try {
      await handle.writeFile(lines.map((line) => `${line}\n`).join(''));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(staging, this.#file);
    const folder = await open(dirname(this.#file), 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
    this.#lines = lines.length;
    this.#cutShort = false;
  }

  #trimKeys(): void {
    for (const oldest of this.#keys.keys()) {
      if (this.#keys.size <= this.#maxKeys) break;
      this.#keys.delete(oldest);
    }
  }

  #expire(now: number): void {
    // A signature older than the tolerance is refused by its timestamp alone.
    const oldest = Math.floor(now / 1000) - this.#toleranceSeconds - 1;
    for (const [signature, timestamp] of this.#signatures)
      if (timestamp < oldest) this.#signatures.delete(signature);
    for (const [key, line] of this.#keys)
      if (now - line.at > KEY_RETENTION_MS) this.#keys.delete(key);
  }
}
