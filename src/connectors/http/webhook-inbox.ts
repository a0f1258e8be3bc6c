import { randomUUID, timingSafeEqual } from 'node:crypto';
import { link, mkdir, open, readdir, rename, rm, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { WEBHOOK_SIGNATURE_HEADER, webhookSignature } from '../../contracts/webhook-signature.js';

export { WEBHOOK_SIGNATURE_HEADER, signWebhook } from '../../contracts/webhook-signature.js';

const BATCH = /^(\d{16})\.ndjson$/;
const NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** The folder, inside an inbox, holding the batches each read took out of it. */
const CLAIMS = '.read';
const CLAIM_NAME = /^\d{13}-[0-9a-f-]{36}$/;
/** Where batches a pre-claims state said were consumed are kept (see `setAsideThrough`). */
const SET_ASIDE = '.read-before-upgrade';

/**
 * Checks a `Sluice-Signature` header against a body: resolves to the timestamp and the
 * signature that matched (the request's replay id), or the reason it is refused. Several `v1`
 * entries may be given (signed with an old and a new secret while rotating); one must match.
 *
 * @example
 * ```ts
 * const checked = verifyWebhookSignature('s3cret', body, header, { toleranceSeconds: 300 });
 * if (!checked.ok) console.log(checked.reason);
 * ```
 */
export function verifyWebhookSignature(
  secret: string,
  body: string | Uint8Array,
  header: string | undefined,
  options: { readonly toleranceSeconds: number; readonly now?: number },
): { ok: true; timestamp: number; signature: string } | { ok: false; reason: string } {
  const parsed = parseWebhookSignature(header, options);
  if (!parsed.ok) return parsed;
  const expected = Buffer.from(webhookSignature(secret, parsed.timestamp, body), 'hex');
  for (const candidate of parsed.signatures) {
    const given = Buffer.from(candidate, 'hex');
    if (given.length === expected.length && timingSafeEqual(given, expected))
      return { ok: true, timestamp: parsed.timestamp, signature: candidate };
  }
  return {
    ok: false,
    reason: `the ${WEBHOOK_SIGNATURE_HEADER} header does not match the body: sign "<t>.<body>" with HMAC-SHA256 and the inbox's secret`,
  };
}

/**
 * Reads a `Sluice-Signature` header without the body: its timestamp (refused outside the
 * tolerance window) and its `v1` signatures, so a request is refused before its body is read.
 *
 * @example
 * ```ts
 * parseWebhookSignature('t=1767225600,v1=5f3a...', { toleranceSeconds: 300 });
 * ```
 */
export function parseWebhookSignature(
  header: string | undefined,
  options: { readonly toleranceSeconds: number; readonly now?: number },
): { ok: true; timestamp: number; signatures: readonly string[] } | { ok: false; reason: string } {
  if (header === undefined || header.trim() === '')
    return {
      ok: false,
      reason: `the ${WEBHOOK_SIGNATURE_HEADER} header is missing: this inbox has a secret, so requests must be signed (t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">)`,
    };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [key, value = ''] = part.trim().split('=', 2) as [string, string?];
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) signatures.push(value.toLowerCase());
  }
  if (timestamp === undefined || signatures.length === 0 || signatures.length > 8)
    return {
      ok: false,
      reason: `the ${WEBHOOK_SIGNATURE_HEADER} header is malformed: expected t=<unix seconds>,v1=<64 hex digits>`,
    };
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  const age = now - timestamp;
  if (Math.abs(age) > options.toleranceSeconds)
    return {
      ok: false,
      reason: `the signature's timestamp is ${Math.abs(age)} s ${age >= 0 ? 'old' : 'in the future'}, outside the tolerance of ${options.toleranceSeconds} s: sign each request when it is sent, and check the sender's clock`,
    };
  return { ok: true, timestamp, signatures };
}

/** A batch of an inbox: its number and its file. */
export interface InboxBatch {
  readonly sequence: string;
  readonly file: string;
}

/**
 * The batches one read took out of an inbox, under `<inbox>/.read/<name>/`: they are no longer
 * in the inbox's numbering, so a batch is identified by the claim that holds it, never by its
 * number.
 *
 * @example
 * ```ts
 * const claim = await inbox.claimNew(); // { name: '1764...-<uuid>', batches: [...] }
 * ```
 */
export interface InboxClaim {
  readonly name: string;
  readonly batches: readonly InboxBatch[];
}

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
    return this.appendNDJSON(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }

  /**
   * Writes one batch given as NDJSON text (one JSON object per line, each line ending in `\n`)
   * durably; returns its sequence number. For callers that built the lines already, so the
   * records need not be held as objects.
   */
  async appendNDJSON(text: string): Promise<string> {
    await (this.#ready ??= this.#init());
    const staging = join(this.folder, `.${randomUUID()}.tmp`);
    const handle = await open(staging, 'wx');
    try {
      await handle.writeFile(text);
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

  /**
   * Moves every batch now in the inbox into a new claim (durably: the moves are fsynced before
   * it returns); undefined when there is none. Batches posted meanwhile stay for the next claim.
   */
  async claimNew(): Promise<InboxClaim | undefined> {
    const batches = await this.#batches();
    if (batches.length === 0) return undefined;
    const name = `${Date.now().toString().padStart(13, '0')}-${randomUUID()}`;
    const folder = join(this.folder, CLAIMS, name);
    await mkdir(folder, { recursive: true });
    const claimed: InboxBatch[] = [];
    for (const batch of batches) {
      const file = join(folder, `${batch.sequence}.ndjson`);
      try {
        await rename(batch.file, file);
      } catch (error) {
        // Taken by another reader between the listing and the move: not ours to read.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      claimed.push({ sequence: batch.sequence, file });
    }
    await syncFolder(folder);
    await syncFolder(join(this.folder, CLAIMS));
    await syncFolder(this.folder);
    return { name, batches: claimed };
  }

  /** Every claim in the inbox (oldest first), with its batches. */
  async claims(): Promise<InboxClaim[]> {
    const root = join(this.folder, CLAIMS);
    const names = (await listFolder(root)).filter((name) => CLAIM_NAME.test(name)).sort();
    return Promise.all(
      names.map(async (name) => ({ name, batches: await batchesIn(join(root, name)) })),
    );
  }

  /**
   * Deletes the claims named (the batches a successful run read); returns how many batches went
   * with them. Names that are not claims, or are gone already, are passed over.
   */
  async removeClaims(names: readonly string[]): Promise<number> {
    const root = join(this.folder, CLAIMS);
    let removed = 0;
    for (const name of names) {
      if (!CLAIM_NAME.test(name)) continue;
      removed += (await batchesIn(join(root, name))).length;
      await rm(join(root, name), { recursive: true, force: true });
    }
    // An empty .read folder is removed; one a concurrent claim just made stays.
    await rmdir(root).catch(() => undefined);
    return removed;
  }

  /**
   * Moves the batches numbered up to and including `through` out of the inbox, into
   * `<inbox>/.read-before-upgrade/`, deleting none; returns that folder and how many moved. For
   * a state kept by a version that tracked consumed batches by number: those batches were read
   * by its last successful run, unless the numbering went back, which cannot be told apart.
   */
  async setAsideThrough(through: string): Promise<{ folder: string; moved: number }> {
    const folder = join(this.folder, SET_ASIDE);
    const batches = (await this.#batches()).filter((b) => b.sequence <= through);
    if (batches.length > 0) {
      await mkdir(folder, { recursive: true });
      for (const batch of batches)
        await rename(batch.file, join(folder, `${batch.sequence}.ndjson`));
      await syncFolder(folder);
      await syncFolder(this.folder);
    }
    return { folder, moved: batches.length };
  }

  /** The batches after `consumed` (a sequence number), oldest first. */
  async pending(consumed: string | undefined): Promise<InboxBatch[]> {
    return (await this.#batches()).filter((b) => consumed === undefined || b.sequence > consumed);
  }

  /**
   * Deletes the batches numbered up to and including `consumed`. Only for a reader that knows no
   * batch numbered below `consumed` can appear unread; `source.webhook` uses claims instead.
   */
  async removeConsumed(consumed: string): Promise<number> {
    const done = (await this.#batches()).filter((b) => b.sequence <= consumed);
    await Promise.all(done.map((b) => rm(b.file, { force: true })));
    return done.length;
  }

  async #batches(): Promise<InboxBatch[]> {
    return batchesIn(this.folder);
  }

  async #init(): Promise<void> {
    await mkdir(this.folder, { recursive: true });
    const newest = (await this.#batches()).at(-1);
    if (newest !== undefined) this.#last = BigInt(newest.sequence);
  }
}

/** The batch files directly in `folder`, by number. */
async function batchesIn(folder: string): Promise<InboxBatch[]> {
  return (await listFolder(folder))
    .map((name) => BATCH.exec(name)?.[1])
    .filter((sequence): sequence is string => sequence !== undefined)
    .sort()
    .map((sequence) => ({ sequence, file: join(folder, `${sequence}.ndjson`) }));
}

/** The names in `folder`; none when it does not exist. */
async function listFolder(folder: string): Promise<string[]> {
  try {
    return await readdir(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
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
