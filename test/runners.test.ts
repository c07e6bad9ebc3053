import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  BaseEventLoop,
  CancelledError,
  Context,
  ContextVar,
  EventLoop,
  Runner,
  Task,
  copyContext,
  createTask,
  currentTask,
  getRunningLoop,
  run,
  sleep,
  type Coro,
  type ExceptionContext,
} from "../src/index.ts";
import { VirtualEventLoop, runVirtual } from "../src/testing.ts";
import { captureExceptions } from "./helpers/capture.ts";
import { runFixture, type Exit } from "./helpers/loop.ts";

/** Await `fn()` while recording console.debug (debug loops log "Close <loop>" there). */
async function recordingDebug<T>(fn: () => Promise<T>): Promise<[T, string[]]> {
  const lines: string[] = [];
  const original = console.debug;
  console.debug = (...args: unknown[]): void => {
    lines.push(args.map(String).join(" "));
  };
  try {
    return [await fn(), lines];
  } finally {
    console.debug = original;
  }
}

function virtual(): VirtualEventLoop {
  return new VirtualEventLoop();
}

function* returns<T>(value: T): Coro<T> {
  return value;
}

describe("run", () => {
  // asyncio: test_asyncio_run_return
  it("returns what main returns", async () => {
    function* main(): Coro<number> {
      yield* sleep(0);
      return 42;
    }
    assert.equal(await run(main()), 42);
  });

  // asyncio: test_asyncio_run_raises
  it("rejects with the error main throws, and closes the loop", async () => {
    let loop: BaseEventLoop | undefined;
    const error = new Error("spam");
    function* main(): Coro<void> {
      loop = getRunningLoop();
      yield* sleep(0);
      throw error;
    }
    await assert.rejects(run(main()), (thrown) => thrown === error);
    assert.equal(loop?.isClosed(), true);
  });

  it("rejects with CancelledError when main is cancelled", async () => {
    function* main(): Coro<void> {
      currentTask()?.cancel("stop main");
      yield* sleep(0);
    }
    await assert.rejects(run(main()), { name: "CancelledError", message: "stop main" });
  });

  it("runs main on a new EventLoop by default, and closes it", async () => {
    let loop: BaseEventLoop | undefined;
    function* main(): Coro<void> {
      loop = getRunningLoop();
    }
    await run(main());
    assert.ok(loop instanceof EventLoop);
    assert.equal(loop.isClosed(), true);
  });

  // asyncio: test_asyncio_run_only_coro
  it("rejects a value that is not a coroutine with a TypeError", () => {
    assert.throws(() => run(1 as unknown as Coro<void>), {
      name: "TypeError",
      message: "a coroutine was expected, got 1",
    });
  });

  it("says to call a generator function passed instead of its coroutine", () => {
    function* main(): Coro<void> {}
    assert.throws(() => run(main as unknown as Coro<void>), {
      name: "TypeError",
      message:
        "a coroutine was expected, got <function main>; call it to get a coroutine: run(main())",
    });
  });

  // asyncio: test_asyncio_run_from_running_loop
  it("cannot be called from a running loop", () =>
    runVirtual(function* () {
      const inner = returns(1);
      assert.throws(() => run(inner), {
        name: "RuntimeError",
        message: "run() cannot be called from a running event loop",
      });
    }));

  // asyncio: test_asyncio_run_debug
  it("sets the loop's debug mode from the debug option", async () => {
    function* debug(): Coro<boolean> {
      return getRunningLoop().getDebug();
    }
    const [on, lines] = await recordingDebug(() => run(debug(), { debug: true }));
    assert.equal(on, true);
    assert.deepEqual(lines, ["Close <EventLoop running=false closed=false debug=true>"]);
    assert.equal(await run(debug(), { debug: false }), false);
  });

  // asyncio: test_asyncio_run_loop_factory
  it("builds its loop with loopFactory, called once", async () => {
    const made: BaseEventLoop[] = [];
    const factory = (): BaseEventLoop => {
      const loop = new VirtualEventLoop();
      made.push(loop);
      return loop;
    };
    function* main(): Coro<[BaseEventLoop, number]> {
      yield* sleep(3600);
      return [getRunningLoop(), getRunningLoop().time()];
    }
    const [loop, time] = await run(main(), { loopFactory: factory });
    assert.equal(made.length, 1);
    assert.equal(loop, made[0]);
    assert.equal(time, 3600);
    assert.equal(loop.isClosed(), true);
  });

  // asyncio: test_asyncio_run_cancels_hanging_tasks
  it("cancels the tasks main left running, and waits for them", async () => {
    const log: string[] = [];
    let leftover: Task<void> | undefined;
    function* hanging(): Coro<void> {
      try {
        yield* sleep(3600);
      } finally {
        log.push("leftover cleaned up");
      }
    }
    function* main(): Coro<string> {
      leftover = createTask(hanging());
      yield* sleep(0);
      return "main done";
    }
    const started = performance.now();
    assert.equal(await run(main()), "main done");
    assert.ok(performance.now() - started < 1000);
    assert.deepEqual(log, ["leftover cleaned up"]);
    assert.equal(leftover?.cancelled(), true);
  });

  // asyncio: test_asyncio_run_reports_hanging_tasks_errors
  it("reports a leftover task that fails while being cancelled", async () => {
    const error = new Error("boom");
    let seen: ExceptionContext[] = [];
    let leftover: Task<void> | undefined;
    function* failsOnCancel(): Coro<void> {
      try {
        yield* sleep(3600);
      } catch {
        throw error;
      }
    }
    function* main(): Coro<void> {
      leftover = createTask(failsOnCancel());
      yield* sleep(0);
    }
    const factory = (): BaseEventLoop => {
      const loop = new VirtualEventLoop();
      seen = captureExceptions(loop);
      return loop;
    };
    await run(main(), { loopFactory: factory });
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0], {
      message: "unhandled exception during run() shutdown",
      exception: error,
      task: leftover,
    });
  });

  it("does not report leftover tasks that end cancelled or with a value", async () => {
    let seen: ExceptionContext[] = [];
    function* swallowsCancel(): Coro<string> {
      try {
        yield* sleep(3600);
      } catch {
        return "swallowed";
      }
      return "slept";
    }
    function* main(): Coro<void> {
      createTask(sleep(3600));
      createTask(swallowsCancel());
      yield* sleep(0);
    }
    const factory = (): BaseEventLoop => {
      const loop = new VirtualEventLoop();
      seen = captureExceptions(loop);
      return loop;
    };
    await run(main(), { loopFactory: factory });
    assert.deepEqual(seen, []);
  });

  it("makes the process fail when main throws (real I/O)", async () => {
    const exit = await runFixture("fail.main-raises");
    assert.equal(exit.code, 1);
    assert.match(exit.stderr, /Error: spam/);
  });
});

describe("Runner", () => {
  // asyncio: test_basic (test_runners RunnerTests)
  it("run() returns the coroutine's result, run on the Runner's loop", async () => {
    const runner = new Runner({ loopFactory: virtual });
    function* main(): Coro<[string, BaseEventLoop]> {
      yield* sleep(0);
      return ["done", getRunningLoop()];
    }
    const [result, loop] = await runner.run(main());
    assert.equal(result, "done");
    assert.equal(loop, runner.getLoop());
    await runner.close();
  });

  // asyncio: test_run_keeps_context
  it("runs every coroutine in one shared Context", async () => {
    const cvar = new ContextVar<number>("cvar", { default: -1 });
    function* f(value: number): Coro<number> {
      const old = cvar.get();
      yield* sleep(0);
      cvar.set(value);
      return old;
    }
    function* getContext(): Coro<Context> {
      return copyContext();
    }
    const runner = new Runner({ loopFactory: virtual });
    try {
      assert.equal(await runner.run(f(1)), -1);
      assert.equal(await runner.run(f(2)), 1);
      assert.equal((await runner.run(getContext())).get(cvar), 2);
    } finally {
      await runner.close();
    }
    assert.equal(cvar.get(), -1);
  });

  it("run() uses the Context given in its options", async () => {
    const cvar = new ContextVar<string>("cvar", { default: "default" });
    const context = new Context();
    context.run(() => cvar.set("given"));
    function* read(): Coro<string> {
      return cvar.get();
    }
    const runner = new Runner({ loopFactory: virtual });
    assert.equal(await runner.run(read(), { context }), "given");
    assert.equal(await runner.run(read()), "default");
    await runner.close();
  });

  it("getLoop() creates the loop once, lazily", async () => {
    const made: BaseEventLoop[] = [];
    const runner = new Runner({
      loopFactory: () => {
        const loop = new VirtualEventLoop();
        made.push(loop);
        return loop;
      },
    });
    assert.equal(String(runner), "<Runner created>");
    assert.equal(made.length, 0);
    const loop = runner.getLoop();
    assert.equal(String(runner), "<Runner initialized>");
    assert.equal(runner.getLoop(), loop);
    await runner.run(returns(1));
    assert.deepEqual(made, [loop]);
    await runner.close();
    assert.equal(String(runner), "<Runner closed>");
  });

  it("uses a new EventLoop when no loopFactory is given", async () => {
    const runner = new Runner();
    const loop = runner.getLoop();
    assert.ok(loop instanceof EventLoop);
    assert.equal(await runner.run(returns("real")), "real");
    await runner.close();
    assert.equal(loop.isClosed(), true);
  });

  // asyncio: test_debug
  it("sets the loop's debug mode from the debug option", async () => {
    const on = new Runner({ debug: true, loopFactory: virtual });
    const off = new Runner({ debug: false, loopFactory: virtual });
    assert.equal(on.getLoop().getDebug(), true);
    assert.equal(off.getLoop().getDebug(), false);
    const [, lines] = await recordingDebug(() => on.close());
    assert.deepEqual(lines, ["Close <VirtualEventLoop running=false closed=false debug=true>"]);
    await off.close();
  });

  it("rejects a loopFactory that is not a function", () => {
    assert.throws(() => new Runner({ loopFactory: 1 as unknown as () => BaseEventLoop }), {
      name: "TypeError",
      message: "loopFactory must be a function, got 1",
    });
  });

  // asyncio: test_explicit_close
  it("close() closes the loop; afterwards getLoop() and run() throw 'Runner is closed'", async () => {
    const runner = new Runner({ loopFactory: virtual });
    const loop = runner.getLoop();
    await runner.close();
    assert.equal(loop.isClosed(), true);
    const closed = { name: "RuntimeError", message: "Runner is closed" };
    assert.throws(() => runner.getLoop(), closed);
    assert.throws(() => runner.run(returns(1)), closed);
  });

  // asyncio: test_double_close
  it("close() is idempotent", async () => {
    const runner = new Runner({ loopFactory: virtual });
    const loop = runner.getLoop();
    await runner.close();
    await runner.close();
    assert.equal(loop.isClosed(), true);
    assert.equal(String(runner), "<Runner closed>");
  });

  it("close() before first use does nothing: the Runner can still run", async () => {
    const runner = new Runner({ loopFactory: virtual });
    await runner.close();
    assert.equal(String(runner), "<Runner created>");
    assert.equal(await runner.run(returns("still usable")), "still usable");
    await runner.close();
  });

  it("close() cancels the tasks earlier runs left behind", async () => {
    const runner = new Runner({ loopFactory: virtual });
    let leftover: Task<void> | undefined;
    function* main(): Coro<void> {
      leftover = createTask(sleep(3600));
      yield* sleep(0);
    }
    await runner.run(main());
    assert.ok(leftover !== undefined);
    assert.equal(leftover.done(), false);
    await runner.close();
    assert.equal(leftover.cancelled(), true);
  });

  it("stays usable after a run that failed", async () => {
    const runner = new Runner({ loopFactory: virtual });
    function* fails(): Coro<void> {
      yield* sleep(1);
      throw new RangeError("bad");
    }
    await assert.rejects(runner.run(fails()), { name: "RangeError", message: "bad" });
    assert.equal(await runner.run(returns("ok")), "ok");
    await runner.close();
  });

  // asyncio: test_set_event_loop_called_once (context-manager form)
  it("`await using` closes the Runner at the end of the block", async () => {
    let loop: BaseEventLoop | undefined;
    let runnerRef: Runner | undefined;
    {
      await using runner = new Runner({ loopFactory: virtual });
      runnerRef = runner;
      loop = runner.getLoop();
      assert.equal(await runner.run(returns(5)), 5);
    }
    assert.equal(loop.isClosed(), true);
    assert.throws(() => runnerRef.getLoop(), { name: "RuntimeError", message: "Runner is closed" });
  });

  // asyncio: test_run_non_coro
  it("run() rejects a value that is not a coroutine with a TypeError", async () => {
    const runner = new Runner({ loopFactory: virtual });
    assert.throws(() => runner.run(123 as unknown as Coro<void>), {
      name: "TypeError",
      message: "a coroutine was expected, got 123",
    });
    await runner.close();
  });

  // asyncio: test_run_future
  it("run() rejects a Future with a TypeError", async () => {
    const runner = new Runner({ loopFactory: virtual });
    const future = runner.getLoop().createFuture<number>();
    assert.throws(() => runner.run(future as unknown as Coro<number>), {
      name: "TypeError",
      message: "a coroutine was expected, got <Future pending>",
    });
    await runner.close();
  });

  // asyncio: test_recursive_run
  it("run() cannot be called from a running loop", () =>
    runVirtual(function* () {
      const runner = new Runner({ loopFactory: virtual });
      assert.throws(() => runner.run(returns(1)), {
        name: "RuntimeError",
        message: "Runner.run() cannot be called from a running event loop",
      });
      assert.equal(String(runner), "<Runner created>");
    }));

  it("run() of the Runner's own loop from inside it is refused too", async () => {
    const runner = new Runner({ loopFactory: virtual });
    const errors: unknown[] = [];
    function* main(): Coro<void> {
      try {
        void runner.run(returns(1));
      } catch (error) {
        errors.push(error);
      }
      yield* sleep(0);
    }
    await runner.run(main());
    await runner.close();
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof Error);
    assert.equal(errors[0].message, "Runner.run() cannot be called from a running event loop");
  });

  it("run() rejects with CancelledError when its task is cancelled", async () => {
    const runner = new Runner({ loopFactory: virtual });
    function* main(): Coro<void> {
      const loop = getRunningLoop();
      const self = currentTask();
      loop.callLater(1, () => self?.cancel());
      yield* sleep(10);
    }
    await assert.rejects(runner.run(main()), CancelledError);
    assert.equal(runner.getLoop().time(), 1);
    await runner.close();
  });
});

/**
 * Run test/fixtures/sigint.ts in `mode`; each time its output has the next line of
 * `triggers`, send it SIGINT. Resolves with how it ended.
 */
function interrupted(mode: string, triggers: string[]): Promise<Exit> {
  const path = fileURLToPath(new URL("fixtures/sigint.js", import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path, mode], {
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 10_000,
      env: { ...process.env, TSYNCIO_DEBUG: "" },
    });
    let stdout = "";
    let stderr = "";
    const pending = [...triggers];
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      while (pending.length > 0 && stdout.includes(`${pending[0] ?? ""}\n`)) {
        pending.shift();
        child.kill("SIGINT");
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      resolve({ code, signal, stdout, stderr, ms: 0 });
    });
  });
}

describe("run() and Ctrl-C", () => {
  // asyncio: test_signal_install_not_on_main_thread's sibling test_interrupt_* (3.11+)
  it("the first SIGINT cancels the main task and run() throws KeyboardInterrupt (real I/O)", async () => {
    const exit = await interrupted("cleanup", ["ready"]);
    assert.equal(
      exit.stdout,
      [
        "ready",
        "main cancelled",
        "finally ran",
        "run() threw KeyboardInterrupt",
        "SIGINT listeners left: 0",
        "",
      ].join("\n"),
    );
    assert.equal(exit.code, 0);
  });

  it("a main task that swallows the cancellation returns its result (real I/O)", async () => {
    const exit = await interrupted("swallow", ["ready"]);
    assert.match(exit.stdout, /result: main returned after the interrupt\n/);
    assert.equal(exit.code, 0);
  });

  it("a second SIGINT ends the process at once, as Ctrl-C does by default (real I/O)", async () => {
    const exit = await interrupted("slow-cleanup", ["ready", "cleaning up slowly"]);
    assert.equal(exit.signal, "SIGINT");
    assert.doesNotMatch(exit.stdout, /finally ran/);
  });

  it("leaves SIGINT alone when the program listens for it itself (real I/O)", async () => {
    const exit = await interrupted("own-listener", ["ready"]);
    assert.match(exit.stdout, /the program's own SIGINT listener ran\n/);
    assert.doesNotMatch(exit.stdout, /main cancelled/);
  });
});
