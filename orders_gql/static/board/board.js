// The live order board: loads the orders, subscribes to orderEvents over
// graphql-transport-ws and moves the cards between the status columns as the
// events arrive; the summary is queried again after them (consistentWith).

import { Socket, closeError, query, socketUrl } from "./gql.js";
import { STATUSES, evolve, later, positionBefore } from "./orders.js";

const ENDPOINT = "/graphql";
const MARGIN_MS = 10_000; // see positionBefore
const MAX_CARDS = 100; // per column; older cards leave the page
const TOKEN_KEY = "orders-board-token";

const FIELDS = `orderId customerName totalAmount status version cancellationReason updatedAt
  items { productName quantity }`;
const PROBE = "query BoardProbe { __typename }";
const ORDERS = `query BoardOrders($at: String) {
  orders(first: 100, consistentWith: $at) { edges { node { ${FIELDS} } } } }`;
const ORDER = `query BoardOrder($id: ID!, $at: String) {
  order(orderId: $id, consistentWith: $at) { ${FIELDS} } }`;
const SUMMARY = `query BoardSummary($at: String) { orderSummary(consistentWith: $at) {
  totalOrders totalRevenue ordersByStatus { status count } } }`;
const EVENTS = `subscription BoardEvents($after: String) {
  orderEvents(after: $after) { type orderId version occurredAt position data } }`;
const AUTH_CODES = new Set(["UNAUTHENTICATED", "FORBIDDEN"]);

const board = {
  token: sessionStorage.getItem(TOKEN_KEY) ?? "",
  session: 0, // bumped by each (re)start: callbacks of an older one do nothing
  orders: new Map(), // orderId -> the order as the board holds it
  cards: new Map(), // orderId -> its <li>
  fetching: new Map(), // orderId -> events that arrived while it was being loaded
  after: null, // the latest log position the board includes
  socket: null,
  retries: 0, // failures in a row: the wait before the next try doubles, up to 15 s
  summary: newSummary(),
  announcedAt: 0,
};

function newSummary() {
  return { wanted: null, shown: null, timer: null, busy: false, forbidden: false, counts: null };
}

const $ = (id) => document.getElementById(id);
const money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const clock = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });
const day = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

// ---- starting, connecting, reconnecting

async function start() {
  const session = ++board.session;
  board.socket?.close();
  clearBoard();
  setConnection("connecting", "Connecting…");
  try {
    const probe = await query(ENDPOINT, PROBE, {}, board.token);
    const at = positionBefore(probe.date, MARGIN_MS);
    await loadOrders(at, session);
    if (session !== board.session) return;
    board.after = at;
    wantSummary(at);
    await listen(session);
  } catch (err) {
    if (session === board.session) failed(session, err, start);
  }
}

async function loadOrders(at, session) {
  let result;
  try {
    result = await query(ENDPOINT, ORDERS, { at }, board.token);
  } catch (err) {
    if (err.code === "CONSISTENCY_TIMEOUT") {
      note("The read models are behind the event log; the board shows what they hold.");
      result = await query(ENDPOINT, ORDERS, { at: null }, board.token);
    } else if (err.code === "SERVICE_UNAVAILABLE") {
      note(`Orders could not be listed (${err.message}); new events still show.`);
      return;
    } else {
      throw err;
    }
  }
  if (session !== board.session) return;
  for (const { node } of [...result.data.orders.edges].reverse()) place(node, false);
}

/** Open the websocket and subscribe after the latest position the board has. */
async function listen(session) {
  const socket = new Socket(socketUrl(ENDPOINT), {
    token: board.token,
    onClose: (event) => failed(session, closeError(event), () => listen(session)),
  });
  board.socket = socket;
  await socket.open();
  if (session !== board.session) {
    socket.close();
    return;
  }
  subscribe(socket, session);
  board.retries = 0;
  setConnection("live", "Live");
}

function subscribe(socket, session) {
  socket.subscribe(EVENTS, { after: board.after }, {
    next: (data) => session === board.session && receive(data.orderEvents),
    error: (err) => {
      if (session !== board.session) return;
      if (err.code === "SUBSCRIBER_TOO_SLOW") {
        board.after = err.errors[0].extensions?.resumeAfter ?? board.after;
        subscribe(socket, session); // resume where it stopped: no gap
      } else {
        socket.close();
        failed(session, err, () => listen(session));
      }
    },
    complete: () => {
      if (session !== board.session) return;
      socket.close();
      failed(session, new Error("the server ended the subscription"), () => listen(session));
    },
  });
}

/** Show why the board is not live; try again later unless it needs credentials. */
function failed(session, err, again) {
  if (session !== board.session) return;
  if (AUTH_CODES.has(err.code) || err.closeCode === 4403 || err.closeCode === 4401) {
    const need = board.token ? "The token was refused" : "This server needs a token";
    setConnection("error", `${need}: ${err.message}. Paste a token above and press Connect.`);
    return;
  }
  const delay = Math.min(15, 2 ** board.retries++);
  setConnection("retrying", `Not connected (${err.message}); trying again in ${delay} s…`);
  setTimeout(() => {
    if (session !== board.session) return;
    Promise.resolve(again()).catch((e) => failed(session, e, again));
  }, delay * 1000);
}

// ---- events

function receive(event) {
  board.after = later(board.after, event.position);
  const held = board.fetching.get(event.orderId);
  if (held) held.push(event);
  else apply(event);
  wantSummary(board.after);
}

function apply(event) {
  const change = evolve(board.orders.get(event.orderId), event);
  if (change.kind === "order") {
    place(change.order, true);
    announce(`Order by ${change.order.customerName} is now ${label(change.order.status)}.`);
  } else if (change.kind === "deleted") {
    drop(event.orderId);
  } else if (change.kind === "fetch") {
    fetchOrder(event);
  }
}

/** The board lacks the order's earlier events: load it as of this event. */
async function fetchOrder(event) {
  const id = event.orderId;
  const session = board.session;
  board.fetching.set(id, []);
  let loaded = true;
  try {
    const { data } = await query(ENDPOINT, ORDER, { id, at: event.position }, board.token);
    if (session !== board.session) return;
    const known = board.orders.get(id);
    if (data.order === null) drop(id);
    else if (!known || data.order.version > known.version) place(data.order, true);
  } catch (err) {
    loaded = false;
    note(`Order ${shortId(id)} could not be loaded: ${err.message}`);
  }
  if (session !== board.session) return;
  const held = board.fetching.get(id) ?? [];
  board.fetching.delete(id);
  if (loaded) held.forEach(apply);
}

// ---- the summary: asked again after events, at most every 250 ms

function wantSummary(position) {
  const s = board.summary;
  s.wanted = later(s.wanted, position);
  if (!s.timer && !s.busy && !s.forbidden) s.timer = setTimeout(refreshSummary, 250);
}

async function refreshSummary() {
  const s = board.summary;
  const session = board.session;
  const at = s.wanted;
  s.timer = null;
  s.busy = true;
  let pause = 250;
  try {
    const { data } = await query(ENDPOINT, SUMMARY, { at }, board.token);
    if (session !== board.session) return;
    s.shown = at;
    showSummary(data.orderSummary);
  } catch (err) {
    if (session !== board.session) return;
    s.forbidden = AUTH_CODES.has(err.code);
    $("summary-note").textContent = s.forbidden
      ? "The summary is not available to this account."
      : `The summary could not be refreshed: ${err.message}`;
    pause = 2000;
  } finally {
    s.busy = false;
  }
  if (session === board.session && !s.forbidden && s.shown !== s.wanted && !s.timer) {
    s.timer = setTimeout(refreshSummary, pause);
  }
}

function showSummary(summary) {
  $("total-orders").textContent = summary.totalOrders.toLocaleString();
  $("total-revenue").textContent = money.format(Number(summary.totalRevenue));
  $("summary-note").textContent = "";
  board.summary.counts = Object.fromEntries(
    summary.ordersByStatus.map(({ status, count }) => [status, count]),
  );
  updateCounts();
}

// ---- the DOM

function column(status) {
  return document.querySelector(`.column[data-status="${status}"]`);
}

/** Put the order's card (new or updated) at the top of its status column. */
function place(order, fresh) {
  board.orders.set(order.orderId, order);
  let card = board.cards.get(order.orderId);
  if (!card) {
    card = document.createElement("li");
    card.className = "card";
    card.dataset.orderId = order.orderId;
    board.cards.set(order.orderId, card);
  }
  fill(card, order);
  const list = column(order.status).querySelector("ol");
  list.prepend(card);
  if (fresh) flash(card);
  while (list.children.length > MAX_CARDS) forget(list.lastElementChild.dataset.orderId);
  updateCounts();
}

function fill(card, order) {
  const items = order.items ?? [];
  const first = items[0];
  const lines = first ? `${first.quantity} × ${first.productName}` : "no items";
  card.replaceChildren(
    el("h3", "customer", order.customerName),
    el("p", "items", items.length > 1 ? `${lines} and ${items.length - 1} more` : lines),
    el("p", "total", money.format(Number(order.totalAmount))),
    ...(order.cancellationReason ? [el("p", "reason", `Cancelled: ${order.cancellationReason}`)] : []),
    el("p", "meta", `#${shortId(order.orderId)} · `),
  );
  const at = new Date(order.updatedAt);
  const today = at.toDateString() === new Date().toDateString();
  const time = el("time", "", today ? clock.format(at) : `${day.format(at)}, ${clock.format(at)}`);
  time.dateTime = order.updatedAt;
  card.lastElementChild.append(time);
  card.dataset.status = order.status;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  node.textContent = text;
  return node;
}

function flash(card) {
  card.classList.remove("fresh");
  void card.offsetWidth; // restart the animation
  card.classList.add("fresh");
}

function drop(orderId) {
  forget(orderId);
  updateCounts();
}

function forget(orderId) {
  board.cards.get(orderId)?.remove();
  board.cards.delete(orderId);
  board.orders.delete(orderId);
}

function updateCounts() {
  for (const status of STATUSES) {
    const col = column(status);
    const shown = col.querySelector("ol").children.length;
    const total = board.summary.counts?.[status] ?? shown;
    col.querySelector(".count").textContent = total.toLocaleString();
    col.querySelector(".more").textContent =
      total > shown ? `Showing the latest ${shown} of ${total.toLocaleString()}.` : "";
  }
}

function clearBoard() {
  for (const status of STATUSES) column(status).querySelector("ol").replaceChildren();
  board.orders.clear();
  board.cards.clear();
  board.fetching.clear();
  board.after = null;
  clearTimeout(board.summary.timer);
  board.summary = newSummary();
  $("total-orders").textContent = "–";
  $("total-revenue").textContent = "–";
  $("summary-note").textContent = "";
  note("");
  updateCounts();
}

function setConnection(state, text) {
  const status = $("connection");
  status.dataset.state = state;
  status.textContent = text;
}

function note(text) {
  $("note").textContent = text;
}

function announce(text) {
  const now = Date.now();
  if (now - board.announcedAt < 1500) return; // a burst of events is not read out
  board.announcedAt = now;
  $("announcer").textContent = text;
}

function label(status) {
  return status.charAt(0) + status.slice(1).toLowerCase();
}

function shortId(orderId) {
  return orderId.slice(0, 8);
}

// ---- the token form

const form = $("auth");
form.token.value = board.token;
form.addEventListener("submit", (event) => {
  event.preventDefault();
  board.token = form.token.value.trim();
  if (board.token) sessionStorage.setItem(TOKEN_KEY, board.token);
  else sessionStorage.removeItem(TOKEN_KEY);
  start();
});
window.addEventListener("pagehide", () => board.socket?.close());

start();
