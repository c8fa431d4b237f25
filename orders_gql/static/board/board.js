// The live order board: loads the orders, subscribes to orderEvents over
// graphql-transport-ws and moves the cards between the status columns as the
// events arrive; the summary is queried again after them (consistentWith).

import { Columns, formatMoney } from "./columns.js";
import { Socket, closeError, query, socketUrl } from "./gql.js";
import { evolve, later, positionBefore } from "./orders.js";
import { SummaryFeed } from "./summary.js";

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
  fetching: new Map(), // orderId -> events that arrived while it was being loaded
  after: null, // the latest log position the board includes
  socket: null,
  retries: 0, // failures in a row: the wait before the next try doubles, up to 15 s
  summary: null, // the SummaryFeed of this start
  announcedAt: 0,
};

const columns = new Columns({ maxCards: MAX_CARDS, onForget: (id) => board.orders.delete(id) });
const $ = (id) => document.getElementById(id);

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
    board.summary.want(at);
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
  board.summary.want(board.after);
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
    note(`Order ${id.slice(0, 8)} could not be loaded: ${err.message}`);
  }
  if (session !== board.session) return;
  const held = board.fetching.get(id) ?? [];
  board.fetching.delete(id);
  if (loaded) held.forEach(apply);
}

// ---- the summary

function newSummary() {
  return new SummaryFeed({
    load: async (at) => (await query(ENDPOINT, SUMMARY, { at }, board.token)).data.orderSummary,
    show: showSummary,
    problem: (err, forbidden) => {
      $("summary-note").textContent = forbidden
        ? "The summary is not available to this account."
        : `The summary could not be refreshed: ${err.message}`;
    },
  });
}

function showSummary(summary) {
  $("total-orders").textContent = summary.totalOrders.toLocaleString();
  $("total-revenue").textContent = formatMoney(summary.totalRevenue);
  $("summary-note").textContent = "";
  columns.showCounts(
    Object.fromEntries(summary.ordersByStatus.map(({ status, count }) => [status, count])),
  );
}

// ---- the page

function place(order, fresh) {
  board.orders.set(order.orderId, order);
  columns.place(order, fresh);
}

function drop(orderId) {
  board.orders.delete(orderId);
  columns.remove(orderId);
}

function clearBoard() {
  columns.clear();
  board.orders.clear();
  board.fetching.clear();
  board.after = null;
  board.summary?.stop();
  board.summary = newSummary();
  $("total-orders").textContent = "–";
  $("total-revenue").textContent = "–";
  $("summary-note").textContent = "";
  note("");
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
