/**
 * EventLoop: the real-time loop on Node's own event loop (libuv). An iteration runs in a
 * host callback (`setImmediate`); the earliest TimerHandle arms one host timer; I/O from
 * Node's modules becomes callbacks on the ready queue.
 */
import { BaseEventLoop } from "./base-event-loop.ts";

/** How long one host callback may keep running ready callbacks before Node gets a turn. */
const BATCH_BUDGET_MS = 4;

/** The event loop for real programs: `time()` is `performance.now()` in seconds. */
export class EventLoop extends BaseEventLoop {
  #hostTimer: NodeJS.Timeout | null = null;
  #hostTimerWhen = Infinity;

  /** Monotonic seconds since the process started. */
  time(): number {
    return performance.now() / 1000;
  }

  /** @internal */
  override _batchStart(): number {
    return performance.now();
  }

  /** @internal */
  override _batchExpired(started: number): boolean {
    return performance.now() - started > BATCH_BUDGET_MS;
  }

  /** @internal */
  _idle(nextWhen: number): boolean {
    if (nextWhen === Infinity) return false;
    // A host timer armed for this timer (or an earlier one) will drive the loop: no need
    // to read the clock (this runs after every I/O event).
    if (this.#hostTimer !== null && this.#hostTimerWhen <= nextWhen) return false;
    const delay = nextWhen - this.time();
    if (delay <= 0) return true;
    if (this.#hostTimer !== null) {
      if (this.#hostTimerWhen <= nextWhen) return false;
      clearTimeout(this.#hostTimer);
    }
    // Never fire early: libuv rounds to milliseconds, and a timer must not run before its time.
    const ms = Math.min(Math.ceil(delay * 1000), BaseEventLoop._maxHostDelayMs);
    this.#hostTimerWhen = nextWhen;
    this.#hostTimer = setTimeout(this.#onHostTimer, ms);
    return false;
  }

  /** @internal */
  override _closeHost(): void {
    if (this.#hostTimer !== null) {
      clearTimeout(this.#hostTimer);
      this.#hostTimer = null;
      this.#hostTimerWhen = Infinity;
    }
  }

  readonly #onHostTimer = (): void => {
    this.#hostTimer = null;
    this.#hostTimerWhen = Infinity;
    this._drive();
  };
}

/** A new real-time event loop. */
export function newEventLoop(): EventLoop {
  return new EventLoop();
}
