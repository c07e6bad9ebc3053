/**
 * A stable binary min-heap: PriorityQueue's storage (asyncio uses heapq, which is not
 * stable).
 */

/**
 * A binary min-heap by `compare`, whose ties come out in insertion order (each item
 * carries a sequence number). Positions are computed before anything moves, so a
 * comparator that throws leaves the heap as it was.
 */
export class StableHeap<T> {
  readonly #items: T[] = [];
  readonly #seqs: number[] = [];
  readonly #compare: (a: T, b: T) => number;
  #nextSeq = 0;

  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare;
  }

  /** The number of items. */
  get size(): number {
    return this.#items.length;
  }

  /** Add `item`. */
  push(item: T): void {
    const items = this.#items;
    const seqs = this.#seqs;
    const seq = this.#nextSeq++;
    let target = items.length;
    while (target > 0) {
      const parent = (target - 1) >> 1;
      if (!this.#before(item, seq, items[parent] as T, seqs[parent] as number)) break;
      target = parent;
    }
    for (let hole = items.length; hole > target;) {
      const parent = (hole - 1) >> 1;
      items[hole] = items[parent] as T;
      seqs[hole] = seqs[parent] as number;
      hole = parent;
    }
    items[target] = item;
    seqs[target] = seq;
  }

  /** Remove and return the smallest item (the oldest of equal ones). The heap is not empty. */
  pop(): T {
    const items = this.#items;
    const seqs = this.#seqs;
    const top = items[0] as T;
    const last = items.pop() as T;
    const lastSeq = seqs.pop() as number;
    const size = items.length;
    if (size === 0) return top;
    // Where `last` settles when sifted down from the root (index 0 is the hole).
    let target = 0;
    try {
      for (;;) {
        let child = 2 * target + 1;
        if (child >= size) break;
        const right = child + 1;
        if (
          right < size &&
          this.#before(
            items[right] as T,
            seqs[right] as number,
            items[child] as T,
            seqs[child] as number,
          )
        ) {
          child = right;
        }
        if (!this.#before(items[child] as T, seqs[child] as number, last, lastSeq)) break;
        target = child;
      }
    } catch (error) {
      items.push(last);
      seqs.push(lastSeq);
      throw error;
    }
    // Rotate along the path from `target` up to the root: each item there moves up a level.
    let carryItem = last;
    let carrySeq = lastSeq;
    for (let node = target; ; node = (node - 1) >> 1) {
      const item = items[node] as T;
      const seq = seqs[node] as number;
      items[node] = carryItem;
      seqs[node] = carrySeq;
      carryItem = item;
      carrySeq = seq;
      if (node === 0) break;
    }
    return top;
  }

  /** The items in heap order (the first is the smallest), for reprs. */
  toArray(): T[] {
    return [...this.#items];
  }

  /** Whether (a, aSeq) comes out before (b, bSeq). */
  #before(a: T, aSeq: number, b: T, bSeq: number): boolean {
    const order = this.#compare(a, b);
    return order < 0 || (!(order > 0) && aSeq < bSeq);
  }
}
