// Tests for src/locks/semaphore.ts. Ported from CPython's test_locks.py (SemaphoreTests),
// plus property tests: random acquire/release/cancel schedules never exceed the bound, keep
// FIFO order and never deadlock.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import fc from "fast-check";
import {
  CancelledError,
  RuntimeError,
  createTask,
  getRunningLoop,
  sleep,
  type Coro,
  type Future,
  type Task,
} from "../../src/index.ts";
import { BoundedSemaphore, Semaphore } from "../../src/locks/index.ts";
import { runVirtual } from "../../src/testing.ts";
import { settleAll, thrownBy } from "../helpers/coro.ts";

describe("Semaphore", () => {
  // asyncio: test_initial_value_zero
  it("is locked when created with no permit", () => {
    assert.equal(new Semaphore(0).locked(), true);
  });

  // asyncio: test_repr
  it("shows its state, free permits and waiter count in its repr", () =>
    runVirtual(function* () {
      const sem = new Semaphore();
      assert.equal(String(sem), "<Semaphore [unlocked, value:1]>");
      assert.equal(inspect(sem), "<Semaphore [unlocked, value:1]>");
      yield* sem.acquire();
      assert.equal(String(sem), "<Semaphore [locked]>");
      const waiters = [createTask(sem.acquire())];
      yield* sleep(0);
      assert.equal(String(sem), "<Semaphore [locked, waiters:1]>");
      waiters.push(createTask(sem.acquire()));
      yield* sleep(0);
      assert.equal(String(sem), "<Semaphore [locked, waiters:2]>");
      sem.release();
      sem.release();
      yield* settleAll(waiters);
      sem.release();
      sem.release();
      assert.equal(String(sem), "<Semaphore [unlocked, value:2]>");
    }));

  // asyncio: test_semaphore
  it("has one permit by default", () =>
    runVirtual(function* () {
      const sem = new Semaphore();
      assert.equal(sem.locked(), false);
      assert.equal(yield* sem.acquire(), true);
      assert.equal(sem.locked(), true);
    }));

  // asyncio: test_semaphore_value
  it("rejects a negative or fractional initial value", () => {
    assert.throws(() => new Semaphore(-1), {
      name: "RangeError",
      message: "Semaphore initial value must be >= 0, got -1",
    });
    assert.throws(() => new Semaphore(1.5), {
      name: "TypeError",
      message: "Semaphore initial value must be an integer, got 1.5",
    });
    assert.throws(() => new Semaphore("2" as unknown as number), {
      name: "TypeError",
      message: "Semaphore initial value must be an integer, got '2'",
    });
  });

  // asyncio: test_acquire
  it("hands released permits to waiters in order, newcomers last", () =>
    runVirtual(function* () {
      const sem = new Semaphore(3);
      const result: number[] = [];
      assert.equal(yield* sem.acquire(), true);
      assert.equal(yield* sem.acquire(), true);
      assert.equal(sem.locked(), false);
      function* c(n: number): Coro<boolean> {
        yield* sem.acquire();
        result.push(n);
        return true;
      }
      const t1 = createTask(c(1));
      const t2 = createTask(c(2));
      const t3 = createTask(c(3));
      yield* sleep(0);
      assert.deepEqual(result, [1]);
      assert.equal(sem.locked(), true);
      assert.equal(String(sem), "<Semaphore [locked, waiters:2]>");
      assert.equal(sem._value, 0);
      const t4 = createTask(c(4));
      sem.release();
      sem.release();
      assert.equal(sem._value, 0);
      yield* sleep(0);
      assert.equal(sem._value, 0);
      assert.deepEqual(result, [1, 2, 3]);
      assert.equal(String(sem), "<Semaphore [locked, waiters:1]>");
      assert.equal(t1.result(), true);
      assert.deepEqual(
        [t2, t3, t4].map((task) => task.done()),
        [true, true, false],
      );
      sem.release();
      assert.equal(yield* t4, true);
      assert.deepEqual(result, [1, 2, 3, 4]);
    }));

  // asyncio: test_acquire_cancel
  it("removes the waiter of a cancelled acquire", () =>
    runVirtual(function* () {
      const sem = new Semaphore();
      yield* sem.acquire();
      const acquire = createTask(sem.acquire());
      getRunningLoop().callSoon(() => acquire.cancel());
      assert.ok((yield* thrownBy(acquire)) instanceof CancelledError);
      assert.equal(String(sem), "<Semaphore [locked]>");
    }));

  // asyncio: test_acquire_cancel_before_awoken
  it("skips waiters cancelled before the release", () =>
    runVirtual(function* () {
      const sem = new Semaphore(0);
      const tasks = [0, 1, 2, 3].map(() => createTask(sem.acquire()));
      const [t1, t2, t3, t4] = tasks as [Task<true>, Task<true>, Task<true>, Task<true>];
      yield* sleep(0);
      t1.cancel();
      t2.cancel();
      sem.release();
      assert.equal(String(sem), "<Semaphore [locked, waiters:4]>");
      yield* sleep(0);
      yield* sleep(0);
      assert.equal(String(sem), "<Semaphore [locked, waiters:1]>");
      assert.deepEqual([t3.done(), t4.done()], [true, false]);
      t3.cancel();
      t4.cancel();
      yield* sleep(0);
      assert.deepEqual(
        tasks.map((task) => task.cancelled()),
        [true, true, false, true],
      );
      assert.equal(String(sem), "<Semaphore [locked]>");
    }));

  // asyncio: test_acquire_hang
  it("gives the permit to the next waiter when the first is cancelled", () =>
    runVirtual(function* () {
      const sem = new Semaphore(0);
      const t1 = createTask(sem.acquire());
      const t2 = createTask(sem.acquire());
      yield* sleep(0);
      t1.cancel();
      sem.release();
      yield* sleep(0);
      yield* sleep(0);
      assert.equal(sem.locked(), true);
      assert.equal(t2.done(), true);
      assert.ok((yield* thrownBy(t1)) instanceof CancelledError);
    }));

  // asyncio: test_acquire_no_hang
  it("returns the permit of a waiter cancelled after it was woken", () =>
    runVirtual(function* () {
      const sem = new Semaphore(1);
      let t2: Task<void> | null = null;
      const t1 = createTask(
        (function* (): Coro<void> {
          yield* sem.hold(function* () {
            yield* sleep(0);
          });
          t2!.cancel(); // t2 was just woken
        })(),
      );
      t2 = createTask(
        (function* (): Coro<void> {
          yield* sem.hold(function* () {
            assert.fail("t2 must not get the permit");
          });
        })(),
      );
      yield* t1;
      assert.ok((yield* thrownBy(t2)) instanceof CancelledError);
      assert.equal(String(sem), "<Semaphore [unlocked, value:1]>");
      assert.equal(yield* sem.acquire(), true);
    }));

  // asyncio: test_release_no_waiters
  it("is unlocked after a release with no waiters", () =>
    runVirtual(function* () {
      const sem = new Semaphore();
      yield* sem.acquire();
      assert.equal(sem.locked(), true);
      sem.release();
      assert.equal(sem.locked(), false);
    }));

  it("counts extra releases as extra permits", () => {
    const sem = new Semaphore(0);
    sem.release();
    sem.release();
    assert.equal(String(sem), "<Semaphore [unlocked, value:2]>");
  });

  // asyncio: test_acquire_fifo_order
  it("serves a round robin of holders in FIFO order", () =>
    runVirtual(function* () {
      const sem = new Semaphore(1);
      const result: string[] = [];
      function* coro(tag: string): Coro<void> {
        yield* sem.acquire();
        result.push(`${tag}_1`);
        yield* sleep(0.01);
        sem.release();
        yield* sem.acquire();
        result.push(`${tag}_2`);
        yield* sleep(0.01);
        sem.release();
      }
      yield* settleAll(["c1", "c2", "c3"].map((tag) => createTask(coro(tag))));
      assert.deepEqual(result, ["c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"]);
    }));

  // asyncio: test_acquire_fifo_order_2
  it("makes a task that releases and re-acquires queue behind the waiters", () =>
    runVirtual(function* () {
      const sem = new Semaphore(1);
      const result: number[] = [];
      const t1 = createTask(
        (function* (): Coro<boolean> {
          yield* sem.acquire();
          result.push(1);
          return true;
        })(),
      );
      const t2 = createTask(
        (function* (): Coro<boolean> {
          yield* sem.acquire();
          result.push(2);
          sem.release();
          yield* sem.acquire();
          result.push(4);
          return true;
        })(),
      );
      const t3 = createTask(
        (function* (): Coro<boolean> {
          yield* sem.acquire();
          result.push(3);
          return true;
        })(),
      );
      yield* sleep(0);
      sem.release();
      sem.release();
      yield* settleAll([t1, t2, t3]);
      assert.deepEqual(result, [1, 2, 3, 4]);
    }));

  // asyncio: test_acquire_fifo_order_3
  it("hands permits past a waiter cancelled earlier", () =>
    runVirtual(function* () {
      const sem = new Semaphore(0);
      const result: number[] = [];
      function* c(n: number): Coro<boolean> {
        yield* sem.acquire();
        result.push(n);
        return true;
      }
      const tasks = [createTask(c(1)), createTask(c(2)), createTask(c(3))];
      yield* sleep(0);
      tasks[0]!.cancel();
      yield* sleep(0);
      sem.release();
      sem.release();
      yield* settleAll(tasks);
      assert.deepEqual(result, [2, 3]);
    }));

  // asyncio: test_acquire_fifo_order_4
  it("wakes every admissible waiter after a successful acquire", () =>
    runVirtual(function* () {
      const sem = new Semaphore(0);
      const result: number[] = [];
      let t4: Task<boolean> | null = null;
      function* c4(): Coro<boolean> {
        result.push(4);
        return true;
      }
      const t1 = createTask(
        (function* (): Coro<boolean> {
          assert.equal(sem._value, 0);
          yield* sem.acquire();
          // c1's acquire woke every waiting task that may go now.
          assert.equal(sem._value, 0);
          t4 = createTask(c4()); // runs after c3, not c2
          result.push(1);
          return true;
        })(),
      );
      const t2 = createTask(
        (function* (): Coro<boolean> {
          sem.release();
          sem.release();
          sem.release();
          assert.equal(sem._value, 2);
          assert.equal(sem.locked(), true); // c1 has not woken up yet
          yield* sem.acquire();
          result.push(2);
          return true;
        })(),
      );
      const t3 = createTask(
        (function* (): Coro<boolean> {
          yield* sem.acquire();
          assert.equal(sem.locked(), true);
          result.push(3);
          return true;
        })(),
      );
      yield* sleep(0);
      assert.equal(sem._value, 2);
      assert.equal(String(sem), "<Semaphore [locked, waiters:3]>");
      yield* sleep(0);
      yield* settleAll([t1, t2, t3]);
      assert.notEqual(t4, null);
      yield* t4!;
      assert.deepEqual(result, [1, 2, 3, 4]);
      for (const task of [t1, t2, t3]) assert.equal(task.result(), true);
    }));

  it("hold() holds a permit for a using block or a body", () =>
    runVirtual(function* () {
      const sem = new Semaphore(2);
      {
        using _held = yield* sem.hold();
        assert.equal(String(sem), "<Semaphore [unlocked, value:1]>");
      }
      assert.equal(String(sem), "<Semaphore [unlocked, value:2]>");
      let running = 0;
      let most = 0;
      function* worker(): Coro<void> {
        yield* sem.hold(function* () {
          running++;
          most = Math.max(most, running);
          yield* sleep(1);
          running--;
        });
      }
      yield* settleAll([0, 1, 2, 3, 4].map(() => createTask(worker())));
      assert.equal(most, 2);
      assert.equal(getRunningLoop().time(), 3);
      assert.equal(String(sem), "<Semaphore [unlocked, value:2]>");
    }));

  it("refuses to make a task wait on a loop other than the one it is bound to", async () => {
    const sem = new Semaphore(0);
    await runVirtual(function* () {
      const waiter = createTask(sem.acquire());
      yield* sleep(0);
      sem.release();
      yield* waiter;
    });
    await runVirtual(function* () {
      const error = yield* thrownBy(sem.acquire());
      assert.ok(error instanceof RuntimeError);
      assert.equal(error.message, "<Semaphore [locked]> is bound to a different event loop");
    });
  });
});

describe("BoundedSemaphore", () => {
  // asyncio: test_release_not_acquired
  it("throws RangeError when released more often than acquired", () => {
    const sem = new BoundedSemaphore();
    assert.throws(
      () => {
        sem.release();
      },
      {
        name: "RangeError",
        message: "BoundedSemaphore released too many times",
      },
    );
  });

  it("shows its class name in its repr", () =>
    runVirtual(function* () {
      const sem = new BoundedSemaphore(2);
      assert.equal(String(sem), "<BoundedSemaphore [unlocked, value:2]>");
      assert.equal(inspect(sem), "<BoundedSemaphore [unlocked, value:2]>");
      yield* sem.acquire();
      yield* sem.acquire();
      assert.equal(String(sem), "<BoundedSemaphore [locked]>");
    }));

  it("accepts releases up to its initial value", () =>
    runVirtual(function* () {
      const sem = new BoundedSemaphore(2);
      yield* sem.acquire();
      yield* sem.acquire();
      sem.release();
      sem.release();
      assert.throws(() => {
        sem.release();
      }, RangeError);
      assert.equal(String(sem), "<BoundedSemaphore [unlocked, value:2]>");
    }));

  it("checks the bound against free permits only, as asyncio does", () =>
    runVirtual(function* () {
      const sem = new BoundedSemaphore(1);
      yield* sem.acquire();
      const waiter = createTask(sem.acquire());
      yield* sleep(0);
      sem.release(); // handed to the waiter: no permit is free
      sem.release(); // so an extra release is not caught yet
      assert.equal(String(sem), "<BoundedSemaphore [locked, waiters:1]>");
      yield* waiter;
      assert.equal(String(sem), "<BoundedSemaphore [unlocked, value:1]>");
      assert.throws(() => {
        sem.release();
      }, RangeError);
    }));

  it("rejects a negative initial value", () => {
    assert.throws(() => new BoundedSemaphore(-2), {
      name: "RangeError",
      message: "Semaphore initial value must be >= 0, got -2",
    });
  });

  it("hold(body) releases through the bounded release", () =>
    runVirtual(function* () {
      const sem = new BoundedSemaphore(1);
      assert.equal(yield* sem.hold(() => sleep(1, "done")), "done");
      assert.equal(String(sem), "<BoundedSemaphore [unlocked, value:1]>");
    }));
});

type Op =
  | { kind: "spawn" }
  | { kind: "cancel"; index: number }
  | { kind: "finish"; index: number }
  | { kind: "take" }
  | { kind: "give" };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("spawn" as const) }),
  fc.record({ kind: fc.constant("cancel" as const), index: fc.nat(40) }),
  fc.record({ kind: fc.constant("finish" as const), index: fc.nat(40) }),
  fc.record({ kind: fc.constant("take" as const) }),
  fc.record({ kind: fc.constant("give" as const) }),
);

/** Ops run in one iteration, then `ticks` iterations; `settle` then checks quiet state. */
interface Batch {
  ops: Op[];
  ticks: number;
  settle: boolean;
}

const batchArbitrary: fc.Arbitrary<Batch> = fc.record({
  ops: fc.array(opArbitrary, { minLength: 1, maxLength: 4 }),
  ticks: fc.integer({ min: 0, max: 2 }),
  settle: fc.boolean(),
});

/**
 * Run `batches` against `sem`: spawned tasks acquire and hold their permit until the main
 * task tells them to release it ("finish"); the main task also takes permits without
 * waiting, gives them back, and cancels tasks. Checks the bound, FIFO order, that no permit
 * stays free while a task is blocked, and that every task not cancelled gets a permit.
 */
function* exercise(sem: Semaphore, bound: number, batches: readonly Batch[]): Coro<void> {
  const loop = getRunningLoop();
  let holders = 0;
  let mainHolds = 0;
  const queued: number[] = []; // ids that found the semaphore locked, in order
  const acquiredAfterWaiting: number[] = [];
  const blocked = new Set<number>();
  const holding = new Map<number, Future<null>>();
  const tasks: Task<void>[] = [];
  function* user(id: number): Coro<void> {
    const waits = sem.locked();
    if (waits) queued.push(id);
    blocked.add(id);
    try {
      yield* sem.acquire();
    } finally {
      blocked.delete(id);
    }
    holders++;
    assert.ok(holders <= bound, `${holders} holders for ${bound} permits`);
    if (waits) acquiredAfterWaiting.push(id);
    const signal = loop.createFuture<null>();
    holding.set(id, signal);
    try {
      yield* signal;
    } finally {
      holding.delete(id);
      holders--;
      sem.release();
    }
  }
  function* quiet(): Coro<void> {
    for (let i = 0; i < 4; i++) yield* sleep(0);
  }
  for (const batch of batches) {
    for (const op of batch.ops) {
      switch (op.kind) {
        case "spawn":
          tasks.push(createTask(user(tasks.length)));
          break;
        case "cancel": {
          const pending = tasks.filter((task) => !task.done());
          if (pending.length > 0) pending[op.index % pending.length]!.cancel();
          break;
        }
        case "finish": {
          const signals = [...holding.values()].filter((signal) => !signal.done());
          if (signals.length > 0) signals[op.index % signals.length]!.setResult(null);
          break;
        }
        case "take":
          if (!sem.locked()) {
            yield* sem.acquire(); // does not suspend
            holders++;
            mainHolds++;
            assert.ok(holders <= bound, `${holders} holders for ${bound} permits`);
          }
          break;
        case "give":
          if (mainHolds > 0) {
            mainHolds--;
            holders--;
            sem.release();
          }
          break;
      }
    }
    for (let i = 0; i < batch.ticks; i++) yield* sleep(0);
    if (batch.settle) {
      yield* quiet();
      // Quiet: a free permit must have reached every blocked task.
      if (sem._value > 0) assert.equal(blocked.size, 0, String(sem));
    }
  }
  for (; mainHolds > 0; mainHolds--) {
    holders--;
    sem.release();
  }
  // Liveness: release every permit until every task not cancelled has had one.
  for (let round = 0; round < 100 && tasks.some((task) => !task.done()); round++) {
    for (const signal of holding.values()) if (!signal.done()) signal.setResult(null);
    yield* quiet();
  }
  assert.ok(
    tasks.every((task) => task.done()),
    `blocked forever: ${[...blocked].join(", ")}; ${String(sem)}`,
  );
  assert.equal(holders, 0);
  // FIFO: waiters acquire in the order they queued (cancelled ones drop out).
  const expected = queued.filter((id) => acquiredAfterWaiting.includes(id));
  assert.deepEqual(acquiredAfterWaiting, expected);
}

describe("Semaphore (properties)", () => {
  it("never exceeds its bound, keeps FIFO order and never loses a permit", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.array(batchArbitrary, { maxLength: 15 }),
        (bound, batches) =>
          runVirtual(function* () {
            const sem = new BoundedSemaphore(bound);
            yield* exercise(sem, bound, batches);
            assert.equal(String(sem), `<BoundedSemaphore [unlocked, value:${bound}]>`);
          }),
      ),
      { seed: 20240613, numRuns: 200 },
    );
  });
});
