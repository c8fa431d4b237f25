// A tiny GraphQL client for the board: queries over HTTP POST, subscriptions over
// the graphql-transport-ws protocol (https://github.com/enisdenjo/graphql-ws,
// PROTOCOL.md). No dependencies, nothing fetched from elsewhere.

const decoder = new TextDecoder();

/** A GraphQL response that carried errors (or an HTTP failure). */
export class GraphQLError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join("; ") || "request failed");
    this.errors = errors;
    this.code = errors[0]?.extensions?.code ?? null;
  }
}

/**
 * POST one operation to `url`. Resolves to `{data, date}` (`date`: the
 * response's Date header); rejects with a GraphQLError.
 */
export async function query(url, document, variables = {}, token = "") {
  const headers = { "content-type": "application/json", accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers,
      body: JSON.stringify({ query: document, variables }),
    });
  } catch (err) {
    throw new GraphQLError([{ message: `the server cannot be reached (${err.message})` }]);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new GraphQLError([{ message: `HTTP ${response.status} ${response.statusText}` }]);
  }
  if (body.errors?.length) throw new GraphQLError(body.errors);
  return { data: body.data, date: response.headers.get("date") };
}

/**
 * One graphql-transport-ws connection. `open()` resolves once the server
 * acknowledged connection_init (whose payload carries the credentials);
 * `onClose(event)` is called when the connection ends after that.
 */
export class Socket {
  constructor(url, { token = "", onClose = () => {} } = {}) {
    this.url = url;
    this.token = token;
    this.onClose = onClose;
    this.ws = null;
    this.sinks = new Map();
    this.nextId = 1;
    this.closing = false;
  }

  open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url, "graphql-transport-ws");
      let acknowledged = false;
      ws.binaryType = "arraybuffer"; // text frames come as strings; binary ones decoded below
      this.ws = ws;
      ws.onopen = () => {
        const payload = this.token ? { Authorization: `Bearer ${this.token}` } : {};
        ws.send(JSON.stringify({ type: "connection_init", payload }));
      };
      ws.onmessage = (message) => {
        const text = typeof message.data === "string" ? message.data : decoder.decode(message.data);
        const msg = JSON.parse(text);
        if (msg.type === "connection_ack") {
          acknowledged = true;
          resolve(this);
        } else {
          this.receive(msg);
        }
      };
      ws.onclose = (event) => {
        this.sinks.clear();
        if (!acknowledged) reject(closeError(event));
        else if (!this.closing) this.onClose(event);
      };
    });
  }

  receive(msg) {
    if (msg.type === "ping") {
      this.ws.send(JSON.stringify({ type: "pong" }));
      return;
    }
    const sink = this.sinks.get(msg.id);
    if (!sink) return;
    if (msg.type === "next" && msg.payload.errors?.length) {
      this.sinks.delete(msg.id); // the subscription failed; a "complete" may follow
      sink.error(new GraphQLError(msg.payload.errors));
    } else if (msg.type === "next") {
      sink.next(msg.payload.data);
    } else if (msg.type === "error") {
      this.sinks.delete(msg.id);
      sink.error(new GraphQLError(msg.payload));
    } else if (msg.type === "complete") {
      this.sinks.delete(msg.id);
      sink.complete();
    }
  }

  /** Start a subscription; `sink` has next(data), error(GraphQLError), complete(). */
  subscribe(document, variables, sink) {
    const id = String(this.nextId++);
    this.sinks.set(id, sink);
    this.ws.send(
      JSON.stringify({ id, type: "subscribe", payload: { query: document, variables } }),
    );
    return () => {
      if (this.sinks.delete(id) && this.ws.readyState === WebSocket.OPEN) {
        this.ws.send(JSON.stringify({ id, type: "complete" }));
      }
    };
  }

  close() {
    this.closing = true;
    this.ws?.close(1000, "bye");
  }
}

/** The error of a connection that closed (its `closeCode`: e.g. 4403 forbidden). */
export function closeError(event) {
  const reason = event.reason || (event.code === 1006 ? "connection lost" : `code ${event.code}`);
  const error = new GraphQLError([{ message: `the live connection closed: ${reason}` }]);
  error.closeCode = event.code;
  return error;
}

/** The websocket URL of a page-relative HTTP path (ws:, or wss: under https:). */
export function socketUrl(path) {
  const url = new URL(path, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}
