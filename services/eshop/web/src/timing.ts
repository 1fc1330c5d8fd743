// The shopper's wait as this browser timed it, kept from the storefront's click to the order's page in the tab's
// sessionStorage (which a reload keeps, and another tab does not share).

/** Milliseconds since the epoch (see tracing.ts's `now`). */
export interface CheckoutTiming {
  clickedAt: number;
  /** When /checkout's 201 came back. */
  answeredAt: number;
  /** When the order's page first showed "E-mail sent". */
  emailShownAt?: number;
}

const key = (orderId: string) => `eshop.checkout-timing.${orderId}`;

export function saveCheckoutTiming(orderId: string, timing: CheckoutTiming): void {
  sessionStorage.setItem(key(orderId), JSON.stringify(timing));
}

export function checkoutTiming(orderId: string): CheckoutTiming | undefined {
  const saved = sessionStorage.getItem(key(orderId));
  return saved === null ? undefined : (JSON.parse(saved) as CheckoutTiming);
}
