// Tests for waitFor() in src/wait.ts (wait() is tested in wait.test.ts). Ported from CPython
// 3.13's test_waitfor.py on the virtual clock; each expected trace was first recorded by
// running the same scenario on CPython 3.13.0 with a virtual-clock loop. Deliberate
// difference: JavaScript has no implicit `__context__`, so where CPython checks the
// TimeoutError's `__context__`, the TimeoutError's `cause` is checked.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CancelledError,
  TimeoutError,
  allTasks,
  createTask,
  currentTask,
  getRunningLoop,
  shield,
  sleep,
  wait,
  waitFor,
  type Coro,
} from "../src/index.ts";
import { runVirtual } from "../src/testing.ts";
import { now, self, thrownBy } from "./helpers/coro.ts";
import { KeyError, nameOf } from "./helpers/errors.ts";

/** Runs for TASK_TIMEOUT seconds, ignoring cancel requests (CPython's SlowTask). */
class SlowTask {
  static readonly TASK_TIMEOUT = 0.2;
  exited = false;
  readonly log: string[] = [];

  *run(): Coro<string> {
    const exitAt = now() + SlowTask.TASK_TIMEOUT;
    for (;;) {
      const toSleep = exitAt - now();
      if (toSleep <= 0) break;
      try {
        yield* sleep(toSleep);
      } catch {
        this.log.push(`swallowed ${now()}`);
      }
    }
    this.exited = true;
    this.log.push(`exited ${now()}`);
    return "slow";
  }
}

describe("waitFor", () => {
  // asyncio: test_asyncio_wait_for_cancelled
  it("waits for a coroutine that ignores the cancellation of the waiting task", () =>
    runVirtual(function* () {
      const t = new SlowTask();
      const waiter = createTask(waitFor(t.run(), SlowTask.TASK_TIMEOUT * 2));
      yield* sleep(0);
      waiter.cancel();
      yield* wait([waiter]);
      assert.deepEqual(t.log, ["swallowed 0", "exited 0.2"]);
      assert.equal(now(), 0.2);
      assert.equal(t.exited, true);
      // The coroutine swallowed the cancellation and returned: so does waitFor.
      assert.equal(waiter.cancelled(), false);
      assert.equal(waiter.result(), "slow");
    }));

  // asyncio: test_asyncio_wait_for_timeout
  it("returns what a coroutine that ignores the timeout's cancellation returns", () =>
    runVirtual(function* () {
      const t = new SlowTask();
      const result = yield* waitFor(t.run(), SlowTask.TASK_TIMEOUT / 2);
      assert.equal(result, "slow");
      assert.deepEqual(t.log, ["swallowed 0.1", "exited 0.2"]);
      assert.equal(t.exited, true);
      assert.equal(self().cancelling(), 0);
    }));

  // asyncio: test_wait_for_timeout_less_then_0_or_0_future_done
  it("returns the result of a done future with a timeout of 0", () =>
    runVirtual(function* () {
      const fut = getRunningLoop().createFuture<string>();
      fut.setResult("done");
      assert.equal(yield* waitFor(fut, 0), "done");
      assert.equal(fut.done(), true);
    }));

  // asyncio: test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started
  it("never starts a coroutine with a timeout of 0", () =>
    runVirtual(function* () {
      let started = false;

      function* foo(): Coro<void> {
        started = true;
      }
      const error = yield* thrownBy(() => waitFor(foo(), 0));
      assert.ok(error instanceof TimeoutError);
      assert.ok(error.cause instanceof CancelledError);
      assert.equal(started, false);
      assert.equal(now(), 0);
      assert.deepEqual([...allTasks()], [self()]);
    }));

  // asyncio: test_wait_for_timeout_less_then_0_or_0
  it("cancels a running task at once with a timeout of 0 or less", () =>
    runVirtual(function* () {
      for (const delay of [0, -1]) {
        const log: string[] = [];
        const started = getRunningLoop().createFuture<undefined>();
        const fut = createTask(
          (function* (): Coro<string> {
            log.push("running");
            started.setResult(undefined);
            try {
              yield* sleep(10);
            } finally {
              log.push(`finally ${now()}`);
            }
            return "done";
          })(),
        );
        yield* started;
        const error = yield* thrownBy(() => waitFor(fut, delay));
        log.push(`${nameOf(error)} ${nameOf((error as Error).cause)} ${fut.cancelled()} ${now()}`);
        assert.deepEqual(log, ["running", "finally 0", "TimeoutError CancelledError true 0"]);
      }
    }));

  // asyncio: test_wait_for
  it("cancels the task at the deadline and throws TimeoutError once it is done", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const fut = createTask(
        (function* (): Coro<string> {
          try {
            yield* sleep(3600);
          } finally {
            log.push(`finally ${now()}`);
          }
          return "done";
        })(),
      );
      const error = yield* thrownBy(() => waitFor(fut, 0.1));
      log.push(`${nameOf(error)} ${nameOf((error as Error).cause)} ${fut.cancelled()} ${now()}`);
      assert.deepEqual(log, ["finally 0.1", "TimeoutError CancelledError true 0.1"]);
      assert.equal(self().cancelling(), 0);
    }));

  // asyncio: test_wait_for_blocking
  it("awaits without a limit with a null timeout", () =>
    runVirtual(function* () {
      function* coro(): Coro<string> {
        return "done";
      }
      assert.equal(yield* waitFor(coro(), null), "done");
      yield* waitFor(sleep(7200), null);
      assert.equal(now(), 7200);
    }));

  // asyncio: test_wait_for_race_condition
  it("returns a result set just before the deadline could matter", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const fut = loop.createFuture<string>();
      const waiting = waitFor(fut, 0.2);
      loop.callSoon(() => {
        fut.setResult("ok");
      });
      assert.equal(yield* waiting, "ok");
      assert.equal(now(), 0);
    }));

  // asyncio: test_wait_for_cancellation_race_condition
  it("returns what a coroutine that handles its cancellation returns", () =>
    runVirtual(function* () {
      const log: string[] = [];
      function* inner(): Coro<number> {
        try {
          yield* sleep(1);
        } catch (error) {
          log.push(`inner ${nameOf(error)} ${now()}`);
        }
        return 1;
      }
      const result = yield* waitFor(inner(), 0.01);
      assert.equal(result, 1);
      assert.deepEqual(log, ["inner CancelledError 0.01"]);
      assert.equal(self().cancelling(), 0);
    }));

  // asyncio: test_wait_for_cancel_suppressed
  it("returns the value a coroutine returns instead of its cancellation", () =>
    runVirtual(function* () {
      function* return42(): Coro<number> {
        try {
          yield* sleep(10);
        } catch {
          return 42;
        }
        return 0;
      }
      assert.equal(yield* waitFor(return42(), 0.1), 42);
      assert.equal(now(), 0.1);
    }));

  // asyncio: test_wait_for_waits_for_task_cancellation
  it("waits for a task that is slow to finish after its cancellation", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const innerTask = createTask(
        (function* (): Coro<void> {
          try {
            yield* sleep(10);
          } catch (error) {
            log.push(`inner cancelled ${now()}`);
            yield* sleep(0.0001);
            throw error;
          } finally {
            log.push(`done ${now()}`);
          }
        })(),
      );
      const error = yield* thrownBy(() => waitFor(innerTask, 0.0001));
      log.push(`${nameOf(error)} ${nameOf((error as Error).cause)} ${now()}`);
      assert.deepEqual(log, [
        "inner cancelled 0.0001",
        "done 0.0002",
        "TimeoutError CancelledError 0.0002",
      ]);
    }));

  // asyncio: test_wait_for_waits_for_task_cancellation_w_timeout_0
  it("waits for a task that is slow to finish after its cancellation, with a timeout of 0", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const innerTask = createTask(
        (function* (): Coro<void> {
          try {
            yield* sleep(10);
          } catch (error) {
            log.push(`inner cancelled ${now()}`);
            yield* sleep(0.0001);
            throw error;
          } finally {
            log.push(`done ${now()}`);
          }
        })(),
      );
      yield* sleep(0.0001);
      const error = yield* thrownBy(() => waitFor(innerTask, 0));
      log.push(`${nameOf(error)} ${nameOf((error as Error).cause)} ${now()}`);
      assert.deepEqual(log, [
        "inner cancelled 0.0001",
        "done 0.0002",
        "TimeoutError CancelledError 0.0002",
      ]);
    }));

  // asyncio: test_wait_for_reraises_exception_during_cancellation
  it("throws the error a task throws while handling its cancellation", () =>
    runVirtual(function* () {
      class FooException extends Error {
        override name = "FooException";
      }
      const innerTask = createTask(
        (function* (): Coro<void> {
          try {
            yield* sleep(0.2);
          } finally {
            // eslint-disable-next-line no-unsafe-finally
            throw new FooException();
          }
        })(),
      );
      const error = yield* thrownBy(() => waitFor(innerTask, 0.0001));
      assert.ok(error instanceof FooException);
      assert.equal(now(), 0.0001);
      assert.equal(self().cancelling(), 0);
    }));

  // asyncio: test_cancel_blocking_wait_for
  // asyncio: test_cancel_wait_for
  it("cancels the awaited task when the waiting task is cancelled", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      for (const delay of [null, 60]) {
        const task = createTask(
          (function* (): Coro<void> {
            yield* loop.createFuture<never>(); // Blocks: never resolved.
          })(),
        );
        const waiter = createTask(waitFor(task, delay));
        loop.callSoon(() => waiter.cancel());
        const error = yield* thrownBy(() => waiter);
        assert.ok(error instanceof CancelledError, `with timeout ${String(delay)}`);
        // Python issue #23219: cancelling the wait must also cancel the task.
        assert.equal(task.cancelled(), true);
        assert.equal(now(), 0);
      }
    }));

  // asyncio: test_wait_for_issue86296
  it("lets the waiting task be cancelled right after the awaited task finished", () =>
    runVirtual(function* () {
      const log: string[] = [];

      const innerTask = createTask(
        (function* (): Coro<string> {
          return "done";
        })(),
      );
      const task = createTask(
        (function* (): Coro<void> {
          yield* waitFor(innerTask, 100);
          log.push("after waitFor");
          yield* sleep(1);
          log.push("reached end");
        })(),
      );
      yield* sleep(0);
      task.cancel();
      const error = yield* thrownBy(() => task);
      log.push(`${nameOf(error)} ${innerTask.done()} ${yield* innerTask} ${now()}`);
      assert.deepEqual(log, ["after waitFor", "CancelledError true done 0"]);
    }));

  it("lets an error of the awaited coroutine pass", () =>
    runVirtual(function* () {
      const thrown = new KeyError("x");
      const error = yield* thrownBy(() =>
        waitFor(
          (function* (): Coro<void> {
            yield* sleep(0.5);
            throw thrown;
          })(),
          1,
        ),
      );
      assert.equal(error, thrown);
      assert.equal(now(), 0.5);
      assert.equal(self().cancelling(), 0);
    }));

  it("runs a coroutine inline, in the waiting task", () =>
    runVirtual(function* () {
      const me = self();

      function* who(): Coro<boolean> {
        return currentTask() === me;
      }
      assert.equal(yield* waitFor(who(), 1), true);
      assert.equal(allTasks().size, 1);
    }));

  it("rejects a timeout that is neither a number nor null with a TypeError", () =>
    runVirtual(function* () {
      for (const delay of [Number.NaN, "1", undefined]) {
        const fut = getRunningLoop().createFuture<number>();
        const error = yield* thrownBy(() => waitFor(fut, delay as number));
        assert.ok(error instanceof TypeError);
        assert.match(error.message, /^timeout must be a number or null, got /);
        assert.equal(fut.cancelled(), false);
      }
    }));

  // asyncio: test_zero_timeout
  it("cancels only a shield with a timeout of 0; the shielded task goes on", () =>
    runVirtual(function* () {
      const task = createTask(sleep(0.01, "done"));
      const shielded = shield(task);
      const error = yield* thrownBy(() => waitFor(shielded, 0));
      assert.ok(error instanceof TimeoutError);
      assert.equal(task.done(), false);
      assert.equal(task.cancelled(), false);
      assert.equal(shielded.cancelled(), true);
      assert.equal(now(), 0);
      yield* sleep(0.1);
      assert.equal(task.result(), "done");
    }));

  // asyncio: test_none_timeout
  it("waits for a shielded task with a null timeout", () =>
    runVirtual(function* () {
      const task = createTask(sleep(0.1, "done"));
      assert.equal(yield* waitFor(shield(task), null), "done");
      assert.equal(task.done(), true);
      assert.equal(now(), 0.1);
    }));

  // asyncio: test_shielded_timeout
  it("leaves a shielded task running after a timeout", () =>
    runVirtual(function* () {
      const task = createTask(sleep(0.1, "done"));
      const error = yield* thrownBy(() => waitFor(shield(task), 0.01));
      assert.ok(error instanceof TimeoutError);
      assert.equal(now(), 0.01);
      assert.equal(task.done(), false);
      assert.equal(task.cancelled(), false);
      assert.equal(yield* task, "done");
      assert.equal(now(), 0.1);
    }));
});
