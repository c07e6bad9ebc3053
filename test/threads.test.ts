// toThread (real worker threads: each test's run() makes and shuts down its own default
// pool) and runCoroutineThreadsafe (virtual time, or a real loop where the test says).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CancelledError,
  EventLoop,
  RuntimeError,
  createTask,
  currentTask,
  runCoroutineThreadsafe,
  sleep,
  toThread,
  type Coro,
} from "../src/index.ts";
import { VirtualEventLoop } from "../src/testing.ts";
import { runReal } from "./helpers/programs.ts";

describe("toThread (real I/O)", () => {
  it("runs a self-contained function in a worker and returns its result", () =>
    runReal(function* () {
      const result = yield* toThread(async (text: string) => {
        const { createHash } = await import("node:crypto");
        return createHash("sha256").update(text).digest("hex").slice(0, 8);
      }, "abc");
      assert.equal(result, "ba7816bf");
    }));

  it("throws the function's error, with its class", () =>
    runReal(function* () {
      try {
        yield* toThread((n: number) => {
          throw new RangeError(`n must be small, got ${n}`);
        }, 99);
        assert.fail("no error");
      } catch (error) {
        assert.ok(error instanceof RangeError);
        assert.equal(error.message, "n must be small, got 99");
      }
    }));

  it("explains the error of a function that uses a variable of its closure", () =>
    runReal(function* () {
      const limit = 10;
      try {
        yield* toThread(function countUp(): number {
          return limit + 1;
        });
        assert.fail("no error");
      } catch (error) {
        assert.ok(error instanceof ReferenceError);
        assert.equal(
          error.message,
          "countUp() uses a variable the worker does not have (limit is not defined): a function " +
            "run in a worker is sent as source code, without its closure, so it can use only " +
            "its parameters and globals; pass what it needs as arguments",
        );
        assert.ok(error.cause instanceof ReferenceError);
      }
    }));

  it("terminates the worker when the awaiting task is cancelled", () =>
    runReal(function* () {
      const log: string[] = [];
      const task = createTask(
        (function* (): Coro<void> {
          try {
            yield* toThread(() => {
              for (;;);
            });
          } catch (error) {
            log.push(error instanceof CancelledError ? "cancelled" : String(error));
            throw error;
          }
        })(),
      );
      yield* sleep(0.01);
      // Were the worker left spinning, runReal's shutdown of the default pool would never end.
      task.cancel();
      try {
        yield* task;
      } catch (error) {
        assert.ok(error instanceof CancelledError);
      }
      assert.deepEqual(log, ["cancelled"]);
    }));
});

describe("toThread", () => {
  it("refuses at once a function that has no source to send", () => {
    const bound = function (this: unknown): number {
      return 1;
    }.bind(null);
    const cases: [(...args: never[]) => unknown, string][] = [
      [bound, "<function bound >"],
      [Math.max, "<function max>"],
    ];
    for (const [fn, shown] of cases) {
      assert.throws(() => toThread(fn), {
        name: "TypeError",
        message: `toThread() cannot send ${shown} to a worker: it is a native or bound function, which has no source code to send`,
      });
    }
    class Job {
      readonly size = 1;
    }
    assert.throws(() => toThread(Job as never), {
      name: "TypeError",
      message: "toThread() cannot send <function Job> to a worker: it is a class",
    });
    const holder = {
      method(): number {
        return 1;
      },
    };
    assert.throws(() => toThread(holder.method), {
      name: "TypeError",
      message:
        "toThread() cannot send <function method> to a worker: its source is not a stand-alone function (a method? write it as `function` or an arrow function)",
    });
    assert.throws(() => toThread(function* () {}), {
      name: "TypeError",
      message: "coroutines cannot be used with toThread()",
    });
    assert.throws(() => toThread(1 as never), {
      name: "TypeError",
      message: "toThread() fn must be a function, got 1",
    });
  });

  it("needs a running loop", () => {
    assert.throws(
      () => toThread(() => 1),
      (error: unknown) =>
        error instanceof RuntimeError && error.message === "no running event loop",
    );
  });
});

function* double(n: number, log: string[] = []): Coro<number> {
  try {
    yield* sleep(1);
    return n * 2;
  } finally {
    log.push("finally");
  }
}

describe("runCoroutineThreadsafe", () => {
  // asyncio: test_run_coroutine_threadsafe
  it("runs the coroutine on the loop and resolves with its result", async () => {
    const loop = new VirtualEventLoop();
    try {
      const promise = runCoroutineThreadsafe(double(21), loop);
      await loop.runUntilComplete(sleep(2));
      assert.equal(await promise, 42);
    } finally {
      loop.close();
    }
  });

  // asyncio: test_run_coroutine_threadsafe_with_exception
  it("rejects with the coroutine's error", async () => {
    const loop = new VirtualEventLoop();
    const error = new Error("boom");
    function* failing(): Coro<never> {
      yield* sleep(0);
      throw error;
    }
    try {
      const promise = runCoroutineThreadsafe(failing(), loop);
      await loop.runUntilComplete(sleep(1));
      await assert.rejects(promise, (thrown: unknown) => thrown === error);
    } finally {
      loop.close();
    }
  });

  // asyncio: test_run_coroutine_threadsafe_task_cancelled
  it("rejects with CancelledError when the task is cancelled on the loop", async () => {
    const loop = new VirtualEventLoop();
    try {
      const promise = runCoroutineThreadsafe(double(1), loop);
      await loop.runUntilComplete(
        (function* (): Coro<void> {
          yield* sleep(0);
          for (const task of loop._tasks) if (task !== currentTask()) task.cancel();
          yield* sleep(0);
        })(),
      );
      await assert.rejects(promise, CancelledError);
    } finally {
      loop.close();
    }
  });

  // asyncio: test_run_coroutine_threadsafe_with_timeout
  it("cancels the running task when the signal is aborted (real I/O)", async () => {
    const loop = new EventLoop();
    const running = loop.runForever();
    const log: string[] = [];
    function* slow(): Coro<number> {
      log.push("started");
      try {
        yield* sleep(10);
        return 1;
      } finally {
        log.push("finally");
      }
    }
    try {
      const controller = new AbortController();
      const promise = runCoroutineThreadsafe(slow(), loop, { signal: controller.signal });
      while (!log.includes("started")) await new Promise((resolve) => setTimeout(resolve, 1));
      controller.abort();
      await assert.rejects(promise, CancelledError);
      assert.deepEqual(log, ["started", "finally"]);
    } finally {
      loop.stop();
      await running;
      loop.close();
    }
  });

  it("never starts the coroutine when the signal is aborted before the loop runs", async () => {
    const loop = new VirtualEventLoop();
    const log: string[] = [];
    try {
      const controller = new AbortController();
      const promise = runCoroutineThreadsafe(double(5, log), loop, { signal: controller.signal });
      controller.abort();
      await loop.runUntilComplete(sleep(0));
      await assert.rejects(promise, CancelledError);
      assert.deepEqual(log, []);
      assert.equal(loop._tasks.size, 0);
    } finally {
      loop.close();
    }
  });

  // asyncio: test_run_coroutine_threadsafe_invalid
  it("refuses what is not a coroutine, and a closed loop", () => {
    const loop = new VirtualEventLoop();
    assert.throws(() => runCoroutineThreadsafe(double as never, loop), {
      name: "TypeError",
      message: "A coroutine object is required",
    });
    loop.close();
    const coro = double(1);
    assert.throws(
      () => runCoroutineThreadsafe(coro, loop),
      (error: unknown) => error instanceof RuntimeError && error.message === "Event loop is closed",
    );
  });
});
