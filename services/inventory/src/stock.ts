import { randomUUID } from 'node:crypto';
import type { OrderItem } from '@eshop/events';
import { noFault, type FaultSwitch } from '@eshop/faults';
import { HttpError } from '@eshop/http';
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
 * The stock table: every reservation really takes units out of it, all of an order's items or none, and a
 * release puts them back.
 */
export class Stock {
  private readonly units = new Map<string, number>();
  private readonly reservations = new Map<string, Reservation>();
  /** Orders released, including those released before their reservation arrived (a timed-out call). */
  private readonly released = new Set<string>();

  constructor(
    initialStock: number,
    private readonly outOfStock: FaultSwitch = noFault('out-of-stock'),
  ) {
    for (const product of PRODUCTS) this.units.set(product.sku, initialStock);
  }

  catalog(): CatalogEntry[] {
    return PRODUCTS.map(({ sku, name, priceCents }) => ({
      sku,
      name,
      unitPrice: priceCents / 100,
      currency: CURRENCY,
      inStock: this.units.get(sku) ?? 0,
    }));
  }

  /** Reserves the items of an order; asking again for the same order returns the first reservation. */
  createOrder(orderId: string, items: OrderItem[]): Reservation {
    if (this.released.has(orderId)) {
      throw new HttpError(409, 'Order released', {
        detail: 'this order was released and cannot be reserved again',
        errors: [{ field: 'orderId', reason: 'released' }],
      });
    }
    const existing = this.reservations.get(orderId);
    if (existing) return existing;

    const unknown = items.flatMap((item, index) =>
      this.units.has(item.sku) ? [] : [{ field: `items.${index}.sku`, reason: `unknown SKU ${item.sku}` }],
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
    const short = [...wanted].filter(([sku, quantity]) => quantity > (this.units.get(sku) ?? 0));
    if (short.length > 0) {
      throw new HttpError(409, 'Out of stock', {
        detail: 'not enough units in stock',
        errors: short.map(([sku]) => ({ field: 'items', reason: `${sku}: only ${this.units.get(sku)} in stock` })),
        errorType: 'out_of_stock',
      });
    }

    for (const [sku, quantity] of wanted) this.units.set(sku, this.units.get(sku)! - quantity);
    let totalCents = 0;
    const reserved = items.map(({ sku, quantity }) => {
      const priceCents = PRODUCTS.find((product) => product.sku === sku)!.priceCents;
      totalCents += priceCents * quantity;
      return { sku, quantity, unitPrice: priceCents / 100 };
    });
    const reservation = {
      reservationId: randomUUID(),
      orderId,
      items: reserved,
      total: totalCents / 100,
      currency: CURRENCY,
    };
    this.reservations.set(orderId, reservation);
    return reservation;
  }

  /** Puts an order's units back, once however often it is asked; an order not reserved yet never will be. */
  releaseOrder(orderId: string): Release {
    const reservation = this.reservations.get(orderId);
    if (reservation && !this.released.has(orderId)) {
      for (const { sku, quantity } of reservation.items) this.units.set(sku, (this.units.get(sku) ?? 0) + quantity);
    }
    this.released.add(orderId);
    return { orderId, status: reservation ? 'released' : 'nothing-reserved' };
  }
}
