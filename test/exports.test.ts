// Guards the public surface: adding or removing an export must be a reviewed change here.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import * as tsyncio from "../src/index.ts";
import * as testing from "../src/testing.ts";

describe("the public API", () => {
  it("index exports exactly the reviewed names", () => {
    assert.deepEqual(Object.keys(tsyncio).sort(), [
      "AI_ADDRCONFIG",
      "AI_ALL",
      "AI_CANONNAME",
      "AI_NUMERICHOST",
      "AI_NUMERICSERV",
      "AI_PASSIVE",
      "AI_V4MAPPED",
      "ALL_COMPLETED",
      "Barrier",
      "BaseEventLoop",
      "BoundedSemaphore",
      "BrokenBarrierError",
      "BrokenWorkerError",
      "CancelledError",
      "Condition",
      "Context",
      "ContextVar",
      "CoroutineClient",
      "DEVNULL",
      "DeadlockError",
      "Event",
      "EventLoop",
      "ExceptionGroup",
      "FIRST_COMPLETED",
      "FIRST_EXCEPTION",
      "Future",
      "IPPROTO_TCP",
      "IPPROTO_UDP",
      "IncompleteReadError",
      "InlineExecutor",
      "InvalidStateError",
      "KeyboardInterrupt",
      "LifoQueue",
      "LimitOverrunError",
      "Lock",
      "LookupError",
      "NI_DGRAM",
      "NI_NAMEREQD",
      "NI_NOFQDN",
      "NI_NUMERICHOST",
      "NI_NUMERICSERV",
      "PIPE",
      "PriorityQueue",
      "ProcessLookupError",
      "ProcessPoolExecutor",
      "Queue",
      "QueueEmpty",
      "QueueFull",
      "QueueShutDown",
      "Runner",
      "RuntimeError",
      "SOCK_DGRAM",
      "SOCK_RAW",
      "SOCK_STREAM",
      "STDOUT",
      "Semaphore",
      "SendfileNotAvailableError",
      "StreamReader",
      "StreamReaderProtocol",
      "Task",
      "TaskGroup",
      "Timeout",
      "TimeoutError",
      "Token",
      "WorkerPoolExecutor",
      "allTasks",
      "asCompleted",
      "captureCallGraph",
      "copyContext",
      "createEagerTaskFactory",
      "createSubprocessExec",
      "createSubprocessShell",
      "createTask",
      "currentTask",
      "eagerTaskFactory",
      "ensureFuture",
      "exceptStar",
      "formatCallGraph",
      "gather",
      "getRunningLoop",
      "isCoroutine",
      "isCoroutineFunction",
      "isFuture",
      "moveOnAfter",
      "moveOnAt",
      "newEventLoop",
      "openConnection",
      "openUnixConnection",
      "printCallGraph",
      "rethrowIfCancelled",
      "run",
      "runCoroutineThreadsafe",
      "serveCoroutines",
      "shield",
      "sleep",
      "startServer",
      "startUnixServer",
      "taskGroup",
      "timeout",
      "timeoutAt",
      "toThread",
      "transfer",
      "wait",
      "waitFor",
      "wrapPromise",
    ]);
  });

  it("tsyncio/testing exports exactly the reviewed names", () => {
    assert.deepEqual(Object.keys(testing).sort(), [
      "DeadlockError",
      "VirtualEventLoop",
      "isDeadlock",
      "runVirtual",
    ]);
  });

  it("package.json exposes only the two entry points", () => {
    const pkg = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as {
      exports: Record<string, unknown>;
      dependencies?: Record<string, string>;
    };
    assert.deepEqual(Object.keys(pkg.exports).sort(), [".", "./package.json", "./testing"]);
    assert.equal(pkg.dependencies, undefined, "the library has no runtime dependencies");
  });

  it("every exported error class has its own name", () => {
    const special: Record<string, () => Error> = {
      ExceptionGroup: () => new tsyncio.ExceptionGroup("m", [new Error("x")]),
      IncompleteReadError: () => new tsyncio.IncompleteReadError(new Uint8Array(0), 1),
      LimitOverrunError: () => new tsyncio.LimitOverrunError("m", 0),
      DeadlockError: () => new tsyncio.DeadlockError("m", []),
    };
    let checked = 0;
    for (const [key, value] of Object.entries(tsyncio)) {
      if (typeof value !== "function" || !(value.prototype instanceof Error)) continue;
      const make = special[key] ?? (() => new (value as new (message: string) => Error)("m"));
      const error = make();
      assert.ok(error instanceof Error);
      assert.equal(error.name, key);
      checked++;
    }
    assert.equal(checked, 17);
  });
});
