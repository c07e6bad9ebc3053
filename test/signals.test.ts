// Tests for src/signals.ts: loop.addSignalHandler and loop.removeSignalHandler, with real
// signals sent to this process (SIGUSR2, SIGWINCH: harmless ones). Ported from CPython's
// test_unix_events.py (SelectorEventLoopSignalTests) and test_events.py (test_add_signal_handler).
import assert from "node:assert/strict";
import { constants } from "node:os";
import { describe, it } from "node:test";
import {
  ContextVar,
  EventLoop,
  RuntimeError,
  currentTask,
  getRunningLoop,
  run,
  type Coro,
  type ExceptionContext,
} from "../src/index.ts";

/** Run `main` on a real loop (signals arrive from Node, so the virtual clock cannot wait). */
function runReal(main: () => Coro<void>): Promise<void> {
  return run(main());
}

describe("loop.addSignalHandler", () => {
  // asyncio: test_add_signal_handler (the handler runs on the loop with its arguments)
  it("runs the callback on the loop with its arguments when the signal arrives (real I/O)", () =>
    runReal(function* () {
      const loop = getRunningLoop();
      const got = loop.createFuture<unknown[]>();
      loop.addSignalHandler(
        "SIGUSR2",
        (...args: unknown[]) => {
          got.setResult([...args, currentTask()]);
        },
        "a",
        1,
      );
      process.kill(process.pid, "SIGUSR2");
      assert.deepEqual(yield* got, ["a", 1, null]);
      assert.equal(loop.removeSignalHandler("SIGUSR2"), true);
    }));

  it("accepts a signal number and calls the handler each time (real I/O)", () =>
    runReal(function* () {
      const loop = getRunningLoop();
      let count = 0;
      const second = loop.createFuture<undefined>();
      loop.addSignalHandler(constants.signals.SIGUSR2, () => {
        count++;
        if (count === 2) second.setResult(undefined);
      });
      process.kill(process.pid, "SIGUSR2");
      while (count < 1) yield* wrapTick();
      process.kill(process.pid, "SIGUSR2");
      yield* second;
      assert.equal(count, 2);
      loop.removeSignalHandler(constants.signals.SIGUSR2);
    }));

  it("replaces the loop's earlier handler for the same signal (real I/O)", () =>
    runReal(function* () {
      const loop = getRunningLoop();
      const log: string[] = [];
      const done = loop.createFuture<undefined>();
      loop.addSignalHandler("SIGUSR2", () => log.push("first"));
      loop.addSignalHandler("SIGUSR2", () => {
        log.push("second");
        done.setResult(undefined);
      });
      assert.equal(process.listenerCount("SIGUSR2"), 1);
      process.kill(process.pid, "SIGUSR2");
      yield* done;
      assert.deepEqual(log, ["second"]);
      loop.removeSignalHandler("SIGUSR2");
    }));

  it("runs the callback in the Context current when it was added (real I/O)", () =>
    runReal(function* () {
      const loop = getRunningLoop();
      const variable = new ContextVar<string>("variable", { default: "default" });
      variable.set("at add");
      const seen = loop.createFuture<string>();
      loop.addSignalHandler("SIGUSR2", () => {
        seen.setResult(variable.get());
      });
      variable.set("later");
      process.kill(process.pid, "SIGUSR2");
      assert.equal(yield* seen, "at add");
      loop.removeSignalHandler("SIGUSR2");
    }));

  // asyncio: test_handle_signal_cancelled_handler / callback errors
  it("a callback that throws goes to the exception handler (real I/O)", () =>
    runReal(function* () {
      const loop = getRunningLoop();
      const reported = loop.createFuture<ExceptionContext>();
      loop.setExceptionHandler((_loop, context) => {
        reported.setResult(context);
      });
      loop.addSignalHandler("SIGUSR2", () => {
        throw new Error("handler failed");
      });
      process.kill(process.pid, "SIGUSR2");
      const context = yield* reported;
      assert.match(context.message, /^Exception in callback/);
      assert.equal((context.exception as Error).message, "handler failed");
      loop.removeSignalHandler("SIGUSR2");
      loop.setExceptionHandler(null);
    }));

  // asyncio: test_add_signal_handler_coroutine_error, _setup_error, bad arguments
  it("rejects coroutine functions, bad signals, SIGKILL and SIGSTOP", () =>
    runReal(function* () {
      const loop = getRunningLoop();
      function* coroutine(): Coro<void> {}
      assert.throws(
        () => {
          loop.addSignalHandler("SIGUSR2", coroutine);
        },
        {
          name: "TypeError",
          message: "coroutines cannot be used with addSignalHandler()",
        },
      );
      assert.throws(() => {
        loop.addSignalHandler("SIGUSR2", null as never);
      }, TypeError);
      assert.throws(
        () => {
          loop.addSignalHandler("2" as never, () => undefined);
        },
        {
          name: "RangeError",
          message: "invalid signal name 2",
        },
      );
      assert.throws(() => {
        loop.addSignalHandler(1.5, () => undefined);
      }, TypeError);
      assert.throws(
        () => {
          loop.addSignalHandler(1000, () => undefined);
        },
        {
          name: "RangeError",
          message: "invalid signal number 1000",
        },
      );
      assert.throws(
        () => {
          loop.addSignalHandler("SIGKILL", () => undefined);
        },
        {
          name: "RuntimeError",
          message: "sig 9 cannot be caught",
        },
      );
      assert.throws(
        () => {
          loop.addSignalHandler(constants.signals.SIGSTOP, () => undefined);
        },
        {
          name: "RuntimeError",
          message: `sig ${constants.signals.SIGSTOP} cannot be caught`,
        },
      );
      assert.equal(process.listenerCount("SIGKILL"), 0);
    }));

  it("throws RuntimeError on a closed loop", () => {
    const loop = new EventLoop();
    loop.close();
    assert.throws(() => {
      loop.addSignalHandler("SIGUSR2", () => undefined);
    }, RuntimeError);
  });
});

describe("loop.removeSignalHandler", () => {
  // asyncio: test_remove_signal_handler
  it("returns true once, then false, and gives the signal back (real I/O)", () =>
    runReal(function* () {
      const loop = getRunningLoop();
      const before = process.listenerCount("SIGWINCH");
      loop.addSignalHandler("SIGWINCH", () => undefined);
      assert.equal(process.listenerCount("SIGWINCH"), before + 1);
      assert.equal(loop.removeSignalHandler("SIGWINCH"), true);
      assert.equal(loop.removeSignalHandler("SIGWINCH"), false);
      assert.equal(process.listenerCount("SIGWINCH"), before);
      assert.throws(() => loop.removeSignalHandler("NOPE" as never), RangeError);
    }));

  // asyncio: test_close (the loop's close removes its handlers)
  it("close() removes every handler the loop added", async () => {
    const loop = new EventLoop();
    const before = process.listenerCount("SIGUSR2");
    loop.addSignalHandler("SIGUSR2", () => undefined);
    loop.addSignalHandler("SIGWINCH", () => undefined);
    assert.equal(process.listenerCount("SIGUSR2"), before + 1);
    loop.close();
    assert.equal(process.listenerCount("SIGUSR2"), before);
    assert.equal(process.listenerCount("SIGWINCH"), 0);
    await Promise.resolve();
  });
});

/** One trip through Node's event loop. */
function* wrapTick(): Coro<void> {
  const loop = getRunningLoop();
  const future = loop.createFuture<undefined>();
  setImmediate(() =>
    loop.callSoonThreadsafe(() => {
      future.setResult(undefined);
    }),
  );
  yield* future;
}
