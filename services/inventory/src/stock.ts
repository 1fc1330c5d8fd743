import { randomUUID } from 'node:crypto';
import type { StatementSync } from 'node:sqlite';
import type { OrderItem } from '@eshop/events';
import { noFault, type FaultSwitch } from '@eshop/faults';
import { HttpError } from '@eshop/http';
import { OrderLedger } from '@eshop/ledger';
import type { CatalogEntry, Release, Reservation } from './api';

const CURRENCY = 'EUR';

const PRODUCTS = [
  { sku: 'SKU-1', name: 'Espresso beans, 1 kg', priceCents: 2490 },
  { sku: 'SKU-2', name: 'Green tea, 100 bags', priceCents: 890 },
  { sku: 'SKU-3', name: 'Stoneware mug', priceCents: 1250 },
  { sku: 'SKU-4', name: 'Hand grinder', priceCents: 5900 },
  { sku: 'SKU-5', name: 'Pour-over kettle', priceCents: 3990 },
];

/**
 * The stock table, in a SQLite file (`INVENTORY_DB`) beside the ledger of reservations, one per order: every
 * reservation really takes units out of the table, all of an order's items or none, in the transaction that
 * records it, and a release puts them back in the transaction that marks the order released. A restart finds the
 * stock as the last answer left it.
 */
export class Stock {
  private readonly ledger: OrderLedger<Reservation>;
  private readonly unitsOf: StatementSync;
  private readonly take: StatementSync;
  private readonly putBack: StatementSync;

  /** `initialStock`: the units of every SKU when the file is new; a file that has its stock keeps it. */
  constructor(
    path: string,
    initialStock: number,
    private readonly outOfStock: FaultSwitch = noFault('out-of-stock'),
  ) {
    this.ledger = new OrderLedger(
      path,
      'CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, units INTEGER NOT NULL CHECK (units >= 0)) WITHOUT ROWID;',
    );
    const { db } = this.ledger;
    const stock = db.prepare('INSERT OR IGNORE INTO stock (sku, units) VALUES (?, ?)');
    for (const { sku } of PRODUCTS) stock.run(sku, initialStock);
    this.unitsOf = db.prepare('SELECT units FROM stock WHERE sku = ?');
    this.take = db.prepare('UPDATE stock SET units = units - ? WHERE sku = ?');
    this.putBack = db.prepare('UPDATE stock SET units = units + ? WHERE sku = ?');
  }

  catalog(): CatalogEntry[] {
    return PRODUCTS.map(({ sku, name, priceCents }) => ({
      sku,
      name,
      unitPrice: priceCents / 100,
      currency: CURRENCY,
      inStock: this.units(sku),
    }));
  }

  /** Reserves the items of an order; asking again for the same order returns the first reservation. */
  createOrder(orderId: string, items: OrderItem[]): Reservation {
    const reservation = this.ledger.do(orderId, () => this.reserve(orderId, items));
    if (!reservation) {
      throw new HttpError(409, 'Order released', {
        detail: 'this order was released and cannot be reserved again',
        errors: [{ field: 'orderId', reason: 'released' }],
      });
    }
    return reservation;
  }

  /** Puts an order's units back, once however often it is asked; an order not reserved yet never will be. */
  releaseOrder(orderId: string): Release {
    const reservation = this.ledger.undo(orderId, (reserved) => {
      for (const { sku, quantity } of reserved.items) this.putBack.run(quantity, sku);
      return reserved;
    });
    return { orderId, status: reservation ? 'released' : 'nothing-reserved' };
  }

  close(): void {
    this.ledger.close();
  }

  private units(sku: string): number {
    return Number(this.unitsOf.get(sku)?.units ?? 0);
  }

  /** Takes an order's units out of stock; run inside the ledger's transaction that records the reservation. */
  private reserve(orderId: string, items: OrderItem[]): Reservation {
    const unknown = items.flatMap((item, index) =>
      PRODUCTS.some(({ sku }) => sku === item.sku)
        ? []
        : [{ field: `items.${index}.sku`, reason: `unknown SKU ${item.sku}` }],
    );
    if (unknown.length > 0)
      throw new HttpError(422, 'Unknown product', {
        detail: 'the order names a SKU not in the catalog',
        errors: unknown,
      });

    const wanted = new Map<string, number>();
    for (const { sku, quantity } of items) wanted.set(sku, (wanted.get(sku) ?? 0) + quantity);
    if (this.outOfStock.strikes()) {
      const reasons = [...wanted.keys()].map((sku) => ({
        field: 'items',
        reason: `${sku}: out of stock (fault out-of-stock)`,
      }));
      throw new HttpError(409, 'Out of stock', {
        detail: 'not enough units in stock (injected by the out-of-stock fault)',
        errors: reasons,
        errorType: 'out_of_stock',
      });
    }
    const short = [...wanted].filter(([sku, quantity]) => quantity > this.units(sku));
    if (short.length > 0) {
      throw new HttpError(409, 'Out of stock', {
        detail: 'not enough units in stock',
        errors: short.map(([sku]) => ({ field: 'items', reason: `${sku}: only ${this.units(sku)} in stock` })),
        errorType: 'out_of_stock',
      });
    }

    for (const [sku, quantity] of wanted) this.take.run(quantity, sku);
    let totalCents = 0;
    const reserved = items.map(({ sku, quantity }) => {
      const priceCents = PRODUCTS.find((product) => product.sku === sku)!.priceCents;
      totalCents += priceCents * quantity;
      return { sku, quantity, unitPrice: priceCents / 100 };
    });
    return {
      reservationId: randomUUID(),
      orderId,
      items: reserved,
      total: totalCents / 100,
      currency: CURRENCY,
    };
  }
}
