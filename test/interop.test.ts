import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import {
  CancelledError,
  Future,
  createTask,
  getRunningLoop,
  run,
  sleep,
  wrapPromise,
  type Coro,
} from "../src/index.ts";
import { runVirtual } from "../src/testing.ts";

/** Record every unhandled rejection while `fn` runs (and for `settleMs` afterwards). */
async function unhandledRejectionsDuring(
  fn: () => Promise<void>,
  settleMs = 10,
): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => {
    seen.push(reason);
  };
  process.on("unhandledRejection", listener);
  try {
    await fn();
    await delay(settleMs);
  } finally {
    process.off("unhandledRejection", listener);
  }
  return seen;
}

/** A Promise that never settles unless its signal is aborted, then rejects with the reason. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    signal.addEventListener("abort", () => {
      reject(signal.reason as Error);
    });
  });
}

describe("wrapPromise", () => {
  it("gives the value a Promise resolves with", () =>
    runVirtual(function* () {
      assert.equal(yield* wrapPromise(Promise.resolve(5)), 5);
    }));

  it("throws the error a Promise rejects with", () =>
    runVirtual(function* () {
      const error = new Error("rejected");
      const future = wrapPromise(Promise.reject(error));
      try {
        yield* future;
        assert.fail("wrapPromise() did not throw");
      } catch (thrown) {
        assert.equal(thrown, error);
      }
    }));

  it("returns a pending Future on the running loop", () =>
    runVirtual(function* () {
      const future = wrapPromise(delay(1, "later"));
      assert.ok(future instanceof Future);
      assert.equal(future.getLoop(), getRunningLoop());
      assert.equal(future.done(), false);
      assert.equal(yield* future, "later");
      assert.equal(String(future), "<Future finished result='later'>");
    }));

  it("accepts any thenable", () =>
    runVirtual(function* () {
      const thenable: PromiseLike<number> = {
        then<R1 = number, R2 = never>(
          onFulfilled?: ((value: number) => R1 | PromiseLike<R1>) | null,
        ): PromiseLike<R1 | R2> {
          return Promise.resolve(onFulfilled?.(3) as R1);
        },
      };
      assert.equal(yield* wrapPromise(thenable), 3);
    }));

  it("wakes a real-time loop when the Promise settles (real I/O)", async () => {
    function* main(): Coro<string> {
      const started = performance.now();
      const value = yield* wrapPromise(delay(3, "slept"));
      assert.ok(performance.now() - started >= 2);
      return value;
    }
    assert.equal(await run(main()), "slept");
  });

  it("calls a function at once with an AbortSignal and gives what its Promise resolves with", () =>
    runVirtual(function* () {
      const signals: AbortSignal[] = [];
      const future = wrapPromise((signal) => {
        signals.push(signal);
        return Promise.resolve("fetched");
      });
      assert.equal(signals.length, 1);
      assert.equal(yield* future, "fetched");
      assert.equal(signals[0]?.aborted, false);
    }));

  it("aborts the signal with a CancelledError when the waiting task is cancelled", () =>
    runVirtual(function* () {
      const signals: AbortSignal[] = [];
      const log: string[] = [];
      function* fetcher(): Coro<void> {
        try {
          yield* wrapPromise((signal) => {
            signals.push(signal);
            return untilAborted(signal);
          });
        } catch (error) {
          log.push(`caught ${(error as Error).name}`);
          throw error;
        }
      }
      const task = createTask(fetcher());
      yield* sleep(0);
      const signal = signals[0] as AbortSignal;
      assert.equal(signal.aborted, false);
      task.cancel();
      try {
        yield* task;
      } catch (error) {
        assert.ok(error instanceof CancelledError);
      }
      assert.equal(task.cancelled(), true);
      assert.deepEqual(log, ["caught CancelledError"]);
      assert.equal(signal.aborted, true);
      assert.ok(signal.reason instanceof CancelledError);
      assert.equal(signal.reason.message, "the waiting task was cancelled");
    }));

  it("does not abort the signal when the task is cancelled after the Promise settled", () =>
    runVirtual(function* () {
      const signals: AbortSignal[] = [];
      const task = createTask(
        (function* (): Coro<void> {
          yield* wrapPromise((signal) => {
            signals.push(signal);
            return Promise.resolve(1);
          });
          yield* sleep(10);
        })(),
      );
      yield* sleep(1);
      task.cancel();
      try {
        yield* task;
      } catch (error) {
        assert.ok(error instanceof CancelledError);
      }
      assert.equal(task.cancelled(), true);
      assert.equal(signals.length, 1);
      assert.equal(signals[0]?.aborted, false);
    }));

  it("ignores a Promise that rejects after its waiter was cancelled: no unhandled rejection", async () => {
    const seen = await unhandledRejectionsDuring(() =>
      runVirtual(function* () {
        const late = delay(2).then(() => {
          throw new Error("rejected after cancel");
        });
        const task = createTask(
          (function* (): Coro<void> {
            yield* wrapPromise(late);
          })(),
        );
        yield* sleep(0);
        task.cancel();
        try {
          yield* task;
        } catch (error) {
          assert.ok(error instanceof CancelledError);
        }
        assert.equal(task.cancelled(), true);
      }),
    );
    assert.deepEqual(seen, []);
  });

  it("ignores a Promise that resolves after its waiter was cancelled", async () => {
    const seen = await unhandledRejectionsDuring(() =>
      runVirtual(function* () {
        const future = wrapPromise(delay(2, "too late"));
        future.cancel();
        assert.equal(future.cancelled(), true);
        yield* sleep(0);
      }),
    );
    assert.deepEqual(seen, []);
  });

  it("rejects a value that is neither a Promise nor a function with a TypeError", () =>
    runVirtual(function* () {
      assert.throws(() => wrapPromise(42 as unknown as Promise<number>), {
        name: "TypeError",
        message: "wrapPromise() expects a Promise or a function (signal) => Promise, got 42",
      });
      assert.throws(() => wrapPromise(null as unknown as Promise<number>), {
        name: "TypeError",
        message: "wrapPromise() expects a Promise or a function (signal) => Promise, got null",
      });
    }));

  it("needs a running loop", () => {
    assert.throws(() => wrapPromise(Promise.resolve(1)), {
      name: "RuntimeError",
      message: "no running event loop",
    });
  });

  it("fails the Future when the function returns something other than a Promise", () =>
    runVirtual(function* () {
      const future = wrapPromise(() => 5 as unknown as Promise<number>);
      assert.equal(future.done(), true);
      try {
        yield* future;
        assert.fail("wrapPromise() did not throw");
      } catch (error) {
        assert.ok(error instanceof TypeError);
        assert.equal(
          error.message,
          "the function given to wrapPromise() must return a Promise, got 5",
        );
      }
    }));

  it("fails the Future with the error the function throws", () =>
    runVirtual(function* () {
      const error = new Error("sync failure");
      const future = wrapPromise((): Promise<number> => {
        throw error;
      });
      assert.equal(future.done(), true);
      assert.equal(future.exception(), error);
    }));
});
