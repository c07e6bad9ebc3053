// Tests for src/executors/bridge.ts: serveCoroutines on the loop's thread and CoroutineClient
// in a real worker thread (test/fixtures/bridge-worker.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MessageChannel, Worker } from "node:worker_threads";
import {
  CoroutineClient,
  getRunningLoop,
  serveCoroutines,
  sleep,
  wrapPromise,
  type Coro,
} from "../../src/index.ts";
import { runVirtual } from "../../src/testing.ts";

const WORKER = new URL("../fixtures/bridge-worker.js", import.meta.url);

/** Serve the test's handlers to a worker running `scenario`; return what it reports. */
function* inWorker(scenario: string, log: string[] = []): Coro<unknown> {
  const { port1, port2 } = new MessageChannel();
  const service = serveCoroutines(port1, {
    *add(a: number, b: number): Coro<number> {
      yield* sleep(0.01);
      return a + b;
    },
    *fail(reason: string): Coro<never> {
      yield* sleep(0);
      throw new RangeError(reason);
    },
    *forever(): Coro<void> {
      try {
        log.push("forever started");
        yield* sleep(3600);
      } finally {
        log.push("forever cleaned up");
      }
    },
  });
  const worker = new Worker(WORKER, {
    workerData: { port: port2, scenario },
    transferList: [port2],
  });
  try {
    return yield* wrapPromise(
      new Promise((resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", reject);
      }),
    );
  } finally {
    service.close();
    yield* wrapPromise(worker.terminate());
  }
}

describe("serveCoroutines and CoroutineClient", () => {
  it("run a worker's calls on the loop and send back results and errors (real I/O)", () =>
    runVirtual(function* () {
      const results = yield* inWorker("calls");
      assert.deepEqual(results, [
        { value: 42 },
        { error: "RangeError: no config" },
        { error: "TypeError: no coroutine named missing is served" },
        { error: "DataCloneError: () => 1 could not be cloned." },
      ]);
    }));

  it("cancel the loop's task when the worker aborts its call (real I/O)", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const results = yield* inWorker("abort", log);
      assert.deepEqual(results, [{ error: "CancelledError: " }]);
      assert.deepEqual(log, ["forever started", "forever cleaned up"]);
    }));

  it("reject the calls still waiting when the client closes (real I/O)", () =>
    runVirtual(function* () {
      const results = yield* inWorker("close");
      assert.deepEqual(results, [
        { error: "RuntimeError: the client is closed" },
        { error: "RuntimeError: the client is closed" },
      ]);
    }));

  it("refuse handlers that are not generator functions, and ports that are not ports", () =>
    runVirtual(function* () {
      const { port1, port2 } = new MessageChannel();
      assert.throws(() => serveCoroutines(port1, { plain: (() => 1) as never }), {
        name: "TypeError",
        message: /handler plain must be a generator function/,
      });
      assert.throws(() => serveCoroutines({} as never, {}), TypeError);
      assert.throws(() => new CoroutineClient(null as never), TypeError);
      port1.close();
      port2.close();
      assert.ok(getRunningLoop().isRunning());
    }));
});
