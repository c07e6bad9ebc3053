/**
 * VirtualEventLoop: an event loop on a virtual clock. Time starts at 0 and jumps straight
 * to the next timer whenever nothing is ready, so timeout logic runs in microseconds and
 * deterministically. With no real I/O involved a run completes synchronously inside
 * `runUntilComplete`.
 *
 * With real I/O outstanding (a socket, a Promise), the clock stands still while the I/O
 * may still deliver: it jumps to the next timer only after `autojumpThreshold` seconds of
 * real time in which nothing happened (Trio's autojump clock does the same).
 */
import { DeadlockError } from "../exceptions.ts";
import { BaseEventLoop } from "./base-event-loop.ts";

/** Options of `new VirtualEventLoop()`. */
export interface VirtualEventLoopOptions {
  /**
   * Real seconds to wait, with I/O outstanding and nothing ready, before the clock jumps to
   * the next timer anyway; default 0.05. `Infinity` never jumps while I/O is outstanding.
   */
  autojumpThreshold?: number | undefined;
}

/**
 * A loop whose clock only moves when every task is blocked. When nothing is ready, no
 * timer is pending and no I/O is outstanding, the run can never end: it fails with a
 * `DeadlockError` that lists each pending task and what it waits on.
 */
export class VirtualEventLoop extends BaseEventLoop {
  #now = 0;
  readonly #threshold: number;
  #idleEpoch = 0;
  #jumpTimer: NodeJS.Timeout | null = null;

  constructor(options?: VirtualEventLoopOptions) {
    super();
    const threshold = options?.autojumpThreshold ?? 0.05;
    if (typeof threshold !== "number" || !(threshold >= 0)) {
      throw new RangeError(`autojumpThreshold must be a number >= 0, got ${String(threshold)}`);
    }
    this.#threshold = threshold;
  }

  /** Virtual seconds since the loop was created. */
  time(): number {
    return this.#now;
  }

  /**
   * Move the clock forward by `seconds` without running anything; timers that become due
   * run on the next iteration.
   */
  advance(seconds: number): void {
    if (typeof seconds !== "number" || !(seconds >= 0) || !Number.isFinite(seconds)) {
      throw new RangeError(`seconds must be a finite number >= 0, got ${String(seconds)}`);
    }
    this.#now += seconds;
  }

  /** @internal */
  override _batchStart(): number {
    return performance.now();
  }

  /**
   * @internal With real I/O outstanding, give Node a turn every few milliseconds even
   * while tasks keep the loop busy (`while (!done) yield* sleep(0)` must see its I/O, as
   * asyncio polls on every iteration). With none, a run stays synchronous.
   */
  override _batchExpired(started: number): boolean {
    return this._hostOps > 0 && performance.now() - started > 4;
  }

  /** @internal */
  _idle(nextWhen: number): boolean {
    const epoch = ++this.#idleEpoch;
    this.#clearJumpTimer();
    if (this._hostOps > 0) {
      if (nextWhen !== Infinity && this.#threshold !== Infinity) {
        this.#jumpTimer = setTimeout(() => {
          this.#jumpTimer = null;
          // Nothing happened for the whole threshold: the I/O is not coming; move on.
          if (epoch !== this.#idleEpoch || !this.isRunning()) return;
          if (nextWhen > this.#now) this.#now = nextWhen;
          this._drive();
        }, this.#threshold * 1000);
        this.#jumpTimer.unref();
      }
      return false;
    }
    if (nextWhen === Infinity) throw this.#deadlock();
    if (nextWhen > this.#now) this.#now = nextWhen;
    return true;
  }

  /** @internal */
  override _closeHost(): void {
    this.#clearJumpTimer();
  }

  #clearJumpTimer(): void {
    if (this.#jumpTimer !== null) {
      clearTimeout(this.#jumpTimer);
      this.#jumpTimer = null;
    }
  }

  #deadlock(): DeadlockError {
    const tasks = [...this._tasks];
    const lines = tasks.map((task) => `  ${task.toString()}`);
    const what =
      tasks.length === 0
        ? "no task is pending"
        : `${tasks.length} task${tasks.length === 1 ? " is" : "s are"} blocked forever:\n${lines.join("\n")}`;
    return new DeadlockError(
      `deadlock: nothing is ready, no timer is pending and no I/O is outstanding; ${what}`,
      tasks,
    );
  }
}
