/**
 * Event: a one-bit signal between tasks. Mirrors asyncio.Event (Lib/asyncio/locks.py).
 */
import { NOT_READY, type Coro } from "../coroutines.ts";
import type { Future } from "../futures.ts";
import { inspectAsString } from "../internal/inspect.ts";
import { LoopBinding } from "../internal/loop-binding.ts";
import { WaitCoro, Waiters, type WaitOps } from "./waiters.ts";

/**
 * A flag that tasks can wait for.
 *
 * `set()` wakes every task blocked in `wait()`, in the order they began waiting; a woken
 * task returns `true` even if `clear()` is called before it runs. While the flag is set,
 * `wait()` returns without suspending. Cancelling a waiting task removes only its waiter.
 * Bound to the first loop that makes a task wait.
 */
export class Event {
  readonly #binding = new LoopBinding();
  readonly #waiters = new Waiters<true>();
  #value = false;

  /** asyncio's repr: `<Event [unset, waiters:1]>`. */
  toString(): string {
    const waiting = this.#waiters.size > 0 ? `, waiters:${this.#waiters.size}` : "";
    return `<Event [${this.#value ? "set" : "unset"}${waiting}]>`;
  }

  /** Whether the flag is set. */
  isSet(): boolean {
    return this.#value;
  }

  /** Set the flag and wake every waiting task. Does nothing if it is already set. */
  set(): void {
    if (this.#value) return;
    this.#value = true;
    this.#waiters.wakeAll(true);
  }

  /** Clear the flag: later `wait()` calls block until the next `set()`. */
  clear(): void {
    this.#value = false;
  }

  /**
   * Wait until the flag is set, and return `true`. Returns without suspending when it
   * already is.
   *
   * @throws RuntimeError when the Event is bound to a different event loop.
   */
  wait(): Coro<true> {
    return new WaitCoro(this, WAIT);
  }

  /** @internal `wait` blocks: queue a waiter. */
  _park(): Future<true> {
    return this.#waiters.add(this.#binding.loop(this));
  }

  /** @internal The wait ended, however: drop its waiter. */
  _unpark(waiter: Future<true>): void {
    this.#waiters.delete(waiter);
  }
}

inspectAsString(Event);

const WAIT: WaitOps<Event, true> = {
  fast: (event) => (event.isSet() ? true : NOT_READY),
  park: (event) => event._park(),
  leave: (event, waiter) => {
    event._unpark(waiter);
  },
  name: "Event.wait",
};
