/**
 * Barrier: a meeting point for a fixed number of tasks. Mirrors asyncio.Barrier
 * (Lib/asyncio/locks.py, 3.11+), built on a Condition as asyncio's is.
 */
import type { Coro } from "../coroutines.ts";
import { BrokenBarrierError } from "../exceptions.ts";
import { inspectAsString } from "../internal/inspect.ts";
import { validateInteger } from "../internal/validate.ts";
import { Condition } from "./condition.ts";

/**
 * `filling` while tasks arrive; `draining` while the tasks of a full round leave;
 * `resetting` while the waiters of a reset round leave; `broken` after `abort()`, until
 * `reset()`.
 */
type BarrierState = "filling" | "draining" | "resetting" | "broken";

/**
 * Blocks tasks in `wait()` until `parties` of them are waiting, then lets them all go. It
 * can be used again: tasks arriving while the previous round drains wait for the next.
 *
 * `reset()` sends waiting tasks away with BrokenBarrierError and makes the barrier
 * reusable; `abort()` breaks it for good (until `reset()`). A task cancelled in `wait()`
 * simply leaves: the count goes down and the others keep waiting.
 */
export class Barrier {
  readonly #cond = new Condition();
  readonly #parties: number;
  #state: BarrierState = "filling";
  /** Tasks inside `wait()` in this round (waiting, or leaving while draining/resetting). */
  #count = 0;

  /**
   * A barrier for `parties` tasks.
   *
   * @throws TypeError unless `parties` is an integer; RangeError when it is < 1
   *   (asyncio: ValueError `parties must be > 0`).
   */
  constructor(parties: number) {
    validateInteger(parties, "parties", 1);
    this.#parties = parties;
  }

  /** asyncio's repr: `<Barrier [filling, waiters:2/3]>`, or `<Barrier [broken]>`. */
  toString(): string {
    const waiting = this.broken ? "" : `, waiters:${this.nWaiting}/${this.#parties}`;
    return `<Barrier [${this.#state}${waiting}]>`;
  }

  /** The number of tasks needed to pass the barrier. */
  get parties(): number {
    return this.#parties;
  }

  /** How many tasks wait for the barrier to fill; 0 unless it is filling. */
  get nWaiting(): number {
    return this.#state === "filling" ? this.#count : 0;
  }

  /** Whether the barrier is broken (`abort()` was called and no `reset()` since). */
  get broken(): boolean {
    return this.#state === "broken";
  }

  /**
   * Wait until `parties` tasks are waiting, then return this task's arrival index, from
   * 0 to `parties - 1` (the last to arrive gets `parties - 1` and releases the others).
   * A task arriving while the previous round drains or resets waits for the next round.
   *
   * @throws BrokenBarrierError `Barrier aborted` when the barrier is broken;
   *   BrokenBarrierError `Abort or reset of barrier` when `reset()` or `abort()` is called
   *   while this task waits. CancelledError leaves the round (the count goes down).
   */
  *wait(): Coro<number> {
    yield* this.#cond.acquire();
    try {
      yield* this.#block();
      try {
        const index = this.#count++;
        if (index + 1 === this.#parties) {
          this.#state = "draining";
          this.#cond.notifyAll();
        } else {
          yield* this.#waitForRelease();
        }
        return index;
      } finally {
        this.#count--;
        this.#exit();
      }
    } finally {
      this.#cond.release();
    }
  }

  /**
   * Put the barrier back in its initial state. Tasks waiting in the current round get
   * BrokenBarrierError; a broken barrier becomes usable again. A coroutine, as in asyncio:
   * it takes the barrier's internal lock.
   */
  *reset(): Coro<void> {
    yield* this.#cond.acquire();
    try {
      if (this.#count > 0) {
        this.#state = "resetting";
      } else {
        this.#state = "filling";
      }
      this.#cond.notifyAll();
    } finally {
      this.#cond.release();
    }
  }

  /**
   * Break the barrier: waiting tasks and every later `wait()` get BrokenBarrierError until
   * `reset()`. A coroutine, as in asyncio: it takes the barrier's internal lock.
   */
  *abort(): Coro<void> {
    yield* this.#cond.acquire();
    try {
      this.#state = "broken";
      this.#cond.notifyAll();
    } finally {
      this.#cond.release();
    }
  }

  /** Wait while the previous round drains or resets; throw if the barrier is broken. */
  *#block(): Coro<void> {
    yield* this.#cond.waitFor(() => this.#state !== "draining" && this.#state !== "resetting");
    if (this.#state === "broken") throw new BrokenBarrierError("Barrier aborted");
  }

  /** Wait until the round is complete; throw if it was reset or aborted meanwhile. */
  *#waitForRelease(): Coro<void> {
    yield* this.#cond.waitFor(() => this.#state !== "filling");
    if (this.#state === "broken" || this.#state === "resetting") {
      throw new BrokenBarrierError("Abort or reset of barrier");
    }
  }

  /** The last task out of a draining or resetting round opens the next round. */
  #exit(): void {
    if (this.#count === 0) {
      if (this.#state === "resetting" || this.#state === "draining") this.#state = "filling";
      this.#cond.notifyAll();
    }
  }
}

inspectAsString(Barrier);
