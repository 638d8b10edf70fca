// Estimate of the time a running task has left, from its progress rate.

import { parseTime } from './format.js';

// How far back the rate looks. A shorter window follows a task whose speed
// changes; a longer one smooths tasks that report in bursts.
const RATE_WINDOW_MS = 60000;

// Collects (time, percent) samples of one attempt and estimates the
// remaining time by the rate over the last RATE_WINDOW_MS.
export class ProgressEstimator {
  constructor() {
    this.attempt = null;
    this.samples = [];
  }

  // Adds a sample; a sample of a newer attempt drops the older ones, and a
  // sample of an older attempt is ignored.
  add(attempt, atIso, percent) {
    const atMs = parseTime(atIso);
    if (atMs === null || typeof percent !== 'number') return;
    if (this.attempt !== null && attempt < this.attempt) return;
    if (attempt !== this.attempt) {
      this.attempt = attempt;
      this.samples = [];
    }

    const last = this.samples[this.samples.length - 1];
    if (last && last.atMs === atMs && last.percent === percent) return;
    this.samples.push({ atMs, percent });
    this.samples.sort((a, b) => a.atMs - b.atMs);
  }

  // Returns the estimated milliseconds left at `nowMs`, or null while the
  // rate is unknown (no progress yet, or none in the window).
  remainingMs(nowMs) {
    if (this.samples.length < 2) return null;

    const last = this.samples[this.samples.length - 1];
    if (last.percent >= 100) return 0;

    const windowStartMs = last.atMs - RATE_WINDOW_MS;
    const first = this.samples.find((sample) => sample.atMs >= windowStartMs && sample !== last)
      || this.samples[0];
    const spanMs = last.atMs - first.atMs;
    const gained = last.percent - first.percent;
    if (spanMs <= 0 || gained <= 0) return null;

    const ratePerMs = gained / spanMs;
    const remaining = (100 - last.percent) / ratePerMs - (nowMs - last.atMs);
    return Math.max(0, remaining);
  }
}
