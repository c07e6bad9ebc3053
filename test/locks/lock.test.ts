// Tests for src/locks/lock.ts. Ported from CPython's test_locks.py (LockTests) where a
// scenario applies; `await lock` and `loop=` are compile errors in TypeScript, not tested.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import {
  CancelledError,
  RuntimeError,
  createTask,
  getRunningLoop,
  sleep,
  type Coro,
  type Task,
} from "../../src/index.ts";
import { BoundedSemaphore, Condition, Lock, Semaphore } from "../../src/locks/index.ts";
import { runVirtual } from "../../src/testing.ts";
import { thrownBy } from "../helpers/coro.ts";

describe("Lock", () => {
  // asyncio: test_repr
  it("shows its state and waiter count in its repr", () =>
    runVirtual(function* () {
      const lock = new Lock();
      assert.equal(String(lock), "<Lock [unlocked]>");
      assert.equal(inspect(lock), "<Lock [unlocked]>");
      yield* lock.acquire();
      assert.equal(String(lock), "<Lock [locked]>");
      const waiters = [createTask(lock.acquire()), createTask(lock.acquire())];
      yield* sleep(0);
      assert.equal(String(lock), "<Lock [locked, waiters:2]>");
      lock.release();
      assert.equal(String(lock), "<Lock [unlocked, waiters:2]>");
      yield* sleep(0);
      assert.equal(String(lock), "<Lock [locked, waiters:1]>");
      lock.release();
      yield* sleep(0);
      lock.release();
      for (const task of waiters) assert.equal(yield* task, true);
    }));

  // asyncio: test_lock
  it("starts unlocked, outside any loop too", () => {
    const lock = new Lock();
    assert.equal(lock.locked(), false);
  });

  // asyncio: test_lock, test_lock_by_with_statement
  it("is not awaitable itself: yield* on a primitive is a compile error and a TypeError", () => {
    const primitives = [new Lock(), new Condition(), new Semaphore(), new BoundedSemaphore()];
    for (const primitive of primitives) {
      function* awaitIt(): Coro<void> {
        // @ts-expect-error -- not awaitable: use acquire() or hold()
        yield* primitive;
      }
      assert.throws(() => awaitIt().next(), TypeError);
      assert.equal(primitive.locked(), false);
    }
  });

  // asyncio: test_acquire
  it("hands the lock to waiters in FIFO order, newcomers last", () =>
    runVirtual(function* () {
      const lock = new Lock();
      const result: number[] = [];
      assert.equal(yield* lock.acquire(), true);
      function* c(n: number): Coro<boolean> {
        assert.equal(yield* lock.acquire(), true);
        result.push(n);
        return true;
      }
      const t1 = createTask(c(1));
      const t2 = createTask(c(2));
      yield* sleep(0);
      assert.deepEqual(result, []);
      lock.release();
      yield* sleep(0);
      assert.deepEqual(result, [1]);
      yield* sleep(0);
      assert.deepEqual(result, [1]);
      const t3 = createTask(c(3));
      lock.release();
      yield* sleep(0);
      assert.deepEqual(result, [1, 2]);
      lock.release();
      yield* sleep(0);
      assert.deepEqual(result, [1, 2, 3]);
      for (const task of [t1, t2, t3]) {
        assert.equal(task.done(), true);
        assert.equal(task.result(), true);
      }
    }));

  it("returns true at once when the lock is free", () =>
    runVirtual(function* () {
      const lock = new Lock();
      const loop = getRunningLoop();
      const before = loop.time();
      assert.equal(yield* lock.acquire(), true);
      assert.equal(lock.locked(), true);
      assert.equal(loop.time(), before);
    }));

  it("makes a newcomer queue behind a woken waiter even though locked() is false", () =>
    runVirtual(function* () {
      const lock = new Lock();
      const log: string[] = [];
      yield* lock.acquire();
      const waiter = createTask(
        (function* (): Coro<void> {
          yield* lock.acquire();
          log.push("waiter");
          lock.release();
        })(),
      );
      yield* sleep(0);
      lock.release();
      assert.equal(lock.locked(), false);
      // The woken waiter has not run yet: a newcomer must not take the lock.
      const newcomer = createTask(
        (function* (): Coro<void> {
          yield* lock.acquire();
          log.push("newcomer");
          lock.release();
        })(),
      );
      yield* waiter;
      yield* newcomer;
      assert.deepEqual(log, ["waiter", "newcomer"]);
    }));

  // asyncio: test_acquire_cancel
  it("removes the waiter of a cancelled acquire", () =>
    runVirtual(function* () {
      const lock = new Lock();
      yield* lock.acquire();
      const task = createTask(lock.acquire());
      getRunningLoop().callSoon(() => task.cancel());
      assert.ok((yield* thrownBy(task)) instanceof CancelledError);
      assert.equal(String(lock), "<Lock [locked]>");
    }));

  // asyncio: test_cancel_race
  it("skips a waiter cancelled in the same iteration as the release", () =>
    runVirtual(function* () {
      const lock = new Lock();
      const loop = getRunningLoop();
      function* lockit(blocker: Iterable<unknown, unknown, unknown> | null): Coro<void> {
        yield* lock.acquire();
        try {
          if (blocker !== null) yield* blocker as Coro<unknown>;
        } finally {
          lock.release();
        }
      }
      const fa = loop.createFuture<null>();
      const ta = createTask(lockit(fa));
      yield* sleep(0);
      assert.equal(lock.locked(), true);
      const tb = createTask(lockit(null));
      yield* sleep(0);
      assert.equal(String(lock), "<Lock [locked, waiters:1]>");
      const tc = createTask(lockit(null));
      yield* sleep(0);
      assert.equal(String(lock), "<Lock [locked, waiters:2]>");
      fa.setResult(null);
      tb.cancel();
      yield* sleep(0);
      assert.equal(lock.locked(), false);
      assert.equal(ta.done(), true);
      assert.equal(tb.cancelled(), true);
      yield* tc;
    }));

  // asyncio: test_cancel_release_race
  it("lets exactly one waiter acquire when cancel and release race", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const lock = new Lock();
      let lockCount = 0;
      let callCount = 0;
      function* lockit(): Coro<void> {
        callCount++;
        yield* lock.acquire();
        lockCount++;
      }
      yield* lock.acquire();
      const t1 = createTask(lockit());
      const t2 = createTask(lockit());
      const t3 = createTask(lockit());
      yield* sleep(0);
      loop.callSoon(() => {
        t1.cancel();
        lock.release();
      });
      assert.ok((yield* thrownBy(t1)) instanceof CancelledError);
      assert.equal(lockCount, 1);
      assert.equal(callCount, 3);
      assert.equal(t1.cancelled() && t2.done(), true);
      t3.cancel();
      yield* sleep(0);
      assert.equal(t3.cancelled(), true);
    }));

  // asyncio: test_finished_waiter_cancelled
  it("passes the wake-up of a woken-then-cancelled waiter to the next one", () =>
    runVirtual(function* () {
      const lock = new Lock();
      yield* lock.acquire();
      const tb = createTask(lock.acquire());
      yield* sleep(0);
      assert.equal(String(lock), "<Lock [locked, waiters:1]>");
      const tc = createTask(lock.acquire());
      tb.cancel();
      lock.release();
      yield* sleep(0);
      assert.equal(lock.locked(), true);
      assert.equal(tb.cancelled(), true);
      assert.equal(yield* tc, true);
    }));

  it("passes the wake-up on when the woken waiter is cancelled before it runs", () =>
    runVirtual(function* () {
      const lock = new Lock();
      yield* lock.acquire();
      const tb = createTask(lock.acquire());
      const tc = createTask(lock.acquire());
      yield* sleep(0);
      lock.release();
      // tb's waiter is woken; cancel tb before it runs.
      tb.cancel();
      assert.ok((yield* thrownBy(tb)) instanceof CancelledError);
      assert.equal(yield* tc, true);
      assert.equal(String(lock), "<Lock [locked]>");
    }));

  it("lets a newcomer jump a queue whose waiters are all cancelled", () =>
    runVirtual(function* () {
      const lock = new Lock();
      yield* lock.acquire();
      const tb = createTask(lock.acquire());
      yield* sleep(0);
      tb.cancel();
      lock.release();
      // tb's waiter is cancelled but still queued until tb runs.
      assert.equal(String(lock), "<Lock [unlocked, waiters:1]>");
      assert.equal(yield* lock.acquire(), true);
      assert.ok((yield* thrownBy(tb)) instanceof CancelledError);
    }));

  // asyncio: test_release_not_acquired
  it("throws RuntimeError when released while unlocked", () => {
    const lock = new Lock();
    assert.throws(
      () => {
        lock.release();
      },
      { name: "RuntimeError", message: "Lock is not acquired." },
    );
    assert.throws(() => {
      lock.release();
    }, RuntimeError);
  });

  // asyncio: test_release_no_waiters
  it("is unlocked after a release with no waiters", () =>
    runVirtual(function* () {
      const lock = new Lock();
      yield* lock.acquire();
      assert.equal(lock.locked(), true);
      lock.release();
      assert.equal(lock.locked(), false);
    }));

  // asyncio: test_context_manager
  it("hold() returns a Disposable that releases the lock at the end of a using block", () =>
    runVirtual(function* () {
      const lock = new Lock();
      {
        using _held = yield* lock.hold();
        assert.equal(lock.locked(), true);
      }
      assert.equal(lock.locked(), false);
    }));

  it("releases once, however often the Disposable is disposed", () =>
    runVirtual(function* () {
      const lock = new Lock();
      const held = yield* lock.hold();
      held[Symbol.dispose]();
      yield* lock.acquire();
      held[Symbol.dispose]();
      assert.equal(lock.locked(), true);
    }));

  it("hold(body) runs the body holding the lock and returns its result", () =>
    runVirtual(function* () {
      const lock = new Lock();
      const result = yield* lock.hold(function* () {
        assert.equal(lock.locked(), true);
        yield* sleep(1);
        return 42;
      });
      assert.equal(result, 42);
      assert.equal(lock.locked(), false);
    }));

  it("hold(body) releases the lock when the body throws", () =>
    runVirtual(function* () {
      const lock = new Lock();
      const error = yield* thrownBy(
        lock.hold(function* (): Coro<never> {
          yield* sleep(0);
          throw new Error("boom");
        }),
      );
      assert.equal((error as Error).message, "boom");
      assert.equal(lock.locked(), false);
    }));

  it("hold(body) serializes bodies in FIFO order", () =>
    runVirtual(function* () {
      const lock = new Lock();
      const log: string[] = [];
      function* worker(name: string): Coro<void> {
        yield* lock.hold(function* () {
          log.push(`${name} in`);
          yield* sleep(1);
          log.push(`${name} out`);
        });
      }
      const tasks = ["a", "b", "c"].map((name) => createTask(worker(name)));
      for (const task of tasks) yield* task;
      assert.deepEqual(log, ["a in", "a out", "b in", "b out", "c in", "c out"]);
      assert.equal(getRunningLoop().time(), 3);
    }));

  it("hold(body) releases nothing when the acquire is cancelled", () =>
    runVirtual(function* () {
      const lock = new Lock();
      yield* lock.acquire();
      let ran = false;
      const task = createTask(
        lock.hold(function* () {
          ran = true;
        }),
      );
      yield* sleep(0);
      task.cancel();
      assert.ok((yield* thrownBy(task)) instanceof CancelledError);
      assert.equal(ran, false);
      assert.equal(lock.locked(), true);
    }));

  it("hold(body) rejects a body that is not a generator function", () =>
    runVirtual(function* () {
      const lock = new Lock();
      const notAFunction = 5 as unknown as () => Coro<void>;
      const error = yield* thrownBy(lock.hold(notAFunction));
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, "body must be a function, got 5");
      assert.equal(lock.locked(), false);
      const plain = (() => 5) as unknown as () => Coro<number>;
      const error2 = yield* thrownBy(lock.hold(plain));
      assert.ok(error2 instanceof TypeError);
      assert.equal(error2.message, "body must be a generator function, but it returned 5");
      assert.equal(lock.locked(), false);
    }));

  it("refuses to make a task wait on a loop other than the one it is bound to", async () => {
    const lock = new Lock();
    let holder: Task<true> | null = null;
    await runVirtual(function* () {
      yield* lock.acquire();
      holder = createTask(lock.acquire()); // binds the lock to this loop
      yield* sleep(0);
      holder.cancel();
      yield* thrownBy(holder);
    });
    assert.notEqual(holder, null);
    await runVirtual(function* () {
      // Still locked: acquire() must wait, on the wrong loop.
      const error = yield* thrownBy(lock.acquire());
      assert.ok(error instanceof RuntimeError);
      assert.equal(error.message, "<Lock [locked]> is bound to a different event loop");
      // The fast path needs no loop: release, then acquire works anywhere.
      lock.release();
      assert.equal(yield* lock.acquire(), true);
    });
  });

  it("throws CancelledError out of a cancelled waiting task and keeps the holder's lock", () =>
    runVirtual(function* () {
      const lock = new Lock();
      yield* lock.acquire();
      const task = createTask(lock.acquire());
      yield* sleep(0);
      task.cancel("stop");
      const error = yield* thrownBy(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "stop");
      assert.equal(String(lock), "<Lock [locked]>");
    }));
});
