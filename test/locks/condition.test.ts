// Tests for src/locks/condition.ts. Ported from CPython's test_locks.py (ConditionTests).
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
} from "../../src/index.ts";
import { Condition, Lock } from "../../src/locks/index.ts";
import { runVirtual } from "../../src/testing.ts";
import { thrownBy, timedOut } from "../helpers/coro.ts";

describe("Condition", () => {
  // asyncio: test_wait
  it("wakes notified waiters one release at a time, each re-acquiring the lock", () =>
    runVirtual(function* () {
      const cond = new Condition();
      const result: number[] = [];
      function* c(n: number): Coro<boolean> {
        yield* cond.acquire();
        assert.equal(yield* cond.wait(), true);
        result.push(n);
        return true;
      }
      const tasks = [createTask(c(1)), createTask(c(2)), createTask(c(3))];
      yield* sleep(0);
      assert.deepEqual(result, []);
      assert.equal(cond.locked(), false);

      assert.equal(yield* cond.acquire(), true);
      cond.notify();
      yield* sleep(0);
      assert.deepEqual(result, []);
      assert.equal(cond.locked(), true);

      cond.release();
      yield* sleep(0);
      assert.deepEqual(result, [1]);
      assert.equal(cond.locked(), true);

      cond.notify(2);
      yield* sleep(0);
      assert.deepEqual(result, [1]);
      assert.equal(cond.locked(), true);

      cond.release();
      yield* sleep(0);
      assert.deepEqual(result, [1, 2]);
      assert.equal(cond.locked(), true);

      cond.release();
      yield* sleep(0);
      assert.deepEqual(result, [1, 2, 3]);
      assert.equal(cond.locked(), true);
      for (const task of tasks) assert.equal(task.result(), true);
    }));

  // asyncio: test_wait_cancel
  it("holds the lock again when a wait is cancelled, and leaves no waiter", () =>
    runVirtual(function* () {
      const cond = new Condition();
      yield* cond.acquire();
      const wait = createTask(cond.wait());
      getRunningLoop().callSoon(() => wait.cancel());
      assert.ok((yield* thrownBy(wait)) instanceof CancelledError);
      assert.equal(String(cond), "<Condition [locked]>");
      assert.equal(cond.locked(), true);
    }));

  // asyncio: test_wait_cancel_contested
  it("ignores a cancellation that arrives after the notified waiter has the lock again", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const cond = new Condition();
      yield* cond.acquire();
      const waitTask = createTask(cond.wait());
      yield* sleep(0);
      assert.equal(cond.locked(), false);
      yield* cond.acquire();
      cond.notify();
      loop.callSoon(() => waitTask.cancel());
      loop.callSoon(() => {
        cond.release();
      });
      // As in asyncio: the waiter re-acquires the lock, then may see the cancellation.
      try {
        yield* waitTask;
      } catch (error) {
        if (!(error instanceof CancelledError)) throw error;
      }
      assert.equal(cond.locked(), true);
    }));

  // asyncio: test_wait_cancel_after_notify
  it("delivers a cancellation that arrives while re-acquiring after the lock is free", () =>
    runVirtual(function* () {
      let waited = false;
      const cond = new Condition();
      const waiter = createTask(
        cond.hold(function* () {
          waited = true;
          yield* cond.wait();
        }),
      );
      yield* sleep(0);
      yield* cond.acquire();
      cond.notify();
      yield* sleep(0); // the waiter now waits to re-acquire
      waiter.cancel();
      yield* sleep(0);
      cond.release();
      yield* sleep(0);
      assert.equal(waiter.cancelled(), true);
      assert.equal(waited, true);
      assert.equal(cond.locked(), false);
    }));

  // asyncio: test_wait_unacquired
  it("throws RuntimeError from wait() without the lock", () =>
    runVirtual(function* () {
      const cond = new Condition();
      const error = yield* thrownBy(cond.wait());
      assert.ok(error instanceof RuntimeError);
      assert.equal(error.message, "cannot wait on un-acquired lock");
    }));

  // asyncio: test_wait_for
  it("waitFor() waits until the predicate holds", () =>
    runVirtual(function* () {
      const cond = new Condition();
      let presult = false;
      const result: number[] = [];
      const task = createTask(
        (function* (): Coro<boolean> {
          yield* cond.acquire();
          assert.equal(yield* cond.waitFor(() => presult), true);
          result.push(1);
          cond.release();
          return true;
        })(),
      );
      yield* sleep(0);
      assert.deepEqual(result, []);
      yield* cond.acquire();
      cond.notify();
      cond.release();
      yield* sleep(0);
      assert.deepEqual(result, []);
      presult = true;
      yield* cond.acquire();
      cond.notify();
      cond.release();
      yield* sleep(0);
      assert.deepEqual(result, [1]);
      assert.equal(task.result(), true);
    }));

  // asyncio: test_wait_for_unacquired
  it("waitFor() returns a predicate that already holds without the lock", () =>
    runVirtual(function* () {
      const cond = new Condition();
      assert.deepEqual(yield* cond.waitFor(() => [1, 2, 3]), [1, 2, 3]);
      const error = yield* thrownBy(cond.waitFor(() => false));
      assert.ok(error instanceof RuntimeError);
      assert.equal(error.message, "cannot wait on un-acquired lock");
    }));

  it("waitFor() rejects a predicate that is not a function", () =>
    runVirtual(function* () {
      const cond = new Condition();
      const error = yield* thrownBy(cond.waitFor(true as unknown as () => boolean));
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, "predicate must be a function, got true");
    }));

  // asyncio: test_notify
  it("notify(n) wakes at most n waiters, oldest first", () =>
    runVirtual(function* () {
      const cond = new Condition();
      const result: number[] = [];
      function* c(n: number): Coro<boolean> {
        yield* cond.acquire();
        assert.equal(yield* cond.wait(), true);
        result.push(n);
        cond.release();
        return true;
      }
      const tasks = [createTask(c(1)), createTask(c(2)), createTask(c(3))];
      yield* sleep(0);
      assert.deepEqual(result, []);
      yield* cond.acquire();
      cond.notify(1);
      cond.release();
      yield* sleep(0);
      assert.deepEqual(result, [1]);
      yield* cond.acquire();
      cond.notify(1);
      cond.notify(2048);
      cond.release();
      yield* sleep(0);
      assert.deepEqual(result, [1, 2, 3]);
      for (const task of tasks) assert.equal(task.result(), true);
    }));

  it("notify(0) wakes nobody", () =>
    runVirtual(function* () {
      const cond = new Condition();
      const waiter = createTask(cond.hold(() => cond.wait()));
      yield* sleep(0);
      yield* cond.acquire();
      cond.notify(0);
      cond.release();
      yield* sleep(0);
      assert.equal(String(cond), "<Condition [unlocked, waiters:1]>");
      yield* cond.acquire();
      cond.notifyAll();
      cond.release();
      assert.equal(yield* waiter, true);
    }));

  it("notify(n) rejects a negative or fractional n", () =>
    runVirtual(function* () {
      const cond = new Condition();
      yield* cond.acquire();
      assert.throws(
        () => {
          cond.notify(-1);
        },
        {
          name: "RangeError",
          message: "n must be >= 0, got -1",
        },
      );
      assert.throws(
        () => {
          cond.notify(1.5);
        },
        {
          name: "TypeError",
          message: "n must be an integer, got 1.5",
        },
      );
    }));

  // asyncio: test_notify_all
  it("notifyAll() wakes every waiter", () =>
    runVirtual(function* () {
      const cond = new Condition();
      const result: number[] = [];
      function* c(n: number): Coro<boolean> {
        yield* cond.acquire();
        assert.equal(yield* cond.wait(), true);
        result.push(n);
        cond.release();
        return true;
      }
      const tasks = [createTask(c(1)), createTask(c(2))];
      yield* sleep(0);
      assert.deepEqual(result, []);
      yield* cond.acquire();
      cond.notifyAll();
      cond.release();
      yield* sleep(0);
      assert.deepEqual(result, [1, 2]);
      for (const task of tasks) assert.equal(task.result(), true);
    }));

  // asyncio: test_notify_unacquired, test_notify_all_unacquired
  it("throws RuntimeError from notify() and notifyAll() without the lock", () => {
    const cond = new Condition();
    const expected = { name: "RuntimeError", message: "cannot notify on un-acquired lock" };
    assert.throws(() => {
      cond.notify();
    }, expected);
    assert.throws(() => {
      cond.notifyAll();
    }, expected);
  });

  // asyncio: test_repr
  it("shows the lock's state and the waiter count in its repr", () =>
    runVirtual(function* () {
      const cond = new Condition();
      assert.equal(String(cond), "<Condition [unlocked]>");
      assert.equal(inspect(cond), "<Condition [unlocked]>");
      yield* cond.acquire();
      assert.equal(String(cond), "<Condition [locked]>");
      cond.release();
      const waiters = [createTask(cond.hold(() => cond.wait()))];
      yield* sleep(0);
      yield* cond.acquire();
      assert.equal(String(cond), "<Condition [locked, waiters:1]>");
      cond.release();
      waiters.push(createTask(cond.hold(() => cond.wait())));
      yield* sleep(0);
      yield* cond.acquire();
      assert.equal(String(cond), "<Condition [locked, waiters:2]>");
      cond.notifyAll();
      assert.equal(String(cond), "<Condition [locked, waiters:2]>");
      cond.release();
      for (const task of waiters) yield* task;
      assert.equal(String(cond), "<Condition [unlocked]>");
    }));

  // asyncio: test_context_manager
  it("hold() holds the underlying lock for a using block or a body", () =>
    runVirtual(function* () {
      const cond = new Condition();
      assert.equal(cond.locked(), false);
      {
        using _held = yield* cond.hold();
        assert.equal(cond.locked(), true);
      }
      assert.equal(cond.locked(), false);
      const result = yield* cond.hold(function* () {
        assert.equal(cond.locked(), true);
        return "body";
      });
      assert.equal(result, "body");
      assert.equal(cond.locked(), false);
    }));

  // asyncio: test_explicit_lock
  it("shares the state of an explicit Lock", () =>
    runVirtual(function* () {
      function* f(lock?: Lock, cond?: Condition): Coro<void> {
        const theLock = lock ?? new Lock();
        const theCond = cond ?? new Condition(theLock);
        assert.equal(theLock.locked(), false);
        assert.equal(theCond.locked(), false);
        yield* theCond.hold(function* () {
          assert.equal(theLock.locked(), true);
          assert.equal(theCond.locked(), true);
        });
        assert.equal(theLock.locked(), false);
        assert.equal(theCond.locked(), false);
        yield* theLock.hold(function* () {
          assert.equal(theLock.locked(), true);
          assert.equal(theCond.locked(), true);
        });
        assert.equal(theLock.locked(), false);
        assert.equal(theCond.locked(), false);
      }
      yield* f();
      yield* f(new Lock());
      const lock = new Lock();
      yield* f(lock, new Condition(lock));
    }));

  it("rejects a lock that is not a Lock", () => {
    assert.throws(() => new Condition("lock" as unknown as Lock), {
      name: "TypeError",
      message: "lock must be a Lock, got 'lock'",
    });
  });

  // asyncio: test_ambiguous_loops (wrong_loop_in_lock)
  it("rejects at construction a Lock bound to a different loop", async () => {
    const lock = new Lock();
    await runVirtual(function* () {
      yield* lock.acquire();
      const waiter = createTask(lock.acquire()); // binds the lock to this loop
      yield* sleep(0);
      waiter.cancel();
      yield* thrownBy(waiter);
      lock.release();
    });
    await runVirtual(function* () {
      yield* lock.hold(function* () {
        assert.throws(() => new Condition(lock), {
          name: "RuntimeError",
          message: "<Lock [locked]> is bound to a different event loop",
        });
      });
    });
  });

  // asyncio: test_ambiguous_loops (wrong_loop_in_cond)
  it("refuses wait() on a loop other than its own, keeping the lock held", async () => {
    const cond = new Condition();
    await runVirtual(function* () {
      const waiter = createTask(cond.hold(() => cond.wait())); // binds the condition
      yield* sleep(0);
      yield* cond.hold(function* () {
        cond.notify();
      });
      yield* waiter;
    });
    await runVirtual(function* () {
      yield* cond.acquire(); // the fast path needs no loop
      const error = yield* thrownBy(cond.wait());
      assert.ok(error instanceof RuntimeError);
      assert.equal(error.message, "<Condition [locked]> is bound to a different event loop");
      assert.equal(cond.locked(), true);
      cond.release();
    });
  });

  // asyncio: test_timeout_in_block
  it("holds the lock again after a wait cut short by a timeout", () =>
    runVirtual(function* () {
      const cond = new Condition();
      yield* cond.hold(function* () {
        assert.equal(yield* timedOut(0.5, cond.wait()), true);
        assert.equal(cond.locked(), true);
      });
      assert.equal(getRunningLoop().time(), 0.5);
    }));

  // asyncio: test_cancelled_error_wakeup
  it("rethrows the very CancelledError received while waiting for the notification", () =>
    runVirtual(function* () {
      const wake = false;
      let raised: unknown = null;
      const cond = new Condition();
      const task = createTask(
        cond.hold(function* () {
          raised = yield* thrownBy(cond.waitFor(() => wake));
          assert.equal(cond.locked(), true);
          throw raised;
        }),
      );
      yield* sleep(0);
      task.cancel("foo");
      const error = yield* thrownBy(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "foo");
      assert.equal(error, raised);
    }));

  // asyncio: test_cancelled_error_re_aquire
  it("rethrows the very CancelledError received while re-acquiring the lock", () =>
    runVirtual(function* () {
      let wake = false;
      let raised: unknown = null;
      const cond = new Condition();
      const task = createTask(
        cond.hold(function* () {
          raised = yield* thrownBy(cond.waitFor(() => wake));
          assert.equal(cond.locked(), true);
          throw raised;
        }),
      );
      yield* sleep(0);
      yield* cond.acquire();
      wake = true;
      cond.notify();
      yield* sleep(0); // the task now waits to re-acquire the lock
      task.cancel("foo");
      cond.release();
      const error = yield* thrownBy(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "foo");
      assert.equal(error, raised);
    }));

  function* consumers(
    cond: Condition,
    state: { value: number },
  ): Coro<[ReturnType<typeof createTask<void>>, ReturnType<typeof createTask<void>>]> {
    function* consumer(): Coro<void> {
      yield* cond.hold(function* () {
        for (;;) {
          yield* cond.waitFor(() => state.value !== 0);
          if (state.value < 0) return;
          state.value -= 1;
        }
      });
    }
    const tasks: [ReturnType<typeof createTask<void>>, ReturnType<typeof createTask<void>>] = [
      createTask(consumer()),
      createTask(consumer()),
    ];
    yield* sleep(0);
    return tasks;
  }

  // asyncio: test_cancelled_wakeup
  it("passes a notification on when the notified waiter is cancelled before it runs", () =>
    runVirtual(function* () {
      const cond = new Condition();
      const state = { value: 0 };
      const [c0, c1] = yield* consumers(cond, state);
      yield* cond.hold(function* () {
        state.value += 1;
        cond.notify(1);
        c0.cancel(); // cancelled while waiting to run
        yield* timedOut(
          0.01,
          cond.waitFor(() => state.value === 0),
        );
        assert.equal(state.value, 0);
        state.value = -1;
        cond.notifyAll();
      });
      yield* c1;
      assert.ok((yield* thrownBy(c0)) instanceof CancelledError);
    }));

  // asyncio: test_cancelled_wakeup_relock
  it("passes a notification on when the notified waiter is cancelled while re-acquiring", () =>
    runVirtual(function* () {
      const cond = new Condition();
      const state = { value: 0 };
      const [c0, c1] = yield* consumers(cond, state);
      yield* cond.hold(function* () {
        state.value += 1;
        cond.notify(1);
        yield* sleep(0); // c0 wakes and waits for the lock
        c0.cancel();
        yield* timedOut(
          0.01,
          cond.waitFor(() => state.value === 0),
        );
        assert.equal(state.value, 0);
        state.value = -1;
        cond.notifyAll();
      });
      yield* c1;
      assert.ok((yield* thrownBy(c0)) instanceof CancelledError);
    }));

  it("wakes another waiter (spuriously) when a wait() ends with an error", () =>
    runVirtual(function* () {
      const cond = new Condition();
      const log: string[] = [];
      function* waiter(name: string): Coro<void> {
        yield* cond.hold(function* () {
          try {
            yield* cond.wait();
            log.push(`${name} woke`);
          } catch (error) {
            log.push(`${name} ${(error as Error).message} locked=${cond.locked()}`);
          }
        });
      }
      const first = createTask(waiter("first"));
      const second = createTask(waiter("second"));
      yield* sleep(0);
      first.cancel("gone");
      yield* first;
      yield* second;
      assert.deepEqual(log, ["first gone locked=true", "second woke"]);
    }));
});
