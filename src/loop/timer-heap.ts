/**
 * The loop's timers: a binary min-heap of TimerEntries ordered by (when, scheduling order).
 * Cancelled timers stay in the heap until they reach the top or until more than half of
 * a large heap is cancelled, as asyncio's `_run_once` purges them.
 */
import type { TimerEntry } from "./handles.ts";

/** A heap larger than this is rebuilt when most of it is cancelled (asyncio's constant). */
const MIN_SCHEDULED_TIMER_HANDLES = 100;
/** The cancelled fraction above which it is rebuilt (asyncio's constant). */
const MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5;

export class TimerHeap<E extends TimerEntry = TimerEntry> {
  readonly #heap: E[] = [];
  /**
   * `#whens[i]` is `#heap[i]._when`: comparisons read this packed array of doubles instead
   * of each handle, which in a heap of 100k timers is a cache miss apiece.
   */
  readonly #whens: number[] = [];
  /** Invariant: the number of cancelled handles still in #heap. */
  #cancelled = 0;

  get size(): number {
    return this.#heap.length;
  }

  get cancelledCount(): number {
    return this.#cancelled;
  }

  /** Add `handle`, due at `when`. */
  push(handle: E, when: number): void {
    const heap = this.#heap;
    const whens = this.#whens;
    handle._scheduled = true;
    heap.push(handle);
    whens.push(when);
    let index = heap.length - 1;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parentWhen = whens[parentIndex] as number;
      const parent = heap[parentIndex] as E;
      if (when > parentWhen || (when === parentWhen && handle._seq > parent._seq)) break;
      heap[index] = parent;
      whens[index] = parentWhen;
      index = parentIndex;
    }
    heap[index] = handle;
    whens[index] = when;
  }

  /**
   * When the earliest handle is due, or Infinity for an empty heap: read from the packed
   * array of times, without touching the handle.
   */
  peekWhen(): number {
    const whens = this.#whens;
    return whens.length > 0 ? (whens[0] as number) : Infinity;
  }

  /** The earliest handle, cancelled or not, or undefined. */
  peek(): E | undefined {
    return this.#heap[0];
  }

  pop(): E | undefined {
    const heap = this.#heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const whens = this.#whens;
    const last = heap.pop() as E;
    const lastWhen = whens.pop() as number;
    if (heap.length > 0) {
      // Sift `last` down from the root.
      const length = heap.length;
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        if (left >= length) break;
        const right = left + 1;
        let child = left;
        if (right < length && this.#before(right, left)) child = right;
        const childWhen = whens[child] as number;
        if (
          childWhen > lastWhen ||
          (childWhen === lastWhen && (heap[child] as E)._seq > last._seq)
        ) {
          break;
        }
        heap[index] = heap[child] as E;
        whens[index] = childWhen;
        index = child;
      }
      heap[index] = last;
      whens[index] = lastWhen;
    }
    top._scheduled = false;
    if (top._cancelled) this.#cancelled--;
    return top;
  }

  /** A handle in the heap was cancelled. */
  noteCancelled(): void {
    this.#cancelled++;
  }

  /**
   * Drop cancelled handles: all of them when they are most of a large heap, else those at
   * the top (asyncio's `_run_once` purge).
   */
  purge(): void {
    const heap = this.#heap;
    if (
      heap.length > MIN_SCHEDULED_TIMER_HANDLES &&
      this.#cancelled / heap.length > MIN_CANCELLED_TIMER_HANDLES_FRACTION
    ) {
      const whens = this.#whens;
      const live: number[] = [];
      for (let i = 0; i < heap.length; i++) {
        const handle = heap[i] as E;
        if (handle._cancelled) handle._scheduled = false;
        else live.push(i);
      }
      live.sort((i, j) => {
        const a = whens[i] as number;
        const b = whens[j] as number;
        return a - b || (heap[i] as E)._seq - (heap[j] as E)._seq;
      });
      // A sorted array is a valid heap.
      const handles = live.map((i) => heap[i] as E);
      const times = live.map((i) => whens[i] as number);
      heap.length = 0;
      whens.length = 0;
      this.#cancelled = 0;
      for (let i = 0; i < handles.length; i++) {
        heap.push(handles[i] as E);
        whens.push(times[i] as number);
      }
      return;
    }
    while (heap.length > 0 && (heap[0] as E)._cancelled) this.pop();
  }

  clear(): void {
    for (const handle of this.#heap) handle._scheduled = false;
    this.#heap.length = 0;
    this.#whens.length = 0;
    this.#cancelled = 0;
  }

  /** Whether the handle at `i` comes out before the one at `j`. */
  #before(i: number, j: number): boolean {
    const whens = this.#whens;
    const a = whens[i] as number;
    const b = whens[j] as number;
    return a < b || (a === b && (this.#heap[i] as E)._seq < (this.#heap[j] as E)._seq);
  }

  /** Every handle in the heap, in no particular order. */
  handles(): readonly E[] {
    return this.#heap;
  }
}
