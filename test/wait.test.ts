// Tests for wait() in src/wait.ts (waitFor has its own file). Ported from CPython's
// test_tasks.py (test_wait*, test_yield_wait_does_not_shield_cancel); every ordering and
// time was checked against CPython 3.13.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ALL_COMPLETED,
  CancelledError,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  Future,
  Task,
  createTask,
  getRunningLoop,
  sleep,
  wait,
  type Coro,
} from "../src/index.ts";
import { runVirtual } from "../src/testing.ts";
import { now, thrownBy } from "./helpers/coro.ts";
import { ZeroDivisionError } from "./helpers/errors.ts";

/** Assert that `error` is an instance of `cls` with exactly `message`. */
function assertError(error: unknown, cls: new (...args: never[]) => Error, message: string): void {
  assert.ok(error instanceof cls, `expected a ${cls.name}, got ${String(error)}`);
  assert.equal(error.message, message);
}

function* fail(delay: number, message: string): Coro<never> {
  yield* sleep(delay);
  throw new ZeroDivisionError(message);
}

describe("wait", () => {
  it("returns every Future as done once all are, with ALL_COMPLETED by default", () =>
    // asyncio: test_wait
    runVirtual(function* () {
      const a = createTask(sleep(0.1));
      const b = createTask(sleep(0.15));
      function* foo(): Coro<number> {
        const [done, pending] = yield* wait([b, a]);
        assert.deepEqual(done, new Set([a, b]));
        assert.deepEqual(pending, new Set());
        return 42;
      }
      assert.equal(yield* createTask(foo()), 42);
      assert.equal(now(), 0.15);
      // Doing it again takes no time and exercises a different path.
      assert.equal(yield* createTask(foo()), 42);
      assert.equal(now(), 0.15);
    }));

  it("returns two Sets", () =>
    runVirtual(function* () {
      const a = createTask(sleep(0.1, "a"));
      const result = yield* wait([a], { returnWhen: ALL_COMPLETED });
      assert.equal(result.length, 2);
      const [done, pending] = result;
      assert.ok(done instanceof Set);
      assert.ok(pending instanceof Set);
      // The Sets keep the element type: `result()` is a string here.
      assert.deepEqual(
        [...done].map((task) => task.result().toUpperCase()),
        ["A"],
      );
    }));

  it("counts a Task passed twice once", () =>
    // asyncio: test_wait_duplicate_coroutines
    runVirtual(function* () {
      function* coro(value: string): Coro<string> {
        yield* sleep(0);
        return value;
      }
      const c = createTask(coro("test"));
      const [done, pending] = yield* createTask(wait([c, c, createTask(coro("spam"))]));
      assert.equal(pending.size, 0);
      assert.equal(done.size, 2);
      assert.deepEqual(
        new Set([...done].map((future) => future.result())),
        new Set(["test", "spam"]),
      );
    }));

  it("throws RangeError for an empty iterable or an invalid returnWhen", () =>
    // asyncio: test_wait_errors
    runVirtual(function* () {
      assertError(
        yield* thrownBy(wait(new Set<Future<unknown>>())),
        RangeError,
        "Set of Tasks/Futures is empty.",
      );
      // asyncio: test_wait_invalid_args (wait([]))
      assertError(yield* thrownBy(wait([])), RangeError, "Set of Tasks/Futures is empty.");
      const sleeper = createTask(sleep(10));
      assertError(
        yield* thrownBy(wait([sleeper], { returnWhen: -1 as never })),
        RangeError,
        "Invalid return_when value: -1",
      );
      assertError(
        yield* thrownBy(wait([sleeper], { returnWhen: "first_completed" as never })),
        RangeError,
        "Invalid return_when value: 'first_completed'",
      );
      sleeper.cancel();
      yield* sleep(0);
    }));

  it("returns when the first Future completes with FIRST_COMPLETED", () =>
    // asyncio: test_wait_first_completed
    runVirtual(function* () {
      const a = createTask(sleep(10.0));
      const b = createTask(sleep(0.1));
      const task = createTask(wait([b, a], { returnWhen: FIRST_COMPLETED }));
      const [done, pending] = yield* task;
      assert.deepEqual(done, new Set([b]));
      assert.deepEqual(pending, new Set([a]));
      assert.equal(a.done(), false);
      assert.equal(b.done(), true);
      assert.equal(b.exception(), null);
      assert.equal(now(), 0.1);
      yield* wait([a, b]);
      assert.equal(now(), 10);
    }));

  it("counts a cancellation as a completion with FIRST_COMPLETED", () =>
    runVirtual(function* () {
      const a = createTask(sleep(1));
      const b = createTask(sleep(1));
      getRunningLoop().callLater(0.05, () => {
        a.cancel();
      });
      const [done, pending] = yield* wait([a, b], { returnWhen: FIRST_COMPLETED });
      assert.equal(now(), 0.05);
      assert.deepEqual(done, new Set([a]));
      assert.deepEqual(pending, new Set([b]));
      assert.equal(a.cancelled(), true);
      yield* wait([b]);
    }));

  it("puts every Future done by the time it returns in the done Set", () =>
    // asyncio: test_wait_really_done
    runVirtual(function* () {
      function* coro1(): Coro<void> {
        yield* sleep(0);
      }
      function* coro2(): Coro<void> {
        yield* sleep(0);
        yield* sleep(0);
      }
      const a = createTask(coro1());
      const b = createTask(coro2());
      const task = createTask(wait([b, a], { returnWhen: FIRST_COMPLETED }));
      const [done, pending] = yield* task;
      assert.deepEqual(done, new Set([a, b]));
      assert.equal(pending.size, 0);
      assert.equal(a.done(), true);
      assert.equal(a.exception(), null);
      assert.equal(b.done(), true);
      assert.equal(b.exception(), null);
    }));

  it("returns at once with FIRST_EXCEPTION when a Task has failed already", () =>
    // asyncio: test_wait_first_exception
    runVirtual(function* () {
      const a = createTask(sleep(10.0));
      function* exc(): Coro<never> {
        yield* sleep(0);
        throw new ZeroDivisionError("err");
      }
      const b = createTask(exc());
      const task = createTask(wait([b, a], { returnWhen: FIRST_EXCEPTION }));
      const [done, pending] = yield* task;
      assert.deepEqual(done, new Set([b]));
      assert.deepEqual(pending, new Set([a]));
      assert.equal(now(), 0);
      assertError(b.exception(), ZeroDivisionError, "err");
      yield* wait([a, b]);
    }));

  it("returns with FIRST_EXCEPTION when a Task fails while it waits", () =>
    // asyncio: test_wait_first_exception_in_wait
    runVirtual(function* () {
      const a = createTask(sleep(10.0));
      const b = createTask(fail(0.01, "err"));
      const [done, pending] = yield* wait([b, a], { returnWhen: FIRST_EXCEPTION });
      assert.deepEqual(done, new Set([b]));
      assert.deepEqual(pending, new Set([a]));
      assert.equal(now(), 0.01);
      b.exception();
      yield* wait([a, b]);
    }));

  it("does not count a cancellation as an exception with FIRST_EXCEPTION", () =>
    runVirtual(function* () {
      const a = createTask(sleep(1));
      const b = createTask(fail(0.1, "x"));
      const c = createTask(sleep(1));
      getRunningLoop().callLater(0.05, () => {
        a.cancel();
      });
      const [done, pending] = yield* wait([a, b, c], { returnWhen: FIRST_EXCEPTION });
      assert.equal(now(), 0.1);
      assert.deepEqual(done, new Set([a, b]));
      assert.deepEqual(pending, new Set([c]));
      b.exception();
      yield* wait([c]);
    }));

  it("waits for all with FIRST_EXCEPTION when nothing fails", () =>
    runVirtual(function* () {
      const a = createTask(sleep(0.1));
      const b = createTask(sleep(0.2));
      const [done, pending] = yield* wait([a, b], { returnWhen: FIRST_EXCEPTION });
      assert.equal(now(), 0.2);
      assert.deepEqual(done, new Set([a, b]));
      assert.equal(pending.size, 0);
    }));

  it("returns failed Tasks in the done Set without throwing", () =>
    // asyncio: test_wait_with_exception
    runVirtual(function* () {
      const a = createTask(sleep(0.1));
      const b = createTask(fail(0.15, "really"));
      function* foo(): Coro<void> {
        const [done, pending] = yield* wait([b, a]);
        assert.equal(done.size, 2);
        assert.equal(pending.size, 0);
        const errors = [...done].filter((future) => future.exception() !== null);
        assert.deepEqual(errors, [b]);
      }
      yield* createTask(foo());
      assert.equal(now(), 0.15);
      yield* createTask(foo());
      assert.equal(now(), 0.15);
    }));

  it("returns what is done when the timeout expires", () =>
    // asyncio: test_wait_with_timeout
    runVirtual(function* () {
      const a = createTask(sleep(0.1));
      const b = createTask(sleep(0.15));
      function* foo(): Coro<void> {
        const [done, pending] = yield* wait([b, a], { timeout: 0.11 });
        assert.deepEqual(done, new Set([a]));
        assert.deepEqual(pending, new Set([b]));
      }
      yield* createTask(foo());
      assert.equal(now(), 0.11);
      assert.equal(b.done(), false);
      yield* wait([a, b]);
      assert.equal(now(), 0.15);
    }));

  it("counts a Future done at the timeout's own time as done", () =>
    // asyncio: test_wait_concurrent_complete
    runVirtual(function* () {
      // The wait runs in a Task created after `a`: its timer comes after a's timer.
      const a = createTask(sleep(0.1));
      const b = createTask(sleep(0.15));
      const [done, pending] = yield* createTask(wait([b, a], { timeout: 0.1 }));
      assert.deepEqual(done, new Set([a]));
      assert.deepEqual(pending, new Set([b]));
      assert.equal(now(), 0.1);
      yield* wait([a, b]);
    }));

  it("counts a Future done after the timeout fires in the same iteration as pending", () =>
    runVirtual(function* () {
      // wait() sets its timer before `a` first runs and sets its own: the timeout fires first.
      const a = createTask(sleep(0.1));
      const b = createTask(sleep(0.15));
      const [done, pending] = yield* wait([b, a], { timeout: 0.1 });
      assert.equal(now(), 0.1);
      assert.equal(done.size, 0);
      assert.deepEqual(pending, new Set([a, b]));
      yield* wait([a, b]);
    }));

  it("returns after one iteration with a timeout of 0", () =>
    runVirtual(function* () {
      const a = createTask(sleep(0));
      const f = getRunningLoop().createFuture<undefined>();
      const [done, pending] = yield* wait([a, f], { timeout: 0 });
      assert.equal(now(), 0);
      assert.deepEqual(done, new Set([a]));
      assert.deepEqual(pending, new Set([f]));
      const [doneAgain] = yield* wait([a], { timeout: 0 });
      assert.deepEqual(doneAgain, new Set([a]));
      f.cancel();
    }));

  it("waits without a limit when the timeout is null", () =>
    runVirtual(function* () {
      const a = createTask(sleep(1000));
      const [done, pending] = yield* wait([a], { timeout: null });
      assert.equal(now(), 1000);
      assert.deepEqual(done, new Set([a]));
      assert.equal(pending.size, 0);
    }));

  it("cancels its timer when it returns early", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const a = createTask(sleep(0.1));
      yield* wait([a], { timeout: 60 });
      assert.equal(now(), 0.1);
      assert.equal(loop._stats().timers - loop._stats().cancelledTimers, 0);
    }));

  it("takes one more iteration when every Future is done already", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const a = loop.createFuture<number>();
      a.setResult(1);
      let ticks = 0;
      const tick = (): void => {
        ticks++;
        if (ticks < 10) loop.callSoon(tick);
      };
      loop.callSoon(tick);
      const [done] = yield* wait([a]);
      assert.deepEqual(done, new Set([a]));
      assert.equal(ticks, 2);
    }));

  it("accepts an iterator of Tasks", () =>
    // asyncio: test_wait_with_iterator_of_tasks
    runVirtual(function* () {
      const a = createTask(sleep(0.1));
      const b = createTask(sleep(0.15));
      function* foo(): Coro<number> {
        const [done, pending] = yield* wait([b, a].values());
        assert.deepEqual(done, new Set([a, b]));
        assert.equal(pending.size, 0);
        return 42;
      }
      assert.equal(yield* createTask(foo()), 42);
      assert.equal(now(), 0.15);
    }));

  it("accepts any iterable of Tasks, such as a Map's keys", () =>
    // asyncio: test_wait_generator
    runVirtual(function* () {
      function* func(value: number): Coro<number> {
        yield* sleep(0);
        return value;
      }
      const tasks = new Map<Task<number>, number>();
      for (let i = 0; i < 10; i++) tasks.set(createTask(func(i)), i);
      const [done, pending] = yield* wait(tasks.keys(), { returnWhen: ALL_COMPLETED });
      assert.equal(done.size, 10);
      assert.equal(pending.size, 0);
    }));

  it("throws TypeError for a single Future, a coroutine or a generator instead of an iterable", () =>
    // asyncio: test_wait_invalid_args
    runVirtual(function* () {
      const future = getRunningLoop().createFuture<number>();
      assertError(
        yield* thrownBy(wait(future as never)),
        TypeError,
        "expect an iterable of futures, not <Future pending>",
      );
      const coro = sleep(10);
      const error = yield* thrownBy(wait(coro as never));
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /^expect an iterable of futures, not /);
      // JavaScript cannot tell a generator from a coroutine: a generator of Tasks is
      // rejected too (asyncio accepts one).
      const task = createTask(sleep(0));
      function* generate(): Generator<Task<undefined>> {
        yield task;
      }
      const fromGenerator = yield* thrownBy(wait(generate() as never));
      assert.ok(fromGenerator instanceof TypeError);
      assertError(
        yield* thrownBy(wait(5 as never)),
        TypeError,
        "expect an iterable of futures, not 5",
      );
      future.cancel();
      yield* task;
    }));

  it("throws TypeError for coroutines in the iterable", () =>
    runVirtual(function* () {
      const coro = sleep(10);
      assertError(
        yield* thrownBy(wait([coro] as never)),
        TypeError,
        "Passing coroutines is forbidden, use tasks explicitly.",
      );
      const future = getRunningLoop().createFuture<number>();
      assertError(
        yield* thrownBy(wait([future, 5] as never)),
        TypeError,
        "expect an iterable of futures, got an item 5",
      );
      assert.equal(future.toString(), "<Future pending>");
      future.cancel();
    }));

  it("throws TypeError for a timeout that is not a number", () =>
    runVirtual(function* () {
      const future = getRunningLoop().createFuture<number>();
      assertError(
        yield* thrownBy(wait([future], { timeout: "1" as never })),
        TypeError,
        "timeout must be a number or null, got '1'",
      );
      assertError(
        yield* thrownBy(wait([future], { timeout: NaN })),
        TypeError,
        "timeout must be a number or null, got NaN",
      );
      future.cancel();
    }));

  it("checks its arguments only when awaited, as a coroutine", () =>
    runVirtual(function* () {
      const coro = wait(new Set<Future<unknown>>());
      assertError(yield* thrownBy(coro), RangeError, "Set of Tasks/Futures is empty.");
    }));

  it("leaves the Futures running, and removes its callbacks, when the waiting task is cancelled", () =>
    // asyncio: test_yield_wait_does_not_shield_cancel
    runVirtual(function* () {
      let proof = 0;
      const waiter = getRunningLoop().createFuture<undefined>();
      function* inner(): Coro<void> {
        yield* waiter;
        proof += 1;
      }
      const innerTask = createTask(inner());
      function* outer(): Coro<void> {
        yield* wait([innerTask]);
        proof += 100;
      }
      const f = createTask(outer());
      yield* sleep(0);
      assert.equal(f.cancel(), true);
      assert.ok((yield* thrownBy(f)) instanceof CancelledError);
      assert.equal(innerTask.done(), false);
      waiter.setResult(undefined);
      yield* sleep(0);
      assert.equal(proof, 1);
    }));

  it("removes its done-callbacks and its timer when the waiting task is cancelled", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const f1 = loop.createFuture<number>();
      const f2 = loop.createFuture<number>();
      const waiting = createTask(wait([f1, f2], { timeout: 5 }));
      yield* sleep(0);
      assert.equal(f1.toString(), "<Future pending cb=[onCompletion()]>");
      assert.equal(loop._stats().timers - loop._stats().cancelledTimers, 1);
      assert.equal(waiting.cancel(), true);
      assert.ok((yield* thrownBy(waiting)) instanceof CancelledError);
      assert.equal(f1.toString(), "<Future pending>");
      assert.equal(f2.toString(), "<Future pending>");
      assert.equal(f1.done(), false);
      assert.equal(loop._stats().timers - loop._stats().cancelledTimers, 0);
      assert.equal(now(), 0);
      f1.setResult(1);
      f2.setResult(2);
    }));
});
