// WorkerPoolExecutor on real worker threads (real I/O): each describe starts its workers
// once; jobs are tiny, and the waiting ones are released through shared memory.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  BrokenWorkerError,
  CancelledError,
  RuntimeError,
  WorkerPoolExecutor,
  transfer,
} from "../../src/index.ts";
import type * as jobs from "../fixtures/executor-jobs.ts";

const JOBS = new URL("../fixtures/executor-jobs.js", import.meta.url);

/** Poll (1 ms apart, up to 2 s) until `check()` holds. */
async function until(check: () => boolean): Promise<void> {
  const end = performance.now() + 2000;
  while (!check()) {
    if (performance.now() > end) throw new Error("timed out waiting for a condition");
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function release(shared: Int32Array, index: number): void {
  Atomics.store(shared, index, 1);
  Atomics.notify(shared, index);
}

describe("WorkerPoolExecutor (real I/O)", () => {
  let pool: WorkerPoolExecutor<typeof jobs>;
  before(() => {
    pool = new WorkerPoolExecutor<typeof jobs>(JOBS, { maxWorkers: 1 });
  });
  after(() => pool.shutdown());

  it("calls an export by name and returns its result", async () => {
    assert.equal(await pool.call("add", 1, 2), 3);
  });

  it("awaits an async export", async () => {
    assert.equal(await pool.call("addLater", 2, 3), 5);
  });

  it("runs a self-contained function sent as source", async () => {
    assert.equal(await pool.submit((a: number, b: number) => a * b, [6, 7]), 42);
  });

  it("rebuilds an error with its name, message, fields and stack", async () => {
    const error = await pool.call("fail", "bad input").then(
      () => assert.fail("no error"),
      (e: unknown) => e as Error & { line: number },
    );
    assert.ok(error instanceof Error);
    assert.equal(error.name, "ParseError");
    assert.equal(error.message, "bad input");
    assert.equal(error.line, 7);
    assert.match(error.stack ?? "", /^ParseError: bad input\n\s+at fail \(.*executor-jobs\.js/);
  });

  it("keeps a built-in error's class and its cause", async () => {
    await assert.rejects(pool.call("failWithType"), (error: unknown) => {
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, "not a number");
      assert.ok(error.cause instanceof RangeError);
      assert.equal(error.cause.message, "too big");
      return true;
    });
  });

  it("rejects with a thrown value that is not an error, as it is", async () => {
    await assert.rejects(pool.call("throwString"), (error: unknown) => error === "plain string");
  });

  it("fails a job whose export does not exist or is not a function", async () => {
    await assert.rejects(
      pool.submit("nope", []),
      (error: unknown) =>
        error instanceof TypeError &&
        error.message === `${JOBS.href} has no exported function named 'nope' (got undefined)`,
    );
    await assert.rejects(pool.submit("notAFunction", []), /named 'notAFunction' \(got number\)/);
  });

  it("fails a job whose arguments cannot be cloned, and the worker stays usable", async () => {
    await assert.rejects(
      pool.submit("add", [() => 1, 2]),
      (error: unknown) =>
        error instanceof TypeError &&
        error.message.startsWith("the arguments of add() cannot be sent to a worker: "),
    );
    assert.equal(await pool.call("add", 1, 1), 2);
  });

  it("fails a job whose result cannot be cloned", async () => {
    await assert.rejects(
      pool.call("returnFunction"),
      (error: unknown) =>
        error instanceof TypeError &&
        error.message.startsWith(
          "the result of returnFunction() cannot be sent back from the worker: ",
        ),
    );
  });

  it("fails the job of a worker that exits, and replaces the worker", async () => {
    const before = await pool.call("whoAmI");
    await assert.rejects(
      pool.call("exit", 3),
      (error: unknown) =>
        error instanceof BrokenWorkerError &&
        error.message === "the worker running exit() exited with code 3" &&
        error.cause === undefined,
    );
    const after = await pool.call("whoAmI");
    assert.notEqual(after, before);
    assert.equal(await pool.call("add", 2, 2), 4);
  });

  it("fails the job of a worker whose error escaped the job, with that error as cause", async () => {
    await assert.rejects(pool.call("crashAsync"), (error: unknown) => {
      assert.ok(error instanceof BrokenWorkerError);
      assert.equal(
        error.message,
        "the worker running crashAsync() crashed: Error('escaped the job')",
      );
      assert.ok(error.cause instanceof Error);
      assert.equal(error.cause.message, "escaped the job");
      return true;
    });
    assert.equal(await pool.call("add", 3, 3), 6);
  });

  it("drops a cancelled job that has not started", async () => {
    const shared = new Int32Array(new SharedArrayBuffer(12));
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const first = pool.call("enterAndWait", shared);
    const controller = new AbortController();
    const second = pool.submit("increment", [counter], controller.signal);
    assert.equal(
      String(pool),
      "<WorkerPoolExecutor module=executor-jobs.js workers=1/1 busy=1 queued=1>",
    );
    const reason = new CancelledError("no longer wanted");
    controller.abort(reason);
    await assert.rejects(second, (error: unknown) => error === reason);
    assert.equal(
      String(pool),
      "<WorkerPoolExecutor module=executor-jobs.js workers=1/1 busy=1 queued=0>",
    );
    release(shared, 2);
    assert.equal(await first, 1);
    assert.equal(await pool.call("increment", counter), 1, "the cancelled job never ran");
  });

  it("terminates the worker of a cancelled running job and replaces it", async () => {
    const before = await pool.call("whoAmI");
    const controller = new AbortController();
    const started = performance.now();
    const spinning = pool.submit("spin", [5000], controller.signal);
    assert.match(String(pool), /busy=1/);
    controller.abort(new CancelledError());
    await assert.rejects(spinning, CancelledError);
    assert.ok(performance.now() - started < 2000, "the job did not run to its end");
    assert.notEqual(await pool.call("whoAmI"), before);
  });

  it("rejects at once when the signal is already aborted", async () => {
    const counter = new Int32Array(new SharedArrayBuffer(4));
    await assert.rejects(
      pool.submit("increment", [counter], AbortSignal.abort(new CancelledError("early"))),
      /early/,
    );
    assert.equal(Atomics.load(counter, 0), 0);
  });

  it("moves a marked argument's buffer to the worker instead of copying it", async () => {
    const bytes = new Uint8Array(1024);
    assert.equal(await pool.call("byteLength", transfer(bytes, [bytes.buffer])), 1024);
    assert.equal(bytes.byteLength, 0, "the buffer now belongs to the worker");
    const kept = new Uint8Array(16);
    assert.equal(await pool.call("byteLength", kept), 16);
    assert.equal(kept.byteLength, 16, "unmarked: copied");
  });

  it("receives a buffer the job marked for transfer", async () => {
    const bytes = await pool.call("makeBytes", 8);
    assert.deepEqual([...bytes], [7, 7, 7, 7, 7, 7, 7, 7]);
  });
});

describe("WorkerPoolExecutor with maxWorkers (real I/O)", () => {
  it("runs at most maxWorkers jobs at once and queues the others", async () => {
    const pool = new WorkerPoolExecutor<typeof jobs>(JOBS, { maxWorkers: 2 });
    try {
      const shared = new Int32Array(new SharedArrayBuffer(12));
      const running = [1, 2, 3, 4].map(() => pool.call("enterAndWait", shared));
      await until(() => Atomics.load(shared, 0) === 2);
      assert.equal(
        String(pool),
        "<WorkerPoolExecutor module=executor-jobs.js workers=2/2 busy=2 queued=2>",
      );
      release(shared, 2);
      const counts = await Promise.all(running);
      assert.equal(Atomics.load(shared, 1), 2);
      assert.ok(counts.every((count) => count <= 2));
    } finally {
      await pool.shutdown();
    }
  });

  it("rejects a bad maxWorkers", () => {
    assert.throws(() => new WorkerPoolExecutor(JOBS, { maxWorkers: 0 }), {
      name: "RangeError",
      message: "maxWorkers must be >= 1, got 0",
    });
    assert.throws(() => new WorkerPoolExecutor(JOBS, { maxWorkers: 1.5 }), {
      name: "TypeError",
      message: "maxWorkers must be an integer, got 1.5",
    });
  });

  it("rejects a relative module path", () => {
    assert.throws(() => new WorkerPoolExecutor("./jobs.js"), {
      name: "TypeError",
      message:
        "module must be a URL (new URL(\"./jobs.js\", import.meta.url)), a URL string or an absolute path, got './jobs.js'",
    });
  });
});

describe("WorkerPoolExecutor without a module (real I/O)", () => {
  it("runs functions and refuses export names", async () => {
    const pool = new WorkerPoolExecutor(null, { maxWorkers: 1 });
    try {
      assert.equal(await pool.submit((s: string) => s.toUpperCase(), ["abc"]), "ABC");
      assert.throws(() => pool.submit("add", [1, 2]), {
        name: "TypeError",
        message:
          "WorkerPoolExecutor has no module to call 'add' in: pass a function, or create it with a module URL",
      });
    } finally {
      await pool.shutdown();
    }
  });

  it("refuses a function that has no source to send, at once", () => {
    const pool = new WorkerPoolExecutor(null, { maxWorkers: 1 });
    assert.throws(() => pool.submit(Math.max, []), {
      name: "TypeError",
      message:
        "runInExecutor() cannot send <function max> to a worker: it is a native or bound function, which has no source code to send",
    });
    return pool.shutdown();
  });
});

describe("WorkerPoolExecutor.shutdown (real I/O)", () => {
  it("waits for the running job, then refuses new jobs", async () => {
    const pool = new WorkerPoolExecutor<typeof jobs>(JOBS, { maxWorkers: 1 });
    const log: string[] = [];
    const job = pool.call("addLater", 1, 1).then((value) => log.push(`job ${value}`));
    await pool.shutdown().then(() => log.push("shut down"));
    await job;
    assert.deepEqual(log, ["job 2", "shut down"]);
    assert.equal(
      String(pool),
      "<WorkerPoolExecutor module=executor-jobs.js workers=0/1 busy=0 queued=0 shutdown>",
    );
    assert.throws(
      () => pool.call("add", 1, 1),
      (error: unknown) =>
        error instanceof RuntimeError &&
        error.message === "cannot schedule new futures after shutdown",
    );
  });

  it("runs the queued jobs before ending, unless cancelFutures", async () => {
    const pool = new WorkerPoolExecutor<typeof jobs>(JOBS, { maxWorkers: 1 });
    const shared = new Int32Array(new SharedArrayBuffer(12));
    const running = pool.call("enterAndWait", shared);
    const queued = pool.call("add", 1, 2);
    const cancelled = new WorkerPoolExecutor<typeof jobs>(JOBS, { maxWorkers: 1 });
    const shared2 = new Int32Array(new SharedArrayBuffer(12));
    const running2 = cancelled.call("enterAndWait", shared2);
    const queued2 = cancelled.call("add", 1, 2);
    const done = pool.shutdown();
    const done2 = cancelled.shutdown(true, { cancelFutures: true });
    await assert.rejects(queued2, {
      name: "CancelledError",
      message: "WorkerPoolExecutor was shut down",
    });
    release(shared, 2);
    release(shared2, 2);
    assert.equal(await running, 1);
    assert.equal(await queued, 3);
    assert.equal(await running2, 1);
    await Promise.all([done, done2]);
  });

  it("returns at once without wait; the running job still finishes", async () => {
    const pool = new WorkerPoolExecutor<typeof jobs>(JOBS, { maxWorkers: 1 });
    const log: string[] = [];
    const job = pool.call("addLater", 2, 2).then((value) => log.push(`job ${value}`));
    await pool.shutdown(false).then(() => log.push("shutdown returned"));
    await job;
    assert.deepEqual(log, ["shutdown returned", "job 4"]);
  });
});
