// Tests for src/gather.ts. Ported from CPython's test_tasks.py (GatherTestsBase,
// FutureGatherTests, CoroutineGatherTests, test_cancel_gather_*, test_shield_gather
// neighbours); every ordering and time was checked against CPython 3.13.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CancelledError,
  Future,
  RuntimeError,
  createTask,
  gather,
  getRunningLoop,
  sleep,
  taskGroup,
  type Coro,
} from "../src/index.ts";
import { VirtualEventLoop, runVirtual } from "../src/testing.ts";
import { reportsAfterCollecting } from "./helpers/capture.ts";
import { now, thrownBy } from "./helpers/coro.ts";
import { ZeroDivisionError, caught } from "./helpers/errors.ts";

/** Give the loop a few iterations: enough for every callback already scheduled to run. */
function* runBriefly(iterations = 3): Coro<void> {
  for (let i = 0; i < iterations; i++) yield* sleep(0);
}

/** A tuple of `N` Futures: `Futures<3>` is `[Future<number>, Future<number>, Future<number>]`. */
type Futures<N extends number, Made extends Future<number>[] = []> = Made["length"] extends N
  ? Made
  : Futures<N, [...Made, Future<number>]>;

/** `count` pending Futures of the running loop, as a tuple to destructure. */
function futures<N extends number>(count: N): Futures<N> {
  const made = Array.from({ length: count }, () => getRunningLoop().createFuture<number>());
  return made as Futures<N>;
}

/** A coroutine that returns what `future` gives (CoroutineGatherTests.wrap_futures). */
function* awaitFuture<T>(future: Future<T>): Coro<T> {
  return yield* future;
}

/** A done-callback that records each call. */
function recorder(): { calls: unknown[]; callback: (future: unknown) => void } {
  const calls: unknown[] = [];
  return {
    calls,
    callback: (future) => {
      calls.push(future);
    },
  };
}

describe("gather", () => {
  it("gives the results in argument order once every Future is done", () =>
    // asyncio: test_success (FutureGatherTests)
    runVirtual(function* () {
      const [a, b, c] = futures(3);
      const outer = gather(a, b, c);
      const cb = recorder();
      outer.addDoneCallback(cb.callback);
      b.setResult(1);
      a.setResult(2);
      yield* runBriefly();
      assert.deepEqual(cb.calls, []);
      assert.equal(outer.done(), false);
      c.setResult(3);
      yield* runBriefly();
      assert.deepEqual(cb.calls, [outer]);
      assert.deepEqual(outer.result(), [2, 1, 3]);
    }));

  it("gives the results in argument order for the list form, with or without returnExceptions", () =>
    // asyncio: test_success (return_exceptions=False)
    // asyncio: test_result_exception_success
    runVirtual(function* () {
      for (const returnExceptions of [false, true]) {
        const [a, b, c] = futures(3);
        const outer = gather([a, b, c], { returnExceptions });
        const cb = recorder();
        outer.addDoneCallback(cb.callback);
        b.setResult(1);
        a.setResult(2);
        yield* runBriefly();
        assert.equal(outer.done(), false);
        c.setResult(3);
        yield* runBriefly();
        assert.deepEqual(cb.calls, [outer]);
        assert.deepEqual(outer.result(), [2, 1, 3]);
      }
    }));

  it("gives the results in argument order for coroutines", () =>
    // asyncio: test_success (CoroutineGatherTests)
    runVirtual(function* () {
      const [a, b, c] = futures(3);
      const outer = gather(awaitFuture(a), awaitFuture(b), awaitFuture(c));
      const cb = recorder();
      outer.addDoneCallback(cb.callback);
      b.setResult(1);
      a.setResult(2);
      yield* runBriefly();
      assert.deepEqual(cb.calls, []);
      c.setResult(3);
      yield* runBriefly();
      assert.deepEqual(cb.calls, [outer]);
      assert.deepEqual(outer.result(), [2, 1, 3]);
    }));

  it("has the tuple type of its arguments' results", () =>
    runVirtual(function* () {
      function* name(): Coro<string> {
        yield* sleep(0.2);
        return "ham";
      }
      const future = getRunningLoop().createFuture<boolean>();
      getRunningLoop().callLater(0.1, () => {
        future.setResult(true);
      });
      const task = createTask(sleep(0.3, 7));
      const [text, flag, count] = yield* gather(name(), future, task);
      // Each element keeps its own type: these lines would not compile otherwise.
      const result: [string, boolean, number] = [text.toUpperCase(), !flag, count + 1];
      assert.deepEqual(result, ["HAM", false, 8]);
      assert.equal(now(), 0.3);
    }));

  it("runs the coroutines concurrently, each in a Task", () =>
    runVirtual(function* () {
      const log: string[] = [];
      function* child(name: string, delay: number): Coro<string> {
        log.push(`${name} starts at ${now()}`);
        yield* sleep(delay);
        log.push(`${name} ends at ${now()}`);
        return name;
      }
      const outer = gather(child("a", 0.2), child("b", 0.1));
      assert.deepEqual(log, []);
      assert.deepEqual(yield* outer, ["a", "b"]);
      assert.deepEqual(log, ["a starts at 0", "b starts at 0", "b ends at 0.1", "a ends at 0.2"]);
      assert.equal(now(), 0.2);
    }));

  it("accepts a Set in the list form, in its iteration order", () =>
    runVirtual(function* () {
      const outer = gather(new Set([sleep(0.2, "slow"), sleep(0.1, "fast")]));
      assert.deepEqual(yield* outer, ["slow", "fast"]);
      assert.equal(now(), 0.2);
    }));

  it("fails with the first error at once while the other children keep running", () =>
    runVirtual(function* () {
      const log: string[] = [];
      function* child(name: string, delay: number, fail: boolean): Coro<string> {
        yield* sleep(delay);
        log.push(`${name} ends at ${now()}`);
        if (fail) throw new ZeroDivisionError(name);
        return name;
      }
      const a = createTask(child("a", 0.1, false));
      const b = createTask(child("b", 0.05, true));
      const c = createTask(child("c", 0.2, true));
      const error = yield* thrownBy(gather(a, b, c));
      log.push(`gather fails at ${now()}`);
      assert.ok(error instanceof ZeroDivisionError);
      assert.equal(error, b.exception());
      assert.equal(a.done(), false);
      assert.equal(c.done(), false);
      yield* sleep(0.2);
      assert.equal(a.result(), "a");
      assert.deepEqual(log, [
        "b ends at 0.05",
        "gather fails at 0.05",
        "a ends at 0.1",
        "c ends at 0.2",
      ]);
    }));

  it("fails with the error of the first child to fail and ignores what the others do later", () =>
    // asyncio: test_one_exception (FutureGatherTests)
    runVirtual(function* () {
      const [a, b, c, d, e] = futures(5);
      const outer = gather(a, b, c, d, e);
      const cb = recorder();
      outer.addDoneCallback(cb.callback);
      const error = new ZeroDivisionError();
      a.setResult(1);
      b.setException(error);
      yield* runBriefly();
      assert.equal(outer.done(), true);
      assert.deepEqual(cb.calls, [outer]);
      assert.equal(outer.exception(), error);
      // Does nothing:
      c.setResult(3);
      d.cancel();
      e.setException(new RuntimeError());
      e.exception();
      yield* runBriefly();
      assert.deepEqual(cb.calls, [outer]);
      assert.equal(outer.exception(), error);
    }));

  it("fails with the error of the first coroutine to fail", () =>
    // asyncio: test_one_exception (CoroutineGatherTests)
    runVirtual(function* () {
      const [a, b, c, d, e] = futures(5);
      const outer = gather(
        awaitFuture(a),
        awaitFuture(b),
        awaitFuture(c),
        awaitFuture(d),
        awaitFuture(e),
      );
      const cb = recorder();
      outer.addDoneCallback(cb.callback);
      const error = new ZeroDivisionError();
      a.setResult(1);
      b.setException(error);
      yield* runBriefly();
      assert.deepEqual(cb.calls, [outer]);
      assert.equal(outer.exception(), error);
      c.setResult(3);
      d.cancel();
      e.setException(new RuntimeError());
      e.exception();
      yield* runBriefly();
      assert.deepEqual(cb.calls, [outer]);
    }));

  it("marks the errors of children that fail after the gather is done as retrieved", async () => {
    // asyncio: test_exception_marking
    const reports = await reportsAfterCollecting(function* () {
      const a = getRunningLoop().createFuture<undefined>();
      const b = getRunningLoop().createFuture<undefined>();
      function* inner(future: Future<undefined>): Coro<never> {
        yield* future;
        throw new RuntimeError("should not be ignored");
      }
      function* outer(): Coro<void> {
        yield* gather(inner(a), inner(b));
      }
      const task = createTask(outer());
      yield* sleep(0);
      a.setResult(undefined);
      yield* sleep(0);
      b.setResult(undefined);
      yield* runBriefly();
      const error = task.exception();
      assert.ok(error instanceof RuntimeError);
      assert.equal(error.message, "should not be ignored");
    });
    assert.deepEqual(reports, []);
  });

  it("collects results and errors in argument order with returnExceptions", () =>
    // asyncio: test_return_exceptions (FutureGatherTests)
    runVirtual(function* () {
      const [a, b, c, d] = futures(4);
      const outer = gather([a, b, c, d], { returnExceptions: true });
      const cb = recorder();
      outer.addDoneCallback(cb.callback);
      const error = new ZeroDivisionError();
      const error2 = new RuntimeError();
      b.setResult(1);
      c.setException(error);
      a.setResult(3);
      yield* runBriefly();
      assert.equal(outer.done(), false);
      d.setException(error2);
      yield* runBriefly();
      assert.deepEqual(cb.calls, [outer]);
      const results = outer.result();
      assert.deepEqual(results, [3, 1, error, error2]);
      assert.equal(results[2], error);
      assert.equal(results[3], error2);
    }));

  it("collects the errors of coroutines in argument order with returnExceptions", () =>
    // asyncio: test_return_exceptions (CoroutineGatherTests)
    runVirtual(function* () {
      const [a, b, c, d] = futures(4);
      const outer = gather([a, b, c, d].map(awaitFuture), { returnExceptions: true });
      const error = new ZeroDivisionError();
      const error2 = new RuntimeError();
      b.setResult(1);
      c.setException(error);
      a.setResult(3);
      yield* runBriefly();
      assert.equal(outer.done(), false);
      d.setException(error2);
      const results = yield* outer;
      assert.equal(results[2], error);
      assert.equal(results[3], error2);
      assert.deepEqual(results.slice(0, 2), [3, 1]);
    }));

  it("fails with a CancelledError, without being cancelled, when a child is cancelled", () =>
    // asyncio: test_one_cancellation
    runVirtual(function* () {
      const [a, b, c, d, e] = futures(5);
      const outer = gather(a, b, c, d, e);
      const cb = recorder();
      outer.addDoneCallback(cb.callback);
      a.setResult(1);
      b.cancel();
      yield* runBriefly();
      assert.equal(outer.done(), true);
      assert.deepEqual(cb.calls, [outer]);
      assert.equal(outer.cancelled(), false);
      const error = outer.exception();
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "");
      assert.equal(String(outer), "<Future finished exception=CancelledError()>");
      // Does nothing:
      c.setResult(3);
      d.cancel();
      e.setException(new RuntimeError());
      e.exception();
      yield* runBriefly();
      assert.deepEqual(cb.calls, [outer]);
    }));

  it("fails with the child's cancel message when a child Task is cancelled", () =>
    runVirtual(function* () {
      const slow = createTask(sleep(1, "slow"));
      const victim = createTask(sleep(1, "victim"));
      const outer = gather(slow, victim);
      getRunningLoop().callLater(0.1, () => {
        victim.cancel("stop it");
      });
      const error = yield* thrownBy(outer);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "stop it");
      assert.equal(now(), 0.1);
      assert.equal(outer.cancelled(), false);
      assert.equal(outer.exception(), error);
      assert.equal(slow.done(), false);
      assert.equal(yield* slow, "slow");
      assert.equal(now(), 1);
    }));

  it("collects CancelledErrors of cancelled children with returnExceptions", () =>
    // asyncio: test_result_exception_one_cancellation
    runVirtual(function* () {
      const [a, b, c, d, e, f] = futures(6);
      const outer = gather([a, b, c, d, e, f], { returnExceptions: true });
      const cb = recorder();
      outer.addDoneCallback(cb.callback);
      a.setResult(1);
      const zde = new ZeroDivisionError();
      b.setException(zde);
      c.cancel();
      yield* runBriefly();
      assert.equal(outer.done(), false);
      d.setResult(3);
      e.cancel("with a message");
      const rte = new RuntimeError();
      f.setException(rte);
      const results = yield* outer;
      assert.equal(results.length, 6);
      const [r0, r1, r2, r3, r4, r5] = results;
      assert.equal(r0, 1);
      assert.equal(r1, zde);
      assert.ok(r2 instanceof CancelledError);
      assert.equal(r2.message, "");
      assert.equal(r3, 3);
      assert.ok(r4 instanceof CancelledError);
      assert.equal(r4.message, "with a message");
      assert.equal(r5, rte);
      assert.deepEqual(cb.calls, [outer]);
    }));

  it("collects a CancelledError without the cancel message for a cancelled Task", () =>
    runVirtual(function* () {
      // As asyncio: a Task that ends cancelled keeps no cancel message (Future.cancel() is
      // called without one); only the error it ended with carries it, and reading the
      // Task's result uses that error up.
      const task = createTask(sleep(10));
      const outer = gather([task], { returnExceptions: true });
      yield* sleep(0);
      task.cancel("own");
      const [entry] = yield* outer;
      assert.ok(entry instanceof CancelledError);
      assert.equal(entry.message, "");
      const first = caught(() => {
        task.result();
      });
      assert.ok(first instanceof CancelledError);
      assert.equal(first.message, "own");
      const second = caught(() => {
        task.result();
      });
      assert.ok(second instanceof CancelledError);
      assert.equal(second.message, "");
    }));

  it("returns a done Future of [] on the running loop when given nothing", () =>
    // asyncio: test_constructor_empty_sequence_use_running_loop
    runVirtual(function* () {
      const outer = gather();
      assert.ok(outer instanceof Future);
      assert.equal(outer.getLoop(), getRunningLoop());
      assert.equal(outer.done(), true);
      assert.deepEqual(outer.result(), []);
      const fromList = gather([]);
      assert.equal(fromList.done(), true);
      assert.deepEqual(fromList.result(), []);
      assert.deepEqual(yield* gather(new Set()), []);
    }));

  it("throws RuntimeError when given nothing outside a running loop", () => {
    // asyncio: test_constructor_empty_sequence_without_loop
    const error = caught(() => gather());
    assert.ok(error instanceof RuntimeError);
    assert.equal(error.message, "no running event loop");
  });

  it("throws RuntimeError for coroutines outside a running loop", () => {
    // asyncio: test_constructor_without_loop
    const first = sleep(0, "abc");
    const second = sleep(0, "abc");
    const error = caught(() => gather(first, second));
    assert.ok(error instanceof RuntimeError);
    assert.equal(error.message, "no running event loop");
  });

  it("throws RangeError for Futures of different loops", () => {
    // asyncio: test_constructor_heterogenous_futures
    const oneLoop = new VirtualEventLoop();
    const otherLoop = new VirtualEventLoop();
    const error = caught(() => gather(oneLoop.createFuture(), otherLoop.createFuture()));
    assert.ok(error instanceof RangeError);
    assert.equal(
      error.message,
      "The future belongs to a different loop than the one specified as the loop argument",
    );
    oneLoop.close();
    otherLoop.close();
  });

  it("binds to the loop of its Futures, even when that loop is not running", async () => {
    // asyncio: test_constructor_homogenous_futures
    const otherLoop = new VirtualEventLoop();
    const children = [otherLoop.createFuture(), otherLoop.createFuture(), otherLoop.createFuture()];
    const outer = gather(...children);
    assert.equal(outer.getLoop(), otherLoop);
    await otherLoop.runUntilComplete(sleep(0));
    assert.equal(outer.done(), false);
    const again = gather(...children);
    assert.equal(again.getLoop(), otherLoop);
    children.forEach((child, i) => {
      child.setResult(i);
    });
    assert.deepEqual(await otherLoop.runUntilComplete(again), [0, 1, 2]);
    assert.deepEqual(outer.result(), [0, 1, 2]);
    otherLoop.close();
  });

  it("wraps coroutines in Tasks of the running loop", () =>
    // asyncio: test_constructor_use_running_loop
    runVirtual(function* () {
      const outer = gather(sleep(0, "abc"), sleep(0, "abc"));
      assert.equal(outer.getLoop(), getRunningLoop());
      assert.deepEqual(yield* outer, ["abc", "abc"]);
    }));

  it("runs an awaitable passed twice once and gives its result twice", () =>
    // asyncio: test_duplicate_coroutines
    runVirtual(function* () {
      let runs = 0;
      function* coro(value: string): Coro<string> {
        runs++;
        yield* sleep(0);
        return value;
      }
      const c = coro("abc");
      const outer = gather(c, c, coro("def"), c);
      yield* runBriefly();
      assert.deepEqual(outer.result(), ["abc", "abc", "def", "abc"]);
      assert.equal(runs, 2);
    }));

  it("counts a Future passed twice once", () =>
    runVirtual(function* () {
      const [a, b] = futures(2);
      const outer = gather(a, b, a);
      a.setResult(1);
      yield* runBriefly();
      assert.equal(outer.done(), false);
      b.setResult(2);
      assert.deepEqual(yield* outer, [1, 2, 1]);
    }));

  it("completes before it returns when every child is done already", () =>
    runVirtual(function* () {
      const [a, b] = futures(2);
      a.setResult(1);
      b.setResult(2);
      const outer = gather(a, b, a);
      assert.equal(outer.done(), true);
      assert.deepEqual(outer.result(), [1, 2, 1]);

      const failed = getRunningLoop().createFuture<number>();
      const error = new ZeroDivisionError();
      failed.setException(error);
      const failing = gather(a, failed);
      assert.equal(failing.done(), true);
      assert.equal(failing.exception(), error);

      const cancelled = getRunningLoop().createFuture<number>();
      cancelled.cancel("gone");
      const collected = gather([a, failed, cancelled], { returnExceptions: true });
      assert.equal(collected.done(), true);
      const [r0, r1, r2] = collected.result();
      assert.equal(r0, 1);
      assert.equal(r1, error);
      assert.ok(r2 instanceof CancelledError);
      assert.equal(r2.message, "gone");
      yield* sleep(0);
    }));

  it("cancels its children when the task awaiting it is cancelled", () =>
    // asyncio: test_cancellation_broadcast
    runVirtual(function* () {
      let proof = 0;
      const waiter = getRunningLoop().createFuture<undefined>();
      function* inner(): Coro<void> {
        yield* waiter;
        proof += 1;
      }
      const child1 = createTask(inner());
      const child2 = createTask(inner());
      let gatherer: Future<unknown> | null = null;
      function* outer(): Coro<void> {
        gatherer = gather(child1, child2);
        yield* gatherer;
        proof += 100;
      }
      const f = createTask(outer());
      yield* sleep(0);
      assert.equal(f.cancel(), true);
      const error = yield* thrownBy(f);
      assert.ok(error instanceof CancelledError);
      assert.equal(f.cancelled(), true);
      assert.equal((gatherer as Future<unknown> | null)?.cancel(), false);
      assert.equal(waiter.cancelled(), true);
      assert.equal(child1.cancelled(), true);
      assert.equal(child2.cancelled(), true);
      yield* sleep(0);
      assert.equal(proof, 0);
    }));

  it("cancels its children and fails with CancelledError when cancelled, even with returnExceptions", () =>
    runVirtual(function* () {
      for (const returnExceptions of [false, true]) {
        const log: string[] = [];
        function* child(name: string): Coro<string> {
          try {
            yield* sleep(1);
          } catch (error) {
            log.push(`${name} cancelled at ${now()}`);
            throw error;
          }
          return name;
        }
        const a = createTask(child("a"));
        const b = createTask(child("b"));
        const outer = gather([a, b], { returnExceptions });
        const start = now();
        yield* sleep(0.1);
        assert.equal(outer.cancel("enough"), true);
        assert.equal(outer.done(), false);
        const error = yield* thrownBy(outer);
        assert.ok(error instanceof CancelledError);
        assert.equal(error.message, "enough");
        assert.equal(outer.cancelled(), false);
        assert.equal(outer.exception(), error);
        assert.equal(a.cancelled(), true);
        assert.equal(b.cancelled(), true);
        const at = now();
        assert.equal(Math.round((at - start) * 1e6) / 1e6, 0.1);
        assert.deepEqual(log, [`a cancelled at ${at}`, `b cancelled at ${at}`]);
        assert.equal(outer.cancel(), false);
      }
    }));

  it("refuses to be cancelled when no child accepts", () =>
    runVirtual(function* () {
      const [a, b] = futures(2);
      const outer = gather([a, b], { returnExceptions: true });
      a.setResult(1);
      b.setResult(2);
      // Both children are done; the gather's callbacks have not run yet.
      assert.equal(outer.done(), false);
      assert.equal(outer.cancel(), false);
      assert.deepEqual(yield* outer, [1, 2]);
    }));

  it("refuses to be cancelled once its only child is done, and gives the result", async () => {
    // asyncio: test_cancel_gather_1
    const loop = new VirtualEventLoop();
    const fut = loop.createFuture<number>();
    // The Future is returned in an object: `await` would adopt a bare Future.
    function* create(): Coro<{ future: Future<number[]> }> {
      // The indirection fut -> childCoro is needed since otherwise the gathering future is
      // done at the same time as the child future.
      function* childCoro(): Coro<number> {
        return yield* fut;
      }
      return { future: gather([childCoro()]) };
    }
    const { future: gatherFuture } = await loop.runUntilComplete(create());
    let cancelResult: boolean | null = null;
    fut.addDoneCallback(() => {
      cancelResult = gatherFuture.cancel();
    });
    fut.setResult(42);
    await loop.runUntilComplete(gatherFuture);
    assert.equal(cancelResult, false);
    assert.equal(gatherFuture.cancelled(), false);
    assert.deepEqual(gatherFuture.result(), [42]);
    loop.close();
  });

  it("propagates the cancellation of the awaiting task through a gather with returnExceptions", async () => {
    // asyncio: test_cancel_gather_2
    for (const [message, expected] of [
      [undefined, ""],
      ["my message", "my message"],
    ] as const) {
      const loop = new VirtualEventLoop();
      function* test(): Coro<void> {
        let time = 0;
        for (;;) {
          time += 0.05;
          yield* gather([sleep(0.05)], { returnExceptions: true });
          if (time > 1) return;
        }
      }
      function* main(): Coro<void> {
        const qwe = createTask(test());
        yield* sleep(0.2);
        qwe.cancel(message);
        yield* qwe;
      }
      const error = await loop.runUntilComplete(main()).then(
        () => assert.fail("gather() does not propagate the CancelledError to its caller"),
        (thrown: unknown) => thrown,
      );
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, expected);
      assert.equal(loop.time(), 0.2);
      loop.close();
    }
  });

  it("throws TypeError for an argument that is not awaitable, after wrapping the earlier ones", () =>
    // asyncio: test_issue46672
    runVirtual(function* () {
      let ran = false;
      function* coro(): Coro<string> {
        ran = true;
        yield* sleep(0);
        return "abc";
      }
      const error = caught(() => gather(coro(), {} as never));
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, "a Future, a coroutine or an awaitable is required, got {}");
      yield* runBriefly();
      assert.equal(ran, true);
    }));

  it("throws TypeError for options that are not an object", () =>
    runVirtual(function* () {
      const future = getRunningLoop().createFuture<number>();
      const error = caught(() => gather([future], 5 as never));
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, "options must be an object, got 5");
      yield* sleep(0);
    }));
});

describe("gather with a TaskGroup's child", () => {
  it("gathers a task its TaskGroup also waits for: both see it finish, the group first", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const child = (function* (): Coro<string> {
        yield* sleep(0.01);
        log.push("child done");
        return "x";
      })();
      yield* taskGroup(function* (tg) {
        const task = tg.createTask(child);
        const outer = gather(task);
        outer.addDoneCallback(() => log.push(`gather done, group ${String(tg)}`));
        const results = yield* outer;
        log.push(`gathered ${results.join()}`);
      });
      assert.deepEqual(log, ["child done", "gather done, group <TaskGroup entered>", "gathered x"]);
      assert.equal(now(), 0.01);
    }));

  it("gathers a failing task its TaskGroup also waits for: the group's cancellation wins", () =>
    // CPython 3.13 prints the same: the group's callback (added first) cancels the body
    // before the gather's reports the error, so the body's await gets CancelledError.
    runVirtual(function* () {
      const boom = new ZeroDivisionError("boom");
      let gatheredError: unknown = null;
      const error = yield* thrownBy(
        taskGroup(function* (tg) {
          const task = tg.createTask(
            (function* (): Coro<void> {
              yield* sleep(0.01);
              throw boom;
            })(),
          );
          gatheredError = yield* thrownBy(gather(task));
        }),
      );
      assert.ok(gatheredError instanceof CancelledError, String(gatheredError));
      assert.ok(error instanceof Error && error.name === "ExceptionGroup");
      assert.deepEqual((error as AggregateError).errors, [boom]);
    }));
});
