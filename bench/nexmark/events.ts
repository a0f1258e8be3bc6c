/**
 * The three Nexmark event kinds, as in the reference source table (`queries/ddl_gen.sql`): times
 * are epoch milliseconds, ids are plain numbers (exact: they stay far below 2^53).
 */

/**
 * A person registering: the `person` view of the queries.
 *
 * @example
 * ```ts
 * const person: NexmarkPerson = {
 *   id: 1000, name: 'Peter Shultz', emailAddress: 'abc@de.com', creditCard: '0001 0002 0003 0004',
 *   city: 'Boise', state: 'ID', dateTime: Date.UTC(2024, 0, 1), extra: '',
 * };
 * ```
 */
export interface NexmarkPerson {
  readonly id: number;
  readonly name: string;
  readonly emailAddress: string;
  readonly creditCard: string;
  readonly city: string;
  readonly state: string;
  /** Event time, epoch milliseconds. */
  readonly dateTime: number;
  readonly extra: string;
}

/**
 * An auction being opened: the `auction` view of the queries.
 *
 * @example
 * ```ts
 * const open = (a: NexmarkAuction, at: number) => a.dateTime <= at && at < a.expires;
 * ```
 */
export interface NexmarkAuction {
  readonly id: number;
  readonly itemName: string;
  readonly description: string;
  /** Cents, like every price. */
  readonly initialBid: number;
  readonly reserve: number;
  /** Event time, epoch milliseconds. */
  readonly dateTime: number;
  /** When the auction closes, epoch milliseconds (always after `dateTime`). */
  readonly expires: number;
  /** Person id of the seller. */
  readonly seller: number;
  /** 10..14. */
  readonly category: number;
  readonly extra: string;
}

/**
 * A bid on an auction: the `bid` view of the queries.
 *
 * @example
 * ```ts
 * const euros = (bid: NexmarkBid) => bid.price * 0.908; // q1
 * ```
 */
export interface NexmarkBid {
  /** Auction id. */
  readonly auction: number;
  /** Person id of the bidder (see `bidderIdConvention`). */
  readonly bidder: number;
  /** Cents, 100 .. 100,000,000, log-uniform. */
  readonly price: number;
  readonly channel: string;
  readonly url: string;
  /** Event time, epoch milliseconds. */
  readonly dateTime: number;
  readonly extra: string;
}

/**
 * One event of the stream. Flat on purpose, like the reference's source row (`event_type`,
 * `person`, `auction`, `bid`): every event object has the same five keys, the two kinds it is not
 * are `undefined`, and `dateTime` (the event time) sits on top. One object shape keeps the
 * consumer's property reads monomorphic; narrow with `type` or by testing the kind's key.
 *
 * @example
 * ```ts
 * function priceOf(event: NexmarkEvent): number | undefined {
 *   if (event.type === 'bid') return event.bid.price;
 *   return event.auction?.initialBid;
 * }
 * ```
 */
export type NexmarkEvent =
  | {
      readonly type: 'person';
      readonly dateTime: number;
      readonly person: NexmarkPerson;
      readonly auction: undefined;
      readonly bid: undefined;
    }
  | {
      readonly type: 'auction';
      readonly dateTime: number;
      readonly person: undefined;
      readonly auction: NexmarkAuction;
      readonly bid: undefined;
    }
  | {
      readonly type: 'bid';
      readonly dateTime: number;
      readonly person: undefined;
      readonly auction: undefined;
      readonly bid: NexmarkBid;
    };

/**
 * The kind of an event: `'person'`, `'auction'` or `'bid'`.
 *
 * @example
 * ```ts
 * const counts: Record<NexmarkEventType, number> = { person: 0, auction: 0, bid: 0 };
 * for (const event of events) counts[event.type]++;
 * ```
 */
export type NexmarkEventType = NexmarkEvent['type'];

/**
 * The size of an event as the generator spec counts it (the figure `extra` pads towards the
 * configured average): person 8 + the lengths of its strings; auction 8 + item name + description
 * + 40 + extra; bid 32 + extra.
 *
 * @example
 * ```ts
 * const average = events.reduce((sum, e) => sum + nexmarkEventSize(e), 0) / events.length;
 * ```
 */
export function nexmarkEventSize(event: NexmarkEvent): number {
  switch (event.type) {
    case 'person': {
      const p = event.person;
      return (
        8 +
        p.name.length +
        p.emailAddress.length +
        p.creditCard.length +
        p.city.length +
        p.state.length +
        p.extra.length
      );
    }
    case 'auction': {
      const a = event.auction;
      return 8 + a.itemName.length + a.description.length + 40 + a.extra.length;
    }
    case 'bid':
      return 32 + event.bid.extra.length;
  }
}
