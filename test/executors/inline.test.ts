import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CancelledError, InlineExecutor, RuntimeError } from "../../src/index.ts";
import * as jobs from "../fixtures/executor-jobs.ts";

describe("InlineExecutor", () => {
  it("runs a function at once, with the very arguments given", async () => {
    const log: string[] = [];
    const executor = new InlineExecutor();
    const items = [1];
    const result = executor.submit(
      (list: number[]) => {
        log.push("ran");
        return list;
      },
      [items],
    );
    log.push("submitted");
    assert.equal(await result, items);
    assert.deepEqual(log, ["ran", "submitted"]);
  });

  it("calls a module's export by name", async () => {
    const executor = new InlineExecutor<typeof jobs>(jobs);
    assert.equal(await executor.call("add", 2, 3), 5);
    assert.equal(await executor.call("addLater", 2, 3), 5);
  });

  it("rejects with the very error the job threw", async () => {
    const error = new RangeError("out");
    const executor = new InlineExecutor();
    await assert.rejects(
      executor.submit(() => {
        throw error;
      }, []),
      (thrown: unknown) => thrown === error,
    );
  });

  it("skips the job when the signal is already aborted", async () => {
    let ran = false;
    const executor = new InlineExecutor();
    const reason = new CancelledError("early");
    await assert.rejects(
      executor.submit(
        () => {
          ran = true;
        },
        [],
        AbortSignal.abort(reason),
      ),
      (thrown: unknown) => thrown === reason,
    );
    assert.equal(ran, false);
  });

  it("refuses unknown exports, generator functions and non-functions", () => {
    const executor = new InlineExecutor<typeof jobs>(jobs);
    assert.throws(() => executor.submit("nope", []), {
      name: "TypeError",
      message: "the module has no exported function named 'nope' (got undefined)",
    });
    assert.throws(() => executor.submit(function* () {}, []), {
      name: "TypeError",
      message: "coroutines cannot be used with runInExecutor()",
    });
    assert.throws(() => executor.submit(42 as never, []), {
      name: "TypeError",
      message: "a callable object was expected by runInExecutor(), got 42",
    });
    assert.throws(() => new InlineExecutor().submit("add", []), {
      name: "TypeError",
      message:
        "InlineExecutor has no module to call 'add' in: pass a function, or create it with a module",
    });
  });

  it("refuses jobs after shutdown", async () => {
    const executor = new InlineExecutor();
    await executor.shutdown();
    assert.equal(String(executor), "<InlineExecutor shutdown>");
    assert.throws(
      () => executor.submit(() => 1, []),
      (error: unknown) =>
        error instanceof RuntimeError &&
        error.message === "cannot schedule new futures after shutdown",
    );
  });
});
