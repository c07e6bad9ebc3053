import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Context } from "../../src/index.ts";
import { TimerHandle } from "../../src/loop/handles.ts";
import { TimerHeap } from "../../src/loop/timer-heap.ts";
import { VirtualEventLoop } from "../../src/testing.ts";

const loop = new VirtualEventLoop();
let seq = 0;

function timer(when: number): TimerHandle {
  return new TimerHandle(when, seq++, () => {}, undefined, loop, new Context());
}

/** Cancel a handle in `heap`, as the loop does through `_timerHandleCancelled`. */
function cancel(heap: TimerHeap<TimerHandle>, handle: TimerHandle): void {
  handle.cancel();
  heap.noteCancelled();
}

/** Add a handle to `heap`, due at its own time, as the loop does. */
function add(heap: TimerHeap<TimerHandle>, handle: TimerHandle): void {
  heap.push(handle, handle.when());
}

function drain(heap: TimerHeap<TimerHandle>): TimerHandle[] {
  const out: TimerHandle[] = [];
  for (let handle = heap.pop(); handle !== undefined; handle = heap.pop()) out.push(handle);
  return out;
}

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("TimerHeap", () => {
  it("is empty at first: size 0, peek and pop give undefined", () => {
    const heap = new TimerHeap<TimerHandle>();
    assert.equal(heap.size, 0);
    assert.equal(heap.peek(), undefined);
    assert.equal(heap.peekWhen(), Infinity);
    assert.equal(heap.pop(), undefined);
    assert.equal(heap.cancelledCount, 0);
  });

  it("tells when the earliest handle is due, as handles come and go", () => {
    const heap = new TimerHeap<TimerHandle>();
    for (const when of [5, 1, 4]) add(heap, timer(when));
    assert.equal(heap.peekWhen(), 1);
    heap.pop();
    assert.equal(heap.peekWhen(), 4);
    add(heap, timer(2));
    assert.equal(heap.peekWhen(), 2);
    drain(heap);
    assert.equal(heap.peekWhen(), Infinity);
  });

  it("pops handles in order of their time", () => {
    const heap = new TimerHeap<TimerHandle>();
    for (const when of [5, 1, 4, 2, 3]) add(heap, timer(when));
    assert.equal(heap.size, 5);
    assert.equal(heap.peek()?.when(), 1);
    assert.equal(heap.size, 5);
    assert.deepEqual(
      drain(heap).map((handle) => handle.when()),
      [1, 2, 3, 4, 5],
    );
    assert.equal(heap.size, 0);
  });

  it("pops handles with the same time in the order they were pushed", () => {
    const heap = new TimerHeap<TimerHandle>();
    const handles = [timer(1), timer(1), timer(0), timer(1), timer(0)];
    for (const handle of handles) add(heap, handle);
    assert.deepEqual(drain(heap), [handles[2], handles[4], handles[0], handles[1], handles[3]]);
  });

  it("pops the least (time, push order) handle at every step of random pushes and pops", () => {
    const heap = new TimerHeap<TimerHandle>();
    const next = random(42);
    // The reference model: the pending handles, searched linearly for the least.
    const pending: TimerHandle[] = [];
    const least = (): TimerHandle | undefined =>
      pending.reduce<TimerHandle | undefined>(
        (best, handle) =>
          best === undefined ||
          handle._when < best._when ||
          (handle._when === best._when && handle._seq < best._seq)
            ? handle
            : best,
        undefined,
      );
    for (let i = 0; i < 2000; i++) {
      if (next() < 0.6) {
        const handle = timer(Math.floor(next() * 20));
        add(heap, handle);
        pending.push(handle);
      } else {
        const expected = least();
        assert.equal(heap.pop(), expected);
        if (expected !== undefined) pending.splice(pending.indexOf(expected), 1);
      }
      assert.equal(heap.size, pending.length);
    }
    while (pending.length > 0) {
      const expected = least() as TimerHandle;
      assert.equal(heap.pop(), expected);
      pending.splice(pending.indexOf(expected), 1);
    }
    assert.equal(heap.size, 0);
  });

  it("marks a handle scheduled while it is in the heap", () => {
    const heap = new TimerHeap<TimerHandle>();
    const handle = timer(1);
    assert.equal(handle._scheduled, false);
    add(heap, handle);
    assert.equal(handle._scheduled, true);
    heap.pop();
    assert.equal(handle._scheduled, false);
  });

  it("counts cancelled handles until they are popped", () => {
    const heap = new TimerHeap<TimerHandle>();
    const a = timer(1);
    const b = timer(2);
    add(heap, a);
    add(heap, b);
    cancel(heap, a);
    assert.equal(heap.cancelledCount, 1);
    assert.equal(heap.pop(), a);
    assert.equal(heap.cancelledCount, 0);
  });

  it("purge() on a small heap drops only the cancelled handles at the top", () => {
    const heap = new TimerHeap<TimerHandle>();
    const handles = [timer(1), timer(2), timer(3), timer(4)];
    for (const handle of handles) add(heap, handle);
    cancel(heap, handles[0] as TimerHandle);
    cancel(heap, handles[1] as TimerHandle);
    cancel(heap, handles[3] as TimerHandle);
    heap.purge();
    assert.equal(heap.size, 2);
    assert.equal(heap.cancelledCount, 1);
    assert.equal(heap.peek(), handles[2]);
    assert.equal(handles[0]?._scheduled, false);
    assert.equal(handles[3]?._scheduled, true);
  });

  it("purge() drops every cancelled handle when over half of more than 100 are cancelled", () => {
    const heap = new TimerHeap<TimerHandle>();
    const handles: TimerHandle[] = [];
    for (let i = 0; i < 101; i++) {
      const handle = timer(101 - i);
      handles.push(handle);
      add(heap, handle);
    }
    // Cancel 51 handles, none of them at the top.
    const cancelled = handles.slice(0, 51);
    for (const handle of cancelled) cancel(heap, handle);
    heap.purge();
    assert.equal(heap.size, 50);
    assert.equal(heap.cancelledCount, 0);
    assert.ok(cancelled.every((handle) => !handle._scheduled));
    assert.deepEqual(
      drain(heap).map((handle) => handle.when()),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
  });

  it("keeps its order through a purge that rebuilds it, then further pushes and pops", () => {
    // The heap keeps each handle's time in a second array: the rebuild must keep it in step.
    const heap = new TimerHeap<TimerHandle>();
    const handles: TimerHandle[] = [];
    for (let i = 0; i < 120; i++) {
      const handle = timer(i % 2 === 0 ? 1000 - i : i);
      handles.push(handle);
      add(heap, handle);
    }
    for (const handle of handles.slice(0, 70)) cancel(heap, handle);
    heap.purge();
    const later = [timer(500), timer(0.5), timer(500), timer(2000)];
    for (const handle of later) add(heap, handle);
    const expected = [...handles.slice(70), ...later].sort(
      (a, b) => a.when() - b.when() || a._seq - b._seq,
    );
    assert.deepEqual(drain(heap), expected);
  });

  it("purge() leaves a heap of exactly 100 with most cancelled to the top-only rule", () => {
    const heap = new TimerHeap<TimerHandle>();
    const handles: TimerHandle[] = [];
    for (let i = 0; i < 100; i++) {
      const handle = timer(i);
      handles.push(handle);
      add(heap, handle);
    }
    for (const handle of handles.slice(1, 80)) cancel(heap, handle);
    heap.purge();
    assert.equal(heap.size, 100);
    assert.equal(heap.cancelledCount, 79);
  });

  it("purge() does not rebuild when exactly half are cancelled", () => {
    const heap = new TimerHeap<TimerHandle>();
    const handles: TimerHandle[] = [];
    for (let i = 0; i < 102; i++) {
      const handle = timer(i);
      handles.push(handle);
      add(heap, handle);
    }
    for (const handle of handles.slice(1, 52)) cancel(heap, handle);
    heap.purge();
    assert.equal(heap.size, 102);
    assert.equal(heap.cancelledCount, 51);
    cancel(heap, handles[60] as TimerHandle);
    heap.purge();
    assert.equal(heap.size, 50);
    assert.equal(heap.cancelledCount, 0);
  });

  it("clear() empties the heap and unschedules every handle", () => {
    const heap = new TimerHeap<TimerHandle>();
    const handles = [timer(1), timer(2)];
    for (const handle of handles) add(heap, handle);
    cancel(heap, handles[0] as TimerHandle);
    heap.clear();
    assert.equal(heap.size, 0);
    assert.equal(heap.cancelledCount, 0);
    assert.ok(handles.every((handle) => !handle._scheduled));
    assert.equal(heap.peek(), undefined);
  });

  it("handles() lists every handle in the heap", () => {
    const heap = new TimerHeap<TimerHandle>();
    const handles = [timer(3), timer(1), timer(2)];
    for (const handle of handles) add(heap, handle);
    assert.deepEqual(new Set(heap.handles()), new Set(handles));
  });
});
