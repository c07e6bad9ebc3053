/**
 * VirtualEventLoop: an event loop on a virtual clock. Time starts at 0 and jumps straight
 * to the next timer whenever nothing is ready, so timeout logic runs in microseconds and
 * deterministically. With no real I/O involved a run completes synchronously inside
 * `runUntilComplete`. While real I/O is outstanding the clock stands still and the loop
 * waits for it.
 */
import { DeadlockError } from "../exceptions.ts";
import { BaseEventLoop } from "./base-event-loop.ts";
import type { TimerHandle } from "./handles.ts";

/**
 * A loop whose clock only moves when every task is blocked. When nothing is ready, no
 * timer is pending and no I/O is outstanding, the run can never end: it fails with a
 * `DeadlockError` that lists each pending task and what it waits on.
 */
export class VirtualEventLoop extends BaseEventLoop {
  #now = 0;

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
  _idle(next: TimerHandle | undefined): boolean {
    if (this._hostOps > 0) return false;
    if (next === undefined || next._when === Infinity) throw this.#deadlock();
    if (next._when > this.#now) this.#now = next._when;
    return true;
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
