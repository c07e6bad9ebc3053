// loop.runInExecutor, setDefaultExecutor and shutdownDefaultExecutor: virtual time with an
// InlineExecutor or a recording executor, real workers where the test says (real I/O).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  CancelledError,
  InlineExecutor,
  Runner,
  RuntimeError,
  WorkerPoolExecutor,
  createTask,
  getRunningLoop,
  moveOnAfter,
  run,
  sleep,
  type Coro,
  type Executor,
  type JobTarget,
} from "../../src/index.ts";
import { VirtualEventLoop, runVirtual } from "../../src/testing.ts";
import * as jobs from "../fixtures/executor-jobs.ts";
import { runReal } from "../helpers/programs.ts";

const JOBS = new URL("../fixtures/executor-jobs.js", import.meta.url);

/** An executor that records what it is asked and runs functions inline. */
class RecordingExecutor implements Executor {
  readonly log: string[] = [];
  shutdownResult: Promise<void> = Promise.resolve();
  submit(target: JobTarget, args: readonly unknown[], signal?: AbortSignal): Promise<unknown> {
    this.log.push(`submit ${typeof target === "string" ? target : target.name} ${args.join(",")}`);
    signal?.addEventListener("abort", () => this.log.push("abort"));
    if (typeof target === "string") return new Promise(() => {});
    return Promise.resolve((target as (...args: unknown[]) => unknown)(...args));
  }
  shutdown(wait = true): Promise<void> {
    this.log.push(`shutdown ${wait}`);
    return wait ? this.shutdownResult : Promise.resolve();
  }
}

describe("loop.runInExecutor", () => {
  it("returns a Future of the job's result", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const future = loop.runInExecutor(
        new InlineExecutor(),
        (a: number, b: number) => a + b,
        1,
        2,
      );
      assert.equal(future.getLoop(), loop);
      assert.equal(yield* future, 3);
    }));

  it("calls an export by name on a module executor", () =>
    runVirtual(function* () {
      const executor = new InlineExecutor<typeof jobs>(jobs);
      assert.equal(yield* getRunningLoop().runInExecutor(executor, "add", 4, 5), 9);
    }));

  it("throws the job's error into the awaiting task", () =>
    runVirtual(function* () {
      const error = new RangeError("bad");
      const future = getRunningLoop().runInExecutor(new InlineExecutor(), () => {
        throw error;
      });
      try {
        yield* future;
        assert.fail("no error");
      } catch (thrown) {
        assert.equal(thrown, error);
      }
    }));

  it("aborts the job's signal when the awaiting task is cancelled", () =>
    runVirtual(function* () {
      const executor = new RecordingExecutor();
      const task = createTask(
        (function* (): Coro<unknown> {
          return yield* getRunningLoop().runInExecutor(executor, "forever" as never);
        })(),
      );
      yield* sleep(0);
      task.cancel();
      try {
        yield* task;
        assert.fail("not cancelled");
      } catch (error) {
        assert.ok(error instanceof CancelledError);
      }
      yield* sleep(0);
      assert.deepEqual(executor.log, ["submit forever ", "abort"]);
    }));

  it("uses the default executor for null", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const executor = new RecordingExecutor();
      loop.setDefaultExecutor(executor);
      function double(n: number): number {
        return n * 2;
      }
      assert.equal(yield* loop.runInExecutor(null, double, 21), 42);
      assert.deepEqual(executor.log, ["submit double 21"]);
    }));

  it("throws RuntimeError on a closed loop", () => {
    const loop = new VirtualEventLoop();
    loop.close();
    assert.throws(
      () => loop.runInExecutor(new InlineExecutor(), () => 1),
      (error: unknown) => error instanceof RuntimeError && error.message === "Event loop is closed",
    );
  });

  it("refuses a generator function, a non-callable and a non-executor", () => {
    const loop = new VirtualEventLoop();
    try {
      assert.throws(() => loop.runInExecutor(new InlineExecutor(), function* () {}), {
        name: "TypeError",
        message: "coroutines cannot be used with runInExecutor()",
      });
      assert.throws(() => loop.runInExecutor(new InlineExecutor(), 1 as never), {
        name: "TypeError",
        message: "a callable object was expected by runInExecutor(), got 1",
      });
      assert.throws(() => loop.runInExecutor({} as never, () => 1), {
        name: "TypeError",
        message:
          "executor must be an Executor (an object with submit() and shutdown()) or null, got {}",
      });
    } finally {
      loop.close();
    }
  });
});

describe("loop.runInExecutor on a worker pool (real I/O)", () => {
  let pool: WorkerPoolExecutor<typeof jobs>;
  before(() => {
    pool = new WorkerPoolExecutor<typeof jobs>(JOBS, { maxWorkers: 1 });
  });
  after(() => pool.shutdown());

  it("runs the job in a worker and returns its result", () =>
    runReal(function* () {
      assert.equal(yield* getRunningLoop().runInExecutor(pool, "add", 20, 22), 42);
    }));

  it("terminates the worker when the awaiting task is cancelled", () =>
    runReal(function* () {
      const loop = getRunningLoop();
      const before = yield* loop.runInExecutor(pool, "whoAmI");
      const started = loop.time();
      const result = yield* moveOnAfter(0.02, function* () {
        return yield* loop.runInExecutor(pool, "spin", 5000);
      });
      assert.equal(result, undefined);
      assert.ok(loop.time() - started < 2);
      assert.notEqual(yield* loop.runInExecutor(pool, "whoAmI"), before);
    }));
});

describe("loop.setDefaultExecutor", () => {
  it("refuses what is not an executor", () => {
    const loop = new VirtualEventLoop();
    try {
      assert.throws(
        () => {
          loop.setDefaultExecutor(null as never);
        },
        {
          name: "TypeError",
          message:
            "executor must be an Executor (an object with submit() and shutdown()), got null",
        },
      );
    } finally {
      loop.close();
    }
  });
});

describe("loop.shutdownDefaultExecutor", () => {
  it("shuts the default executor down and then refuses the default", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const executor = new RecordingExecutor();
      loop.setDefaultExecutor(executor);
      yield* loop.shutdownDefaultExecutor();
      assert.deepEqual(executor.log, ["shutdown true"]);
      assert.throws(
        () => loop.runInExecutor(null, () => 1),
        (error: unknown) =>
          error instanceof RuntimeError && error.message === "Executor shutdown has been called",
      );
      // An explicit executor is still fine.
      assert.equal(yield* loop.runInExecutor(new InlineExecutor(), () => 1), 1);
    }));

  it("does nothing when no default executor was made", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      yield* loop.shutdownDefaultExecutor();
      assert.throws(() => loop.runInExecutor(null, () => 1), /Executor shutdown has been called/);
    }));

  it("warns and stops waiting after the timeout (real I/O)", () =>
    runReal(function* () {
      const loop = getRunningLoop();
      const executor = new RecordingExecutor();
      executor.shutdownResult = new Promise(() => {});
      loop.setDefaultExecutor(executor);
      const warnings: string[] = [];
      const original = process.emitWarning;
      process.emitWarning = ((warning: string, type: string) => {
        warnings.push(`${type}: ${warning}`);
      }) as typeof process.emitWarning;
      try {
        yield* loop.shutdownDefaultExecutor(0.01);
      } finally {
        process.emitWarning = original;
      }
      assert.deepEqual(warnings, [
        "RuntimeWarning: The executor did not finishing joining its threads within 0.01 seconds.",
      ]);
      assert.deepEqual(executor.log, ["shutdown true", "shutdown false"]);
      // runReal's Runner.close() shuts it down once more: let that one finish.
      executor.shutdownResult = Promise.resolve();
    }));

  it("waits for a running job of the lazily made default pool (real I/O)", () =>
    runReal(function* () {
      const loop = getRunningLoop();
      const log: string[] = [];
      const job = createTask(
        (function* (): Coro<void> {
          const value = yield* loop.runInExecutor(
            null,
            (ms: number) => {
              const end = Date.now() + ms;
              while (Date.now() < end);
              return "spun";
            },
            20,
          );
          log.push(value);
        })(),
      );
      yield* sleep(0);
      yield* loop.shutdownDefaultExecutor();
      log.push("shut down");
      yield* job;
      assert.deepEqual(log, ["spun", "shut down"]);
    }));

  it("is called by Runner.close() after the remaining tasks are cancelled", async () => {
    const executor = new RecordingExecutor();
    const runner = new Runner({ loopFactory: () => new VirtualEventLoop() });
    await runner.run(
      (function* (): Coro<void> {
        const loop = getRunningLoop();
        loop.setDefaultExecutor(executor);
        createTask(
          (function* (): Coro<void> {
            try {
              yield* sleep(10);
            } finally {
              executor.log.push("task cancelled");
            }
          })(),
        );
        yield* sleep(0);
      })(),
    );
    await runner.close();
    // asyncio: shutdown_default_executor(), then close() shuts it down again, without waiting.
    assert.deepEqual(executor.log, ["task cancelled", "shutdown true", "shutdown false"]);
  });

  it("is called by run(), so its default pool is shut down (real I/O)", async () => {
    const calls: string[] = [];
    const prototype = WorkerPoolExecutor.prototype;
    const original = Object.getOwnPropertyDescriptor(
      Object.getPrototypeOf(prototype) as object,
      "shutdown",
    )?.value as WorkerPoolExecutor["shutdown"];
    Object.defineProperty(prototype, "shutdown", {
      configurable: true,
      value(this: WorkerPoolExecutor, wait?: boolean) {
        calls.push(`shutdown ${String(wait)}`);
        return original.call(this, wait);
      },
    });
    try {
      const value = await run(
        (function* (): Coro<number> {
          return yield* getRunningLoop().runInExecutor(null, (n: number) => n + 1, 41);
        })(),
      );
      assert.equal(value, 42);
      assert.deepEqual(calls, ["shutdown true", "shutdown false"]);
    } finally {
      Reflect.deleteProperty(prototype, "shutdown");
    }
  });
});

describe("loop.close() and the default executor", () => {
  // asyncio: BaseEventLoop.close() calls self._default_executor.shutdown(wait=False)
  it("shuts the default executor down without waiting", () => {
    const loop = new VirtualEventLoop();
    const calls: string[] = [];
    const executor: Executor = {
      submit: () => Promise.resolve(undefined as never),
      shutdown: (wait) => {
        calls.push(`shutdown wait=${String(wait)}`);
        return Promise.resolve();
      },
    };
    loop.setDefaultExecutor(executor);
    loop.close();
    assert.deepEqual(calls, ["shutdown wait=false"]);
    assert.throws(() => loop.runInExecutor(null, () => 1), RuntimeError);
  });
});
