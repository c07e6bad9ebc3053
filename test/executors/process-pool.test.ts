// ProcessPoolExecutor on real child processes (real I/O): one process at a time, started
// once for the describe where the tests allow it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  BrokenWorkerError,
  CancelledError,
  ProcessPoolExecutor,
  RuntimeError,
  transfer,
} from "../../src/index.ts";
import type * as jobs from "../fixtures/executor-jobs.ts";
import { runFixture } from "../helpers/loop.ts";

const JOBS = new URL("../fixtures/executor-jobs.js", import.meta.url);

describe("ProcessPoolExecutor (real I/O)", () => {
  let pool: ProcessPoolExecutor<typeof jobs>;
  before(() => {
    pool = new ProcessPoolExecutor<typeof jobs>(JOBS, { maxWorkers: 1 });
  });
  after(() => pool.shutdown());

  it("runs an export in another process and returns its result", async () => {
    assert.equal(await pool.call("add", 1, 2), 3);
    assert.notEqual(await pool.call("pid"), process.pid);
  });

  it("runs a self-contained function sent as source", async () => {
    assert.equal(await pool.submit((a: number, b: number) => a * b, [6, 7]), 42);
  });

  it("rebuilds an error with its name, message and fields", async () => {
    await assert.rejects(pool.call("fail", "bad input"), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.equal(error.name, "ParseError");
      assert.equal(error.message, "bad input");
      assert.equal((error as Error & { line: number }).line, 7);
      return true;
    });
  });

  it("copies a marked buffer instead of moving it: processes share no memory", async () => {
    const bytes = new Uint8Array(64);
    assert.equal(await pool.call("byteLength", transfer(bytes, [bytes.buffer])), 64);
    assert.equal(bytes.byteLength, 64);
  });

  it("fails the job of a process that exits, and replaces the process", async () => {
    const before = await pool.call("pid");
    await assert.rejects(
      pool.call("exit", 3),
      (error: unknown) =>
        error instanceof BrokenWorkerError &&
        error.message === "the worker running exit() exited with code 3",
    );
    assert.notEqual(await pool.call("pid"), before);
  });

  it("fails the job of a process whose error escaped the job, with that error as cause", async () => {
    await assert.rejects(pool.call("crashAsync"), (error: unknown) => {
      assert.ok(error instanceof BrokenWorkerError);
      assert.equal(
        error.message,
        "the worker running crashAsync() crashed: Error('escaped the job')",
      );
      assert.ok(error.cause instanceof Error);
      return true;
    });
    assert.equal(await pool.call("add", 2, 2), 4);
  });

  it("kills the process of a cancelled running job and replaces it", async () => {
    const before = await pool.call("pid");
    const controller = new AbortController();
    const started = performance.now();
    const spinning = pool.submit("spin", [5000], controller.signal);
    controller.abort(new CancelledError());
    await assert.rejects(spinning, CancelledError);
    assert.ok(performance.now() - started < 2000, "the job did not run to its end");
    assert.notEqual(await pool.call("pid"), before);
  });
});

describe("ProcessPoolExecutor.shutdown (real I/O)", () => {
  it("waits for the running job and the process's exit, then refuses new jobs", async () => {
    const pool = new ProcessPoolExecutor<typeof jobs>(JOBS, { maxWorkers: 1 });
    const log: string[] = [];
    const job = pool.call("addLater", 1, 1).then((value) => log.push(`job ${value}`));
    await pool.shutdown().then(() => log.push("shut down"));
    await job;
    assert.deepEqual(log, ["job 2", "shut down"]);
    assert.throws(
      () => pool.call("add", 1, 1),
      (error: unknown) =>
        error instanceof RuntimeError &&
        error.message === "cannot schedule new futures after shutdown",
    );
  });
});

describe("idle pools (real I/O)", () => {
  it("do not keep the process alive", async () => {
    const exit = await runFixture("ok.exits-with-idle-workers");
    assert.equal(exit.stderr, "");
    assert.equal(exit.stdout, "results 2 3\n");
    assert.equal(exit.code, 0);
    assert.ok(exit.ms < 4000, `took ${exit.ms} ms`);
  });
});
