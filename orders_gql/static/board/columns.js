// The board's status columns: one card per order, at the top of its status's
// column when it changes; counts in the column headings.

import { STATUSES } from "./orders.js";

const money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const clock = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });
const day = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

/** A sum of money (a decimal string) as the reader's locale writes it. */
export function formatMoney(amount) {
  return money.format(Number(amount));
}

export class Columns {
  /**
   * `maxCards` per column: the oldest cards beyond it leave the page, and
   * `onForget(orderId)` is told so.
   */
  constructor({ maxCards, onForget }) {
    this.maxCards = maxCards;
    this.onForget = onForget;
    this.cards = new Map(); // orderId -> its <li>
    this.counts = null; // status -> count, from the summary
  }

  list(status) {
    return document.querySelector(`.column[data-status="${status}"] ol`);
  }

  /** Show the order's card (new or updated) at the top of its status column. */
  place(order, fresh) {
    let card = this.cards.get(order.orderId);
    if (!card) {
      card = document.createElement("li");
      card.className = "card";
      card.dataset.orderId = order.orderId;
      this.cards.set(order.orderId, card);
    }
    fill(card, order);
    const list = this.list(order.status);
    list.prepend(card);
    if (fresh) flash(card);
    while (list.children.length > this.maxCards) {
      const oldest = list.lastElementChild.dataset.orderId;
      this.remove(oldest);
      this.onForget(oldest);
    }
    this.showCounts();
  }

  remove(orderId) {
    this.cards.get(orderId)?.remove();
    this.cards.delete(orderId);
    this.showCounts();
  }

  clear() {
    for (const status of STATUSES) this.list(status).replaceChildren();
    this.cards.clear();
    this.counts = null;
    this.showCounts();
  }

  /** Counts per status: the summary's when it has them (`counts`), else the cards'. */
  showCounts(counts = this.counts) {
    this.counts = counts;
    for (const status of STATUSES) {
      const column = document.querySelector(`.column[data-status="${status}"]`);
      const shown = this.list(status).children.length;
      const total = counts?.[status] ?? shown;
      column.querySelector(".count").textContent = total.toLocaleString();
      column.querySelector(".more").textContent =
        total > shown ? `Showing the latest ${shown} of ${total.toLocaleString()}.` : "";
    }
  }
}

function fill(card, order) {
  const items = order.items ?? [];
  const first = items[0];
  const lines = first ? `${first.quantity} × ${first.productName}` : "no items";
  const reason = order.cancellationReason;
  card.replaceChildren(
    el("h3", "customer", order.customerName),
    el("p", "items", items.length > 1 ? `${lines} and ${items.length - 1} more` : lines),
    el("p", "total", formatMoney(order.totalAmount)),
    ...(reason ? [el("p", "reason", `Cancelled: ${reason}`)] : []),
    el("p", "meta", `#${order.orderId.slice(0, 8)} · `),
  );
  const at = new Date(order.updatedAt);
  const today = at.toDateString() === new Date().toDateString();
  const time = el("time", "", today ? clock.format(at) : `${day.format(at)}, ${clock.format(at)}`);
  time.dateTime = order.updatedAt;
  card.lastElementChild.append(time);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}

function flash(card) {
  card.classList.remove("fresh");
  void card.offsetWidth; // restart the animation
  card.classList.add("fresh");
}
