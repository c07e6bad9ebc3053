// Tests for src/queues.ts. Ported from CPython's test_queues.py; the join and shutdown
// scenarios run for each of Queue, LifoQueue and PriorityQueue, as there. Property tests:
// random put/get/cancel schedules on bounded queues never lose, duplicate or reorder items.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import fc from "fast-check";
import {
  CancelledError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  RuntimeError,
  createTask,
  getRunningLoop,
  sleep,
  type Coro,
  type Task,
} from "../src/index.ts";
import { Event } from "../src/locks/index.ts";
import { LifoQueue, PriorityQueue, Queue } from "../src/queues.ts";
import { runVirtual } from "../src/testing.ts";
import { settleAll, thrownBy, timedOut } from "./helpers/coro.ts";

const queueClasses = [Queue, LifoQueue, PriorityQueue] as const;

/** Assert that `q`, shut down and empty, refuses every put and get with QueueShutDown. */
function* assertRefusesPutsAndGets(q: Queue<string>): Coro<void> {
  assert.ok((yield* thrownBy(q.put("data"))) instanceof QueueShutDown);
  assert.throws(() => {
    q.putNowait("data");
  }, QueueShutDown);
  assert.ok((yield* thrownBy(q.get())) instanceof QueueShutDown);
  assert.throws(() => q.getNowait(), QueueShutDown);
}

describe("Queue", () => {
  // asyncio: test_repr, test_str
  it("shows its items, waiters, unfinished count and shutdown in its repr", () =>
    runVirtual(function* () {
      let q = new Queue<number>();
      assert.equal(String(q), "<Queue maxsize=0>");
      assert.equal(inspect(q), "<Queue maxsize=0>");
      const getter = createTask(q.get());
      yield* sleep(0);
      assert.equal(String(q), "<Queue maxsize=0 _getters[1]>");
      q.putNowait(0);
      assert.equal(String(q), "<Queue maxsize=0 _queue=[0] tasks=1>");
      assert.equal(yield* getter, 0);

      q = new Queue<number>(1);
      q.putNowait(1);
      const putter = createTask(q.put(2));
      yield* sleep(0);
      assert.equal(String(q), "<Queue maxsize=1 _queue=[1] _putters[1] tasks=1>");
      q.getNowait();
      yield* putter;
      assert.equal(String(q), "<Queue maxsize=1 _queue=[2] tasks=2>");
      q.shutdown();
      assert.equal(String(q), "<Queue maxsize=1 _queue=[2] tasks=2 shutdown>");

      const strings = new Queue<unknown>();
      strings.putNowait("a");
      strings.putNowait([1, "b"]);
      assert.equal(String(strings), "<Queue maxsize=0 _queue=['a', [ 1, 'b' ]] tasks=2>");
    }));

  // asyncio: test_empty
  it("is empty until an item is put, and again once it is taken", () =>
    runVirtual(function* () {
      const q = new Queue<number>();
      assert.equal(q.empty(), true);
      yield* q.put(1);
      assert.equal(q.empty(), false);
      assert.equal(yield* q.get(), 1);
      assert.equal(q.empty(), true);
    }));

  // asyncio: test_full
  it("is never full when unbounded, and full at maxsize items", () =>
    runVirtual(function* () {
      assert.equal(new Queue().full(), false);
      const q = new Queue<number>(1);
      yield* q.put(1);
      assert.equal(q.full(), true);
      assert.equal(q.qsize(), 1);
    }));

  // asyncio: test_order
  it("hands items out first in, first out", () =>
    runVirtual(function* () {
      const q = new Queue<number>();
      for (const i of [1, 3, 2]) yield* q.put(i);
      const items = [yield* q.get(), yield* q.get(), yield* q.get()];
      assert.deepEqual(items, [1, 3, 2]);
    }));

  it("keeps FIFO order across many items", () =>
    runVirtual(function* () {
      const q = new Queue<number>();
      const out: number[] = [];
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 50; i++) q.putNowait(round * 100 + i);
        for (let i = 0; i < 30; i++) out.push(q.getNowait());
      }
      while (!q.empty()) out.push(q.getNowait());
      const expected = [0, 1, 2].flatMap((round) =>
        Array.from({ length: 50 }, (_, i) => round * 100 + i),
      );
      assert.deepEqual(out, expected);
    }));

  // asyncio: test_maxsize
  it("blocks a putter at maxsize until an item is taken", () =>
    runVirtual(function* () {
      const q = new Queue<number>(2);
      assert.equal(q.maxsize, 2);
      const havePut: number[] = [];
      const t = createTask(
        (function* (): Coro<boolean> {
          for (let i = 0; i < 3; i++) {
            yield* q.put(i);
            havePut.push(i);
          }
          return true;
        })(),
      );
      yield* sleep(0);
      yield* sleep(0);
      assert.deepEqual(havePut, [0, 1]);
      assert.equal(yield* q.get(), 0);
      yield* sleep(0);
      assert.deepEqual(havePut, [0, 1, 2]);
      assert.equal(yield* q.get(), 1);
      assert.equal(yield* q.get(), 2);
      assert.equal(t.result(), true);
    }));

  // asyncio: test_float_maxsize (deviation: maxsize must be an integer)
  it("rejects a negative or fractional maxsize", () => {
    assert.throws(() => new Queue(1.3), {
      name: "TypeError",
      message: "maxsize must be an integer, got 1.3",
    });
    assert.throws(() => new Queue(-1), {
      name: "RangeError",
      message: "maxsize must be >= 0, got -1",
    });
    assert.throws(() => new PriorityQueue(-1), RangeError);
    assert.throws(() => new LifoQueue(Infinity), TypeError);
    assert.equal(new Queue().maxsize, 0);
  });

  // asyncio: test_blocking_get
  it("get() returns a queued item without waiting", () =>
    runVirtual(function* () {
      const q = new Queue<number>();
      q.putNowait(1);
      assert.equal(yield* q.get(), 1);
    }));

  // asyncio: test_get_with_putters
  it("get() wakes a blocked putter", () =>
    runVirtual(function* () {
      const q = new Queue<number>(1);
      yield* q.put(1);
      const putter = createTask(q.put(2));
      yield* sleep(0);
      assert.equal(yield* q.get(), 1);
      assert.equal(String(q), "<Queue maxsize=1 tasks=1>");
      yield* putter;
      assert.equal(q.getNowait(), 2);
    }));

  // asyncio: test_blocking_get_wait
  it("get() waits until an item is put", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const q = new Queue<number>();
      const started = new Event();
      let finished = false;
      const task = createTask(
        (function* (): Coro<number> {
          started.set();
          const result = yield* q.get();
          finished = true;
          return result;
        })(),
      );
      yield* started.wait();
      assert.equal(finished, false);
      loop.callLater(0.01, () => {
        q.putNowait(1);
      });
      assert.equal(yield* task, 1);
      assert.equal(finished, true);
      assert.equal(loop.time(), 0.01);
    }));

  // asyncio: test_nonblocking_get, test_nonblocking_put
  it("putNowait() and getNowait() work outside a loop", () => {
    const q = new Queue<number>();
    q.putNowait(1);
    assert.equal(q.getNowait(), 1);
  });

  // asyncio: test_nonblocking_get_exception
  it("getNowait() throws QueueEmpty on an empty queue", () => {
    const q = new Queue<number>();
    assert.throws(() => q.getNowait(), QueueEmpty);
  });

  // asyncio: test_nonblocking_put_exception
  it("putNowait() throws QueueFull on a full queue", () => {
    const q = new Queue<number>(1);
    q.putNowait(1);
    assert.throws(() => {
      q.putNowait(2);
    }, QueueFull);
    assert.equal(q.qsize(), 1);
  });

  // asyncio: test_get_cancelled_race
  it("gives an item to the next getter when the first was cancelled", () =>
    runVirtual(function* () {
      const q = new Queue<string>();
      const t1 = createTask(q.get());
      const t2 = createTask(q.get());
      yield* sleep(0);
      t1.cancel();
      yield* sleep(0);
      assert.equal(t1.done(), true);
      yield* q.put("a");
      yield* sleep(0);
      assert.equal(yield* t2, "a");
    }));

  // asyncio: test_get_with_waiting_putters
  it("get() takes items from blocked putters in order", () =>
    runVirtual(function* () {
      const q = new Queue<string>(1);
      const a = createTask(q.put("a"));
      const b = createTask(q.put("b"));
      assert.equal(yield* q.get(), "a");
      assert.equal(yield* q.get(), "b");
      yield* settleAll([a, b]);
    }));

  // asyncio: test_why_are_getters_waiting, test_why_are_putters_waiting
  it("lets producers and consumers run to completion over a small queue", () =>
    runVirtual(function* () {
      const q = new Queue<number>(1);
      const received: number[] = [];
      const producer = createTask(
        (function* (): Coro<void> {
          for (let i = 0; i < 5; i++) yield* q.put(i);
        })(),
      );
      const consumer = createTask(
        (function* (): Coro<void> {
          for (let i = 0; i < 5; i++) received.push(yield* q.get());
        })(),
      );
      yield* settleAll([producer, consumer]);
      assert.deepEqual(received, [0, 1, 2, 3, 4]);

      const q2 = new Queue<number>(2);
      const getter = createTask(
        (function* (): Coro<void> {
          yield* sleep(0);
          const n = q2.qsize();
          for (let i = 0; i < n; i++) q2.getNowait();
        })(),
      );
      const putters = [0, 1, 2, 3].map((i) => createTask(q2.put(i)));
      yield* settleAll([getter, ...putters]);
      for (const putter of putters) assert.equal((putter as Task<unknown>).result(), undefined);
      assert.deepEqual([q2.getNowait(), q2.getNowait()], [2, 3]);
    }));

  // asyncio: test_cancelled_getters_not_being_held_in_self_getters
  it("removes the waiter of a get() cut short by a timeout", () =>
    runVirtual(function* () {
      const q = new Queue<number>(5);
      assert.equal(yield* timedOut(0.1, q.get()), true);
      assert.equal(String(q), "<Queue maxsize=5>");
    }));

  // asyncio: test_blocking_put
  it("put() on an unbounded queue never waits", () =>
    runVirtual(function* () {
      const q = new Queue<number>();
      yield* q.put(1);
      assert.equal(yield* q.get(), 1);
    }));

  // asyncio: test_blocking_put_wait
  it("put() waits for a free slot", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const q = new Queue<number>(1);
      const started = new Event();
      let finished = false;
      loop.callLater(0.01, () => q.getNowait());
      const task = createTask(
        (function* (): Coro<void> {
          started.set();
          yield* q.put(1);
          yield* q.put(2);
          finished = true;
        })(),
      );
      yield* started.wait();
      assert.equal(finished, false);
      yield* task;
      assert.equal(finished, true);
      assert.equal(loop.time(), 0.01);
    }));

  // asyncio: test_get_cancel_drop_one_pending_reader
  it("drops no item when a woken reader is cancelled", () =>
    runVirtual(function* () {
      const q = new Queue<number>();
      let reader = createTask(q.get());
      yield* sleep(0);
      q.putNowait(1);
      q.putNowait(2);
      reader.cancel();
      try {
        yield* reader;
      } catch (error) {
        if (!(error instanceof CancelledError)) throw error;
        reader = createTask(q.get());
        yield* reader;
      }
      assert.equal(reader.result(), 1);
    }));

  // asyncio: test_get_cancel_drop_many_pending_readers
  it("passes the items of a cancelled reader to the other readers", () =>
    runVirtual(function* () {
      const q = new Queue<number>();
      const readers = [createTask(q.get()), createTask(q.get()), createTask(q.get())];
      const [reader1, reader2, reader3] = readers as [Task<number>, Task<number>, Task<number>];
      yield* sleep(0);
      q.putNowait(1);
      q.putNowait(2);
      reader1.cancel();
      assert.ok((yield* thrownBy(reader1)) instanceof CancelledError);
      yield* reader3;
      // asyncio leaves the order open; tsyncio's is deterministic.
      assert.deepEqual([reader2.result(), reader3.result()], [1, 2]);
    }));

  // asyncio: test_put_cancel_drop
  it("puts nothing when a putter offered a slot is cancelled", () =>
    runVirtual(function* () {
      const q = new Queue<number>(1);
      q.putNowait(1);
      let writer = createTask(q.put(2));
      yield* sleep(0);
      assert.equal(q.getNowait(), 1);
      writer.cancel();
      try {
        yield* writer;
      } catch (error) {
        if (!(error instanceof CancelledError)) throw error;
        writer = createTask(q.put(2));
        yield* writer;
      }
      assert.equal(q.getNowait(), 2);
      assert.equal(q.qsize(), 0);
    }));

  // asyncio: test_put_cancelled
  it("a putter task finishes once its item is in", () =>
    runVirtual(function* () {
      const q = new Queue<number>();
      const t = createTask(
        (function* (): Coro<boolean> {
          yield* q.put(1);
          return true;
        })(),
      );
      assert.equal(yield* q.get(), 1);
      assert.equal(t.done(), true);
      assert.equal(t.result(), true);
    }));

  // asyncio: test_put_cancelled_race
  it("keeps the order of the other putters when one is cancelled", () =>
    runVirtual(function* () {
      const q = new Queue<string>(1);
      const putA = createTask(q.put("a"));
      const putB = createTask(q.put("b"));
      const putC = createTask(q.put("X"));
      yield* sleep(0);
      assert.equal(putA.done(), true);
      assert.equal(putB.done(), false);
      assert.equal(String(q), "<Queue maxsize=1 _queue=['a'] _putters[2] tasks=1>");
      putC.cancel();
      yield* sleep(0);
      assert.equal(putC.done(), true);
      assert.equal(String(q), "<Queue maxsize=1 _queue=['a'] _putters[1] tasks=1>");
      assert.equal(q.getNowait(), "a");
      yield* sleep(0);
      assert.equal(q.getNowait(), "b");
      yield* putB;
      assert.equal(String(q), "<Queue maxsize=1 tasks=2>");
    }));

  // asyncio: test_put_with_waiting_getters
  it("put() wakes a blocked getter", () =>
    runVirtual(function* () {
      const q = new Queue<string>();
      const t = createTask(q.get());
      yield* sleep(0);
      yield* q.put("a");
      assert.equal(yield* t, "a");
    }));

  // asyncio: test_cancelled_puts_not_being_held_in_self_putters
  it("removes the waiter of a cancelled put()", () =>
    runVirtual(function* () {
      const q = new Queue<number>(1);
      q.putNowait(1);
      const putTask = createTask(q.put(1));
      yield* sleep(0);
      assert.equal(String(q), "<Queue maxsize=1 _queue=[1] _putters[1] tasks=1>");
      putTask.cancel();
      assert.ok((yield* thrownBy(putTask)) instanceof CancelledError);
      assert.equal(String(q), "<Queue maxsize=1 _queue=[1] tasks=1>");
    }));

  // asyncio: test_cancelled_put_silence_value_error_exception
  it("cancels cleanly a putter whose waiter getNowait() already removed", () =>
    runVirtual(function* () {
      const q = new Queue<number>(1);
      q.putNowait(1);
      const putTask = createTask(q.put(1));
      yield* sleep(0);
      q.getNowait();
      putTask.cancel();
      assert.ok((yield* thrownBy(putTask)) instanceof CancelledError);
      assert.equal(String(q), "<Queue maxsize=1 tasks=1>");
      // The slot it was offered is still free.
      yield* q.put(2);
    }));

  it("passes a slot offered to a cancelled putter to the next putter", () =>
    runVirtual(function* () {
      const q = new Queue<string>(1);
      q.putNowait("first");
      const p1 = createTask(q.put("p1"));
      const p2 = createTask(q.put("p2"));
      yield* sleep(0);
      q.getNowait(); // offers the slot to p1
      p1.cancel();
      assert.ok((yield* thrownBy(p1)) instanceof CancelledError);
      yield* p2;
      assert.equal(q.getNowait(), "p2");
      assert.equal(q.empty(), true);
    }));

  it("refuses to make a task wait on a loop other than the one it is bound to", async () => {
    const q = new Queue<number>();
    await runVirtual(function* () {
      const getter = createTask(q.get());
      yield* sleep(0);
      q.putNowait(1);
      yield* getter;
    });
    await runVirtual(function* () {
      const error = yield* thrownBy(q.get());
      assert.ok(error instanceof RuntimeError);
      assert.equal(error.message, "<Queue maxsize=0 tasks=1> is bound to a different event loop");
      q.putNowait(2);
      assert.equal(yield* q.get(), 2); // no waiting, no loop needed
    });
  });
});

describe("LifoQueue", () => {
  // asyncio: test_order (LifoQueueTests)
  it("hands out the most recent item first", () =>
    runVirtual(function* () {
      const q = new LifoQueue<number>();
      for (const i of [1, 3, 2]) yield* q.put(i);
      assert.equal(String(q), "<LifoQueue maxsize=0 _queue=[1, 3, 2] tasks=3>");
      const items = [yield* q.get(), yield* q.get(), yield* q.get()];
      assert.deepEqual(items, [2, 3, 1]);
    }));
});

describe("PriorityQueue", () => {
  // asyncio: test_order (PriorityQueueTests)
  it("hands out the smallest item first", () =>
    runVirtual(function* () {
      const q = new PriorityQueue<number>();
      for (const i of [1, 3, 2]) yield* q.put(i);
      const items = [yield* q.get(), yield* q.get(), yield* q.get()];
      assert.deepEqual(items, [1, 2, 3]);
    }));

  it("shows its heap in its repr, as asyncio does", () => {
    const q = new PriorityQueue<number>();
    for (const i of [5, 3, 4, 1]) q.putNowait(i);
    assert.equal(String(q), "<PriorityQueue maxsize=0 _queue=[1, 3, 4, 5] tasks=4>");
  });

  it("orders arrays like Python tuples by default", () => {
    const q = new PriorityQueue<[number, string]>();
    for (const item of [
      [2, "b"],
      [1, "z"],
      [2, "a"],
      [1, "y"],
    ] as [number, string][]) {
      q.putNowait(item);
    }
    const out = [q.getNowait(), q.getNowait(), q.getNowait(), q.getNowait()];
    assert.deepEqual(out, [
      [1, "y"],
      [1, "z"],
      [2, "a"],
      [2, "b"],
    ]);
  });

  it("orders strings, bigints and mixed numbers by default", () => {
    const strings = new PriorityQueue<string>();
    for (const s of ["pear", "apple", "fig"]) strings.putNowait(s);
    assert.deepEqual(
      [strings.getNowait(), strings.getNowait(), strings.getNowait()],
      ["apple", "fig", "pear"],
    );
    const numbers = new PriorityQueue<number | bigint>();
    for (const n of [3n, 1.5, 2n, -1]) numbers.putNowait(n);
    const out: (number | bigint)[] = [];
    while (!numbers.empty()) out.push(numbers.getNowait());
    assert.deepEqual(out, [-1, 1.5, 2n, 3n]);
    const shorter = new PriorityQueue<number[]>();
    shorter.putNowait([1, 2]);
    shorter.putNowait([1]);
    assert.deepEqual(shorter.getNowait(), [1]);
  });

  it("rejects by default values it cannot order, and adds nothing", () => {
    const q = new PriorityQueue<unknown>();
    q.putNowait(1);
    assert.throws(
      () => {
        q.putNowait("a");
      },
      {
        name: "TypeError",
        message: "PriorityQueue cannot order 'a' and 1; pass options.compare",
      },
    );
    assert.throws(() => {
      q.putNowait({ job: 1 });
    }, TypeError);
    assert.equal(String(q), "<PriorityQueue maxsize=0 _queue=[1] tasks=1>");
    const tuples = new PriorityQueue<[number, object]>();
    tuples.putNowait([1, {}]);
    assert.throws(() => {
      tuples.putNowait([1, {}]);
    }, TypeError); // a tie compares the objects
    assert.equal(tuples.qsize(), 1);
  });

  it("orders by options.compare", () => {
    const q = new PriorityQueue<{ priority: number; name: string }>(0, {
      compare: (a, b) => b.priority - a.priority,
    });
    q.putNowait({ priority: 1, name: "low" });
    q.putNowait({ priority: 9, name: "high" });
    q.putNowait({ priority: 5, name: "mid" });
    const names = [q.getNowait(), q.getNowait(), q.getNowait()].map((item) => item.name);
    assert.deepEqual(names, ["high", "mid", "low"]);
  });

  it("hands out equal items in the order they were put (stable)", () => {
    const q = new PriorityQueue<{ priority: number; id: number }>(0, {
      compare: (a, b) => a.priority - b.priority,
    });
    const priorities = [2, 1, 2, 0, 1, 2, 0, 1, 1, 2, 0, 0, 2];
    priorities.forEach((priority, id) => {
      q.putNowait({ priority, id });
    });
    const out: { priority: number; id: number }[] = [];
    while (!q.empty()) out.push(q.getNowait());
    const expected = priorities
      .map((priority, id) => ({ priority, id }))
      .sort((a, b) => a.priority - b.priority || a.id - b.id);
    assert.deepEqual(out, expected);
  });

  it("keeps its items when the comparator throws during a get", () => {
    let fail = false;
    const q = new PriorityQueue<number>(0, {
      compare: (a, b) => {
        if (fail) throw new Error("no compare");
        return a - b;
      },
    });
    for (const n of [4, 1, 3, 2, 5]) q.putNowait(n);
    fail = true;
    assert.throws(() => q.getNowait(), { message: "no compare" });
    assert.throws(
      () => {
        q.putNowait(0);
      },
      { message: "no compare" },
    );
    fail = false;
    assert.equal(q.qsize(), 5);
    const out: number[] = [];
    while (!q.empty()) out.push(q.getNowait());
    assert.deepEqual(out, [1, 2, 3, 4, 5]);
  });

  it("rejects a comparator that is not a function, and bad options", () => {
    assert.throws(() => new PriorityQueue<number>(0, { compare: 1 as unknown as () => number }), {
      name: "TypeError",
      message: "options.compare must be a function, got 1",
    });
    assert.throws(() => new PriorityQueue<number>(0, 5 as unknown as object), {
      name: "TypeError",
      message: "options must be an object, got 5",
    });
  });
});

for (const QueueClass of queueClasses) {
  describe(`${QueueClass.name} join`, () => {
    // asyncio: test_task_done_underflow
    it("taskDone() throws RangeError when no item is unfinished", () => {
      const q = new QueueClass<number>();
      assert.throws(
        () => {
          q.taskDone();
        },
        {
          name: "RangeError",
          message: "taskDone() called too many times",
        },
      );
    });

    // asyncio: test_task_done
    it("join() returns once every item is marked done", () =>
      runVirtual(function* () {
        const q = new QueueClass<number>();
        for (let i = 0; i < 100; i++) q.putNowait(i);
        let accumulator = 0;
        let running = true;
        function* worker(): Coro<void> {
          while (running) {
            const item = yield* q.get();
            accumulator += item;
            q.taskDone();
          }
        }
        const workers = [createTask(worker()), createTask(worker())];
        yield* q.join();
        assert.equal(accumulator, (99 * 100) / 2);
        running = false;
        for (const _ of workers) q.putNowait(0);
        yield* settleAll(workers);
      }));

    // asyncio: test_join_empty_queue
    it("join() returns at once when nothing is unfinished", () =>
      runVirtual(function* () {
        const q = new QueueClass<number>();
        const loop = getRunningLoop();
        let ticked = false;
        loop.callSoon(() => {
          ticked = true;
        });
        yield* q.join();
        yield* q.join();
        assert.equal(ticked, false);
      }));

    // asyncio: test_format
    it("shows the unfinished count in its repr", () => {
      const q = new QueueClass<number>();
      assert.equal(String(q), `<${QueueClass.name} maxsize=0>`);
      q.putNowait(1);
      q.putNowait(2);
      q.getNowait();
      q.getNowait();
      assert.equal(String(q), `<${QueueClass.name} maxsize=0 tasks=2>`);
    });
  });

  describe(`${QueueClass.name} shutdown`, () => {
    // asyncio: test_format
    it("shows shutdown in its repr", () => {
      const q = new QueueClass<number>();
      q.shutdown();
      assert.equal(String(q), `<${QueueClass.name} maxsize=0 shutdown>`);
    });

    // asyncio: test_shutdown_empty
    it("wakes a blocked getter with QueueShutDown and refuses puts and gets", () =>
      runVirtual(function* () {
        const q = new QueueClass<string>();
        const getTask = createTask(q.get());
        yield* sleep(0);
        q.shutdown({ immediate: false });
        assert.equal(q.qsize(), 0);
        yield* q.join();
        yield* sleep(0);
        assert.equal(getTask.done(), true);
        assert.ok((yield* thrownBy(getTask)) instanceof QueueShutDown);
        yield* assertRefusesPutsAndGets(q);
      }));

    // asyncio: test_shutdown_nonempty
    it("wakes a blocked putter with QueueShutDown and still hands out queued items", () =>
      runVirtual(function* () {
        const q = new QueueClass<string>(1);
        q.putNowait("data");
        const joinTask = createTask(q.join());
        const putTask = createTask(q.put("data2"));
        yield* sleep(0);
        assert.equal(putTask.done(), false);
        q.shutdown();
        assert.equal(q.qsize(), 1);
        yield* sleep(0);
        assert.equal(putTask.done(), true);
        assert.ok((yield* thrownBy(putTask)) instanceof QueueShutDown);
        assert.equal(yield* q.get(), "data");
        yield* sleep(0);
        assert.equal(joinTask.done(), false);
        yield* assertRefusesPutsAndGets(q);
        q.taskDone();
        yield* sleep(0);
        assert.equal(joinTask.done(), true);
        yield* joinTask;
        assert.throws(() => {
          q.taskDone();
        }, RangeError);
      }));

    // asyncio: test_shutdown_immediate
    it("drops the queued items with { immediate: true }, releasing join()", () =>
      runVirtual(function* () {
        const q = new QueueClass<string>();
        q.putNowait("data");
        const joinTask = createTask(q.join());
        q.shutdown({ immediate: true });
        assert.equal(q.qsize(), 0);
        yield* sleep(0);
        assert.equal(joinTask.done(), true);
        yield* joinTask;
        yield* assertRefusesPutsAndGets(q);
        assert.throws(() => {
          q.taskDone();
        }, RangeError);
      }));

    // asyncio: test_shutdown_immediate_with_unfinished
    it("keeps join() waiting for an item taken before an immediate shutdown", () =>
      runVirtual(function* () {
        const q = new QueueClass<string>();
        q.putNowait("data");
        q.putNowait("data");
        const joinTask = createTask(q.join());
        assert.equal(yield* q.get(), "data");
        q.shutdown({ immediate: true });
        assert.equal(q.qsize(), 0);
        yield* sleep(0);
        assert.equal(joinTask.done(), false);
        yield* assertRefusesPutsAndGets(q);
        q.taskDone();
        assert.throws(() => {
          q.taskDone();
        }, RangeError);
        yield* sleep(0);
        assert.equal(joinTask.done(), true);
        yield* joinTask;
      }));
  });
}

describe("Queue shutdown", () => {
  it("lets every blocked getter of an empty queue throw QueueShutDown", () =>
    runVirtual(function* () {
      const q = new Queue<number>();
      const getters = [createTask(q.get()), createTask(q.get())];
      yield* sleep(0);
      assert.equal(String(q), "<Queue maxsize=0 _getters[2]>");
      q.shutdown();
      assert.equal(String(q), "<Queue maxsize=0 shutdown>");
      for (const getter of getters) {
        assert.ok((yield* thrownBy(getter)) instanceof QueueShutDown);
      }
    }));

  it("wakes every blocked putter, which throw QueueShutDown", () =>
    runVirtual(function* () {
      const q = new Queue<number>(1);
      q.putNowait(0);
      const putters = [createTask(q.put(1)), createTask(q.put(2))];
      yield* sleep(0);
      q.shutdown();
      for (const putter of putters) {
        assert.ok((yield* thrownBy(putter)) instanceof QueueShutDown);
      }
      assert.equal(String(q), "<Queue maxsize=1 _queue=[0] tasks=1 shutdown>");
    }));

  it("is idempotent, and rejects bad options", () => {
    const q = new Queue<number>();
    q.shutdown();
    q.shutdown({ immediate: true });
    assert.equal(String(q), "<Queue maxsize=0 shutdown>");
    assert.throws(
      () => {
        q.shutdown(true as unknown as object);
      },
      {
        name: "TypeError",
        message: "options must be an object, got true",
      },
    );
  });
});

describe("Queue.consume", () => {
  it("processes every item until the queue is shut down and drained", () =>
    runVirtual(function* () {
      const q = new Queue<number>(2);
      const seen: string[] = [];
      const worker = createTask(
        q.consume(function* (item) {
          yield* sleep(1);
          seen.push(`item ${item}`);
        }),
      );
      for (let i = 0; i < 5; i++) yield* q.put(i);
      q.shutdown();
      assert.equal(yield* worker, 5);
      assert.deepEqual(seen, ["item 0", "item 1", "item 2", "item 3", "item 4"]);
      yield* q.join(); // every item was marked done
      assert.equal(String(q), "<Queue maxsize=2 shutdown>");
    }));

  it("accepts a plain function as the body", () =>
    runVirtual(function* () {
      const q = new Queue<string>();
      const seen: string[] = [];
      q.putNowait("a");
      q.putNowait("b");
      q.shutdown();
      assert.equal(yield* q.consume((item) => seen.push(item)), 2);
      assert.deepEqual(seen, ["a", "b"]);
    }));

  it("shares the items among several consumers", () =>
    runVirtual(function* () {
      const q = new Queue<number>();
      const seen: string[] = [];
      const workers = ["w1", "w2"].map((name) =>
        createTask(
          q.consume(function* (item) {
            seen.push(`${name}:${item}`);
            yield* sleep(1);
          }),
        ),
      );
      for (let i = 0; i < 4; i++) q.putNowait(i);
      yield* q.join();
      q.shutdown();
      const counts: number[] = [];
      for (const worker of workers) counts.push(yield* worker);
      assert.deepEqual(counts, [2, 2]);
      assert.deepEqual(seen, ["w1:0", "w2:1", "w1:2", "w2:3"]);
    }));

  it("marks the item done and stops when the body throws", () =>
    runVirtual(function* () {
      const q = new Queue<number>();
      q.putNowait(1);
      q.putNowait(2);
      const error = yield* thrownBy(
        q.consume(function* (): Coro<void> {
          throw new Error("bad item");
        }),
      );
      assert.equal((error as Error).message, "bad item");
      assert.equal(String(q), "<Queue maxsize=0 _queue=[2] tasks=1>");
    }));

  it("stops with CancelledError when its task is cancelled while waiting", () =>
    runVirtual(function* () {
      const q = new Queue<number>();
      const worker = createTask(q.consume(() => undefined));
      yield* sleep(0);
      worker.cancel();
      assert.ok((yield* thrownBy(worker)) instanceof CancelledError);
      assert.equal(String(q), "<Queue maxsize=0>");
    }));

  it("rejects a body that is not a function or returns a Promise", () =>
    runVirtual(function* () {
      const q = new Queue<number>();
      const error = yield* thrownBy(q.consume(null as unknown as () => undefined));
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, "body must be a function, got null");
      q.putNowait(1);
      const asyncBody = thrownBy(q.consume(() => Promise.resolve()));
      const error2 = yield* asyncBody;
      assert.ok(error2 instanceof TypeError);
      assert.match(error2.message, /^body returned Promise .*: use a generator function/);
      assert.equal(q.qsize(), 0);
    }));
});

type QueueOp =
  | { kind: "put"; count: number }
  | { kind: "get" }
  | { kind: "putNowait" }
  | { kind: "getNowait" }
  | { kind: "cancel"; index: number };

const queueOp: fc.Arbitrary<QueueOp> = fc.oneof(
  fc.record({ kind: fc.constant("put" as const), count: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant("get" as const) }),
  fc.record({ kind: fc.constant("putNowait" as const) }),
  fc.record({ kind: fc.constant("getNowait" as const) }),
  fc.record({ kind: fc.constant("cancel" as const), index: fc.nat(60) }),
);

/** Ops run in one iteration, then `ticks` iterations; `settle` then checks quiet state. */
interface QueueBatch {
  ops: QueueOp[];
  ticks: number;
  settle: boolean;
}

const queueBatches: fc.Arbitrary<QueueBatch[]> = fc.array(
  fc.record({
    ops: fc.array(queueOp, { minLength: 1, maxLength: 4 }),
    ticks: fc.integer({ min: 0, max: 2 }),
    settle: fc.boolean(),
  }),
  { maxLength: 15 },
);

/** An item entering (`in`) or leaving (`out`) the queue. */
type Move = readonly ["in" | "out", number];

/**
 * Run `batches` on `q` with producer and consumer tasks and the main task's own nowait
 * calls; return the items in the order they entered the queue, the order they left it
 * (the rest is drained at the end), and both interleaved as they happened. In quiet
 * states, checks that no getter waits while items are queued and no putter while there
 * is room.
 */
function* exercise(
  q: Queue<number>,
  batches: readonly QueueBatch[],
): Coro<{ entered: number[]; left: number[]; moves: Move[] }> {
  const moves: Move[] = [];
  const tasks: Task<void>[] = [];
  let next = 0;
  function* producer(count: number): Coro<void> {
    for (let i = 0; i < count; i++) {
      const item = next++;
      yield* q.put(item);
      moves.push(["in", item]); // put() returns right after the item went in
    }
  }
  function* consumer(): Coro<void> {
    moves.push(["out", yield* q.get()]); // get() returns right after the item came out
  }
  function* quiet(): Coro<void> {
    let stable = 0;
    let last = "";
    for (let i = 0; i < 200 && stable < 3; i++) {
      yield* sleep(0);
      const now = `${moves.length} ${String(q)} ${tasks.filter((t) => t.done()).length}`;
      stable = now === last ? stable + 1 : 0;
      last = now;
    }
    assert.ok(!(!q.empty() && String(q).includes("_getters")), String(q));
    assert.ok(!(!q.full() && String(q).includes("_putters")), String(q));
  }
  for (const batch of batches) {
    for (const op of batch.ops) {
      switch (op.kind) {
        case "put":
          tasks.push(createTask(producer(op.count)));
          break;
        case "get":
          tasks.push(createTask(consumer()));
          break;
        case "putNowait":
          if (!q.full()) {
            const item = next++;
            q.putNowait(item);
            moves.push(["in", item]);
          }
          break;
        case "getNowait":
          if (!q.empty()) moves.push(["out", q.getNowait()]);
          break;
        case "cancel": {
          const pending = tasks.filter((task) => !task.done());
          if (pending.length > 0) pending[op.index % pending.length]!.cancel();
          break;
        }
      }
    }
    for (let i = 0; i < batch.ticks; i++) yield* sleep(0);
    if (batch.settle) yield* quiet();
  }
  yield* quiet();
  for (const task of tasks) task.cancel();
  yield* settleAll(tasks);
  while (!q.empty()) moves.push(["out", q.getNowait()]);
  assert.ok(!String(q).includes("_getters") && !String(q).includes("_putters"), String(q));
  const items = (kind: "in" | "out"): number[] =>
    moves.filter((move) => move[0] === kind).map((move) => move[1]);
  return { entered: items("in"), left: items("out"), moves };
}

/**
 * Replay `moves`, checking that each item that left is the one `pick` chooses among the
 * items queued then (in the order they entered), and that every item left exactly once.
 */
function replay(moves: readonly Move[], pick: (queued: readonly number[]) => number): void {
  const queued: number[] = [];
  for (const [kind, item] of moves) {
    if (kind === "in") {
      queued.push(item);
    } else {
      assert.equal(item, pick(queued), `queued: ${queued.join(", ")}`);
      queued.splice(queued.indexOf(item), 1);
    }
  }
  assert.deepEqual(queued, []);
}

describe("Queue (properties)", () => {
  it("never loses, duplicates or reorders an item under random put/get/cancel", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), queueBatches, (maxsize, batches) =>
        runVirtual(function* () {
          const q = new Queue<number>(maxsize);
          const { entered, left, moves } = yield* exercise(q, batches);
          assert.deepEqual(left, entered);
          replay(moves, (queued) => queued[0]!);
          assert.ok(q.qsize() <= maxsize);
        }),
      ),
      { seed: 4242, numRuns: 150 },
    );
  });

  it("LifoQueue hands out every item exactly once, newest first", async () => {
    await fc.assert(
      fc.asyncProperty(queueBatches, (batches) =>
        runVirtual(function* () {
          const q = new LifoQueue<number>(2);
          const { moves } = yield* exercise(q, batches);
          replay(moves, (queued) => queued[queued.length - 1]!);
        }),
      ),
      { seed: 99, numRuns: 100 },
    );
  });

  it("PriorityQueue always hands out the smallest queued item, stably", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), queueBatches, (maxsize, batches) =>
        runVirtual(function* () {
          // Priority = item % 3: many ties, which must come out in insertion order.
          const q = new PriorityQueue<number>(maxsize, { compare: (a, b) => (a % 3) - (b % 3) });
          const { moves } = yield* exercise(q, batches);
          // The oldest of the smallest priority: reduce keeps the first on ties.
          replay(moves, (queued) => queued.reduce((a, b) => (b % 3 < a % 3 ? b : a)));
        }),
      ),
      { seed: 1234, numRuns: 150 },
    );
  });
});
