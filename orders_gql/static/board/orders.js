// The board's model, without the DOM: log positions, and what an event does to
// the order the board holds.

export const STATUSES = ["PENDING", "CONFIRMED", "PROCESSING", "SHIPPED", "DELIVERED", "CANCELLED"];

/** [milliseconds, sequence] of a log position "1732600000000-3". */
function positionKey(position) {
  const [ms, seq] = position.split("-").map(Number);
  return [ms, seq];
}

/** The later of two log positions (either may be null). */
export function later(a, b) {
  if (!a) return b;
  if (!b) return a;
  const [am, as] = positionKey(a);
  const [bm, bs] = positionKey(b);
  return am > bm || (am === bm && as >= bs) ? a : b;
}

/**
 * A log position `marginMs` before the server's clock (its HTTP Date header).
 * The board loads orders consistent with it and subscribes after it: the events
 * in between arrive twice, and the versions sort that out. The margin absorbs
 * a difference between the clocks of the API server and of Redis.
 */
export function positionBefore(dateHeader, marginMs) {
  const serverNow = Date.parse(dateHeader ?? "");
  const now = Number.isNaN(serverNow) ? Date.now() : serverNow;
  return `${Math.max(0, now - marginMs)}-0`;
}

/**
 * What an event does to `order` (the board's copy, or undefined):
 *   {kind: "ignore"}          the copy already includes it
 *   {kind: "deleted"}         the order is gone
 *   {kind: "fetch"}           the copy lacks earlier events: load the order
 *   {kind: "order", order}    the order after the event
 */
export function evolve(order, event) {
  if (order && event.version <= order.version) return { kind: "ignore" };
  if (event.type === "OrderDeleted") return { kind: "deleted" };
  const expected = order ? order.version + 1 : 1;
  if (event.version !== expected) return { kind: "fetch" };
  const data = event.data ?? {};
  const base = { version: event.version, updatedAt: event.occurredAt };
  switch (event.type) {
    case "OrderCreated":
      return {
        kind: "order",
        order: {
          ...base,
          orderId: event.orderId,
          customerName: data.customerName,
          customerEmail: data.customerEmail,
          items: (data.items ?? []).map((i) => ({
            productName: i.productName,
            quantity: i.quantity,
          })),
          totalAmount: data.totalAmount,
          status: "PENDING",
          cancellationReason: null,
        },
      };
    case "OrderStatusChanged":
      return { kind: "order", order: { ...order, ...base, status: data.toStatus.toUpperCase() } };
    case "OrderCancelled":
      return {
        kind: "order",
        order: { ...order, ...base, status: "CANCELLED", cancellationReason: data.reason },
      };
    default: // an event type this page does not know: ask the server
      return { kind: "fetch" };
  }
}
