/**
 * A decoder of PostgreSQL's logical replication protocol as the `pgoutput` plugin writes it
 * (protocol version 1: Begin, Commit, Origin, Relation, Type, Insert, Update, Delete, Truncate).
 * Column values are in their text form. See "Logical Replication Message Formats" in the
 * PostgreSQL documentation.
 */

/** A column of a relation, as announced by a Relation message. */
export interface ReplicatedColumn {
  readonly name: string;
  readonly typeOid: number;
  readonly typeModifier: number;
  /** Part of the replica identity (the key sent with updates and deletes). */
  readonly isKey: boolean;
}

/** A table as the stream describes it. */
export interface ReplicatedRelation {
  readonly id: number;
  readonly schema: string;
  readonly name: string;
  readonly columns: readonly ReplicatedColumn[];
}

/**
 * One value of a tuple: its text, null, or `unchanged` for a TOASTed value an update did not
 * touch (the stream does not carry it).
 */
export type TupleValue = string | null | { readonly unchanged: true };

/** PostgreSQL's timestamps count from 2000-01-01 UTC. */
const POSTGRES_EPOCH_MS = Date.UTC(2000, 0, 1);

/** A decoded message. Row changes carry their relation. */
export type PgOutputMessage =
  | {
      readonly type: 'begin';
      readonly finalLsn: bigint;
      /** The transaction's commit time, epoch milliseconds. */
      readonly commitTime: number;
      readonly xid: number;
    }
  | { readonly type: 'commit'; readonly commitLsn: bigint; readonly endLsn: bigint }
  | { readonly type: 'relation'; readonly relation: ReplicatedRelation }
  | {
      readonly type: 'insert';
      readonly relation: ReplicatedRelation;
      readonly new: readonly TupleValue[];
    }
  | {
      readonly type: 'update';
      readonly relation: ReplicatedRelation;
      /** The old key ('K') or the whole old row ('O', under REPLICA IDENTITY FULL), when sent. */
      readonly old: readonly TupleValue[] | undefined;
      readonly new: readonly TupleValue[];
    }
  | {
      readonly type: 'delete';
      readonly relation: ReplicatedRelation;
      readonly old: readonly TupleValue[];
    }
  | { readonly type: 'truncate'; readonly relations: readonly ReplicatedRelation[] }
  | { readonly type: 'other'; readonly tag: string };

/**
 * Decodes pgoutput messages one at a time, remembering the relations announced so far.
 *
 * @example
 * ```ts
 * const decoder = new PgOutputDecoder();
 * for (const row of changes) {
 *   const message = decoder.decode(row.data);
 *   if (message.type === 'insert') console.log(message.relation.name, message.new);
 * }
 * ```
 */
export class PgOutputDecoder {
  readonly #relations = new Map<number, ReplicatedRelation>();

  decode(data: Buffer): PgOutputMessage {
    const reader = new Reader(data);
    const tag = reader.char();
    switch (tag) {
      case 'B': {
        const finalLsn = reader.int64();
        // Microseconds since 2000-01-01 UTC.
        const commitTime = Number(reader.int64() / 1000n) + POSTGRES_EPOCH_MS;
        return { type: 'begin', finalLsn, commitTime, xid: reader.int32() };
      }
      case 'C': {
        reader.int8(); // flags
        const commitLsn = reader.int64();
        return { type: 'commit', commitLsn, endLsn: reader.int64() };
      }
      case 'R': {
        const id = reader.int32();
        const schema = reader.string();
        const name = reader.string();
        reader.int8(); // replica identity setting
        const count = reader.int16();
        const columns: ReplicatedColumn[] = [];
        for (let i = 0; i < count; i++) {
          const flags = reader.int8();
          columns.push({
            name: reader.string(),
            typeOid: reader.int32(),
            typeModifier: reader.int32(),
            isKey: (flags & 1) === 1,
          });
        }
        const relation = { id, schema, name, columns };
        this.#relations.set(id, relation);
        return { type: 'relation', relation };
      }
      case 'I': {
        const relation = this.#relation(reader.int32());
        reader.expect('N');
        return { type: 'insert', relation, new: reader.tuple() };
      }
      case 'U': {
        const relation = this.#relation(reader.int32());
        let kind = reader.char();
        let old: TupleValue[] | undefined;
        if (kind === 'K' || kind === 'O') {
          old = reader.tuple();
          kind = reader.char();
        }
        if (kind !== 'N')
          throw new Error(`pgoutput: expected a new tuple in an update, got "${kind}"`);
        return { type: 'update', relation, old, new: reader.tuple() };
      }
      case 'D': {
        const relation = this.#relation(reader.int32());
        reader.char(); // 'K' or 'O'
        return { type: 'delete', relation, old: reader.tuple() };
      }
      case 'T': {
        const count = reader.int32();
        reader.int8(); // options
        const relations: ReplicatedRelation[] = [];
        for (let i = 0; i < count; i++) relations.push(this.#relation(reader.int32()));
        return { type: 'truncate', relations };
      }
      default:
        return { type: 'other', tag };
    }
  }

  #relation(id: number): ReplicatedRelation {
    const relation = this.#relations.get(id);
    if (relation === undefined)
      throw new Error(`pgoutput: a change refers to relation ${id}, which was never announced`);
    return relation;
  }
}

class Reader {
  #offset = 0;

  constructor(private readonly data: Buffer) {}

  char(): string {
    return String.fromCharCode(this.int8());
  }

  expect(char: string): void {
    const got = this.char();
    if (got !== char) throw new Error(`pgoutput: expected "${char}", got "${got}"`);
  }

  int8(): number {
    return this.data.readUInt8(this.#advance(1));
  }

  int16(): number {
    return this.data.readInt16BE(this.#advance(2));
  }

  int32(): number {
    return this.data.readInt32BE(this.#advance(4));
  }

  int64(): bigint {
    return this.data.readBigUInt64BE(this.#advance(8));
  }

  string(): string {
    const end = this.data.indexOf(0, this.#offset);
    if (end < 0) throw new Error('pgoutput: unterminated string');
    const text = this.data.toString('utf8', this.#offset, end);
    this.#offset = end + 1;
    return text;
  }

  tuple(): TupleValue[] {
    const count = this.int16();
    const values: TupleValue[] = [];
    for (let i = 0; i < count; i++) {
      const kind = this.char();
      if (kind === 'n') values.push(null);
      else if (kind === 'u') values.push({ unchanged: true });
      else if (kind === 't') {
        const length = this.int32();
        const start = this.#advance(length);
        values.push(this.data.toString('utf8', start, start + length));
      } else throw new Error(`pgoutput: unknown tuple value kind "${kind}"`);
    }
    return values;
  }

  #advance(bytes: number): number {
    const at = this.#offset;
    if (at + bytes > this.data.length) throw new Error('pgoutput: message ends early');
    this.#offset += bytes;
    return at;
  }
}

/**
 * Parses a one-dimensional PostgreSQL array literal (`{a,"b c",NULL}`) into its elements' texts.
 *
 * @example
 * ```ts
 * parsePostgresArray('{1,NULL,"x,y"}'); // ['1', null, 'x,y']
 * ```
 */
export function parsePostgresArray(text: string): (string | null)[] {
  if (text.length < 2 || text[0] !== '{' || text[text.length - 1] !== '}')
    throw new Error(`not an array literal: ${text.slice(0, 40)}`);
  const elements: (string | null)[] = [];
  let i = 1;
  const end = text.length - 1;
  if (i === end) return elements;
  while (i <= end) {
    if (text[i] === '"') {
      let value = '';
      i++;
      while (i < end && text[i] !== '"') {
        if (text[i] === '\\') i++;
        value += text[i];
        i++;
      }
      elements.push(value);
      i += 2; // closing quote and the comma (or the closing brace)
    } else {
      const comma = text.indexOf(',', i);
      const stop = comma < 0 || comma > end ? end : comma;
      const value = text.slice(i, stop);
      elements.push(value === 'NULL' ? null : value);
      i = stop + 1;
    }
  }
  return elements;
}

/**
 * A `pg_lsn` as a number (`16/B374D848` -> 0x16B374D848), orderable and comparable.
 *
 * @example
 * ```ts
 * lsnToBigInt('0/16B3748'); // 23803720n
 * ```
 */
export function lsnToBigInt(lsn: string): bigint {
  const [high, low] = lsn.split('/');
  return (BigInt(`0x${high ?? '0'}`) << 32n) + BigInt(`0x${low ?? '0'}`);
}
