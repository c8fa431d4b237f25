// The summary figures, asked for again after events: at most one request at a
// time, at most every 250 ms, each consistent with the latest event's position.

import { later } from "./orders.js";

const AUTH_CODES = new Set(["UNAUTHENTICATED", "FORBIDDEN"]);

export class SummaryFeed {
  /**
   * `load(position)` resolves to the summary consistent with it; `show(summary)`
   * displays it; `problem(error, forbidden)` says why it could not be had.
   */
  constructor({ load, show, problem }) {
    this.load = load;
    this.show = show;
    this.problem = problem;
    this.wanted = null; // the latest position the figures should include
    this.shown = null; // the position of the figures shown
    this.timer = null;
    this.busy = false;
    this.forbidden = false; // this account may not read it: stop asking
    this.stopped = false;
  }

  /** The figures should include `position` (a log position): refresh them soon. */
  want(position) {
    this.wanted = later(this.wanted, position);
    this.schedule(250);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  schedule(ms) {
    if (this.timer || this.busy || this.forbidden || this.stopped) return;
    this.timer = setTimeout(() => this.refresh(), ms);
  }

  async refresh() {
    const at = this.wanted;
    let pause = 250;
    this.timer = null;
    this.busy = true;
    try {
      const summary = await this.load(at);
      if (this.stopped) return;
      this.shown = at;
      this.show(summary);
    } catch (err) {
      if (this.stopped) return;
      this.forbidden = AUTH_CODES.has(err.code);
      this.problem(err, this.forbidden);
      pause = 2000;
    } finally {
      this.busy = false;
    }
    if (this.shown !== this.wanted) this.schedule(pause);
  }
}
