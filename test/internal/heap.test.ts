// Tests for src/internal/heap.ts: the stable min-heap behind PriorityQueue.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { StableHeap } from "../../src/internal/heap.ts";

const byNumber = (a: number, b: number): number => a - b;

function drain<T>(heap: StableHeap<T>): T[] {
  const out: T[] = [];
  while (heap.size > 0) out.push(heap.pop());
  return out;
}

describe("StableHeap", () => {
  it("pops items smallest first", () => {
    const heap = new StableHeap(byNumber);
    for (const n of [5, 1, 4, 2, 3]) heap.push(n);
    assert.deepEqual(heap.toArray()[0], 1);
    assert.deepEqual(drain(heap), [1, 2, 3, 4, 5]);
    assert.equal(heap.size, 0);
  });

  it("pops equal items in insertion order, whatever the interleaving (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(null)), { maxLength: 80 }),
        (script) => {
          // Each number pushes [priority, id]; null pops. Compare priorities only.
          const heap = new StableHeap<[number, number]>((a, b) => a[0] - b[0]);
          const model: [number, number][] = [];
          let id = 0;
          for (const step of script) {
            if (step === null) {
              if (model.length === 0) continue;
              const best = model.reduce((a, b) => (b[0] < a[0] ? b : a));
              model.splice(model.indexOf(best), 1);
              assert.deepEqual(heap.pop(), best);
            } else {
              const item: [number, number] = [step, id++];
              heap.push(item);
              model.push(item);
            }
            assert.equal(heap.size, model.length);
          }
        },
      ),
      { seed: 31, numRuns: 200 },
    );
  });

  it("is left unchanged by a comparator that throws", () => {
    let fail = false;
    const heap = new StableHeap<number>((a, b) => {
      if (fail) throw new Error("cannot compare");
      return a - b;
    });
    for (const n of [3, 1, 2, 5, 4]) heap.push(n);
    const before = heap.toArray();
    fail = true;
    assert.throws(
      () => {
        heap.push(0);
      },
      { message: "cannot compare" },
    );
    assert.throws(() => heap.pop(), { message: "cannot compare" });
    assert.deepEqual(heap.toArray(), before);
    fail = false;
    assert.deepEqual(drain(heap), [1, 2, 3, 4, 5]);
  });

  it("pops the last item without comparing", () => {
    const heap = new StableHeap<number>(() => {
      throw new Error("no compare needed");
    });
    heap.push(1);
    assert.equal(heap.pop(), 1);
    assert.equal(heap.size, 0);
  });
});
