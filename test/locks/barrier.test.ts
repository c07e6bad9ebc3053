// Tests for src/locks/barrier.ts. Ported from CPython's test_locks.py (BarrierTests), with
// N = 5 as there; `gather` becomes waiting for each task in turn.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import {
  BrokenBarrierError,
  CancelledError,
  RuntimeError,
  createTask,
  sleep,
  type Coro,
  type Task,
} from "../../src/index.ts";
import { Barrier } from "../../src/locks/index.ts";
import { runVirtual } from "../../src/testing.ts";
import { thrownBy } from "../helpers/coro.ts";

const N = 5;

/** asyncio.gather: wait for every task in order and return their results. */
function* gather<T>(tasks: readonly Task<T>[]): Coro<T[]> {
  const results: T[] = [];
  for (const task of tasks) results.push(yield* task);
  return results;
}

/** `n` tasks running `coro()`. */
function makeTasks<T>(n: number, coro: () => Coro<T>): Task<T>[] {
  return Array.from({ length: n }, () => createTask(coro()));
}

/** What each task ended with: its result, or the name of its error. */
function* outcomes(tasks: readonly Task<unknown>[]): Coro<unknown[]> {
  const seen: unknown[] = [];
  for (const task of tasks) {
    try {
      seen.push(yield* task);
    } catch (error) {
      seen.push((error as Error).name);
    }
  }
  return seen;
}

describe("Barrier", () => {
  // asyncio: test_barrier
  it("starts filling", () => {
    const barrier = new Barrier(N);
    assert.equal(String(barrier), "<Barrier [filling, waiters:0/5]>");
    assert.equal(inspect(barrier), "<Barrier [filling, waiters:0/5]>");
    assert.equal(barrier.parties, N);
    assert.equal(barrier.nWaiting, 0);
    assert.equal(barrier.broken, false);
  });

  // asyncio: test_repr
  it("shows filling, draining, resetting and broken states in its repr", () =>
    runVirtual(function* () {
      const barrier = new Barrier(N);
      const waiters: Task<number>[] = [];
      const add = (n: number): void => {
        for (let i = 0; i < n; i++) waiters.push(createTask(barrier.wait()));
      };
      add(2);
      yield* sleep(0);
      assert.equal(String(barrier), "<Barrier [filling, waiters:2/5]>");
      add(barrier.parties - barrier.nWaiting);
      yield* sleep(0);
      assert.equal(String(barrier), "<Barrier [draining, waiters:0/5]>");
      add(2);
      yield* sleep(0);
      assert.equal(String(barrier), "<Barrier [filling, waiters:2/5]>");
      yield* barrier.reset();
      assert.equal(String(barrier), "<Barrier [resetting, waiters:0/5]>");
      add(2);
      yield* sleep(0);
      assert.equal(String(barrier), "<Barrier [filling, waiters:2/5]>");
      yield* barrier.abort();
      assert.equal(String(barrier), "<Barrier [broken]>");
      assert.equal(barrier.broken, true);
      const seen = yield* outcomes(waiters);
      assert.deepEqual(seen.slice(5).sort(), Array(4).fill("BrokenBarrierError"));
      assert.deepEqual(seen.slice(0, 5).sort(), [0, 1, 2, 3, 4]);
    }));

  // asyncio: test_barrier_parties
  it("rejects parties below 1 or not an integer", () => {
    for (const parties of [0, -4]) {
      assert.throws(() => new Barrier(parties), {
        name: "RangeError",
        message: `parties must be >= 1, got ${parties}`,
      });
    }
    assert.throws(() => new Barrier(2.5), {
      name: "TypeError",
      message: "parties must be an integer, got 2.5",
    });
    assert.ok(new Barrier(N) instanceof Barrier);
  });

  // asyncio: test_context_manager
  it("gives each of the parties a distinct index", () =>
    runVirtual(function* () {
      const barrier = new Barrier(3);
      const results = yield* gather(makeTasks(3, () => barrier.wait()));
      assert.deepEqual([...results].sort(), [0, 1, 2]);
      assert.equal(barrier.nWaiting, 0);
      assert.equal(barrier.broken, false);
    }));

  it("gives the last arrival the highest index", () =>
    runVirtual(function* () {
      const barrier = new Barrier(3);
      const tasks = makeTasks(2, () => barrier.wait());
      yield* sleep(0);
      assert.equal(yield* barrier.wait(), 2);
      assert.deepEqual(yield* gather(tasks), [0, 1]);
    }));

  // asyncio: test_filling_one_task
  it("lets a single party through at once", () =>
    runVirtual(function* () {
      const barrier = new Barrier(1);
      assert.equal(yield* barrier.wait(), 0);
      assert.equal(barrier.nWaiting, 0);
      assert.equal(barrier.broken, false);
    }));

  // asyncio: test_filling_one_task_twice
  it("lets a single party through twice", () =>
    runVirtual(function* () {
      const barrier = new Barrier(1);
      const t1 = createTask(barrier.wait());
      yield* sleep(0);
      assert.equal(barrier.nWaiting, 0);
      const t2 = createTask(barrier.wait());
      yield* sleep(0);
      assert.equal(t1.result(), t2.result());
      assert.equal(t1.done(), t2.done());
      assert.equal(barrier.nWaiting, 0);
      assert.equal(barrier.broken, false);
    }));

  // asyncio: test_filling_task_by_task
  it("counts the waiters as they arrive", () =>
    runVirtual(function* () {
      const barrier = new Barrier(3);
      const t1 = createTask(barrier.wait());
      yield* sleep(0);
      assert.equal(barrier.nWaiting, 1);
      assert.equal(String(barrier), "<Barrier [filling, waiters:1/3]>");
      const t2 = createTask(barrier.wait());
      yield* sleep(0);
      assert.equal(barrier.nWaiting, 2);
      const t3 = createTask(barrier.wait());
      yield* sleep(0);
      yield* gather([t1, t2, t3]);
      assert.equal(barrier.nWaiting, 0);
      assert.equal(barrier.broken, false);
    }));

  // asyncio: test_filling_tasks_wait_twice
  it("can be passed twice in a row by the same tasks", () =>
    runVirtual(function* () {
      const barrier = new Barrier(N);
      const results: boolean[] = [];
      yield* gather(
        makeTasks(N, function* () {
          yield* barrier.wait();
          results.push(true);
          yield* barrier.wait();
          results.push(false);
        }),
      );
      assert.deepEqual(results, [
        ...Array<boolean>(N).fill(true),
        ...Array<boolean>(N).fill(false),
      ]);
      assert.equal(barrier.nWaiting, 0);
      assert.equal(barrier.broken, false);
    }));

  // asyncio: test_filling_tasks_check_return_value
  it("returns distinct indices on every round", () =>
    runVirtual(function* () {
      const barrier = new Barrier(N);
      let firstRound = 0;
      const res = yield* gather(
        makeTasks(N, function* () {
          yield* barrier.wait();
          firstRound++;
          return yield* barrier.wait();
        }),
      );
      assert.equal(firstRound, N);
      assert.deepEqual([...res].sort(), [0, 1, 2, 3, 4]);
      assert.equal(barrier.nWaiting, 0);
      assert.equal(barrier.broken, false);
    }));

  // asyncio: test_draining_state
  it("drains until the last task is out, which leaves it filling", () =>
    runVirtual(function* () {
      const barrier = new Barrier(N);
      const results: [boolean, number][] = [];
      yield* gather(
        makeTasks(N, function* () {
          const index = yield* barrier.wait();
          results.push([String(barrier).includes("draining"), index]);
        }),
      );
      assert.deepEqual(results, [
        [true, 4],
        [true, 0],
        [true, 1],
        [true, 2],
        [false, 3],
      ]);
      assert.equal(barrier.nWaiting, 0);
    }));

  // asyncio: test_blocking_tasks_while_draining
  it("makes tasks arriving while it drains wait for the next round", () =>
    runVirtual(function* () {
      const rewait = 2;
      const barrier = new Barrier(N);
      const barrierNoWaiting = new Barrier(N - rewait);
      let rewaitN = rewait;
      yield* gather(
        makeTasks(N, function* () {
          yield* barrier.wait();
          if (rewaitN > 0) {
            rewaitN--;
            yield* barrier.wait();
          } else {
            yield* barrierNoWaiting.wait();
            yield* barrier.wait();
          }
        }),
      );
      assert.equal(barrier.nWaiting, 0);
      assert.equal(barrierNoWaiting.nWaiting, 0);
    }));

  // asyncio: test_filling_tasks_cancel_one
  it("lowers the count when a waiting task is cancelled", () =>
    runVirtual(function* () {
      const barrier = new Barrier(3);
      let passed = 0;
      function* coro(): Coro<void> {
        yield* barrier.wait();
        passed++;
      }
      const t1 = createTask(coro());
      yield* sleep(0);
      assert.equal(barrier.nWaiting, 1);
      const t2 = createTask(coro());
      yield* sleep(0);
      assert.equal(barrier.nWaiting, 2);
      t1.cancel();
      yield* sleep(0);
      assert.equal(barrier.nWaiting, 1);
      assert.ok((yield* thrownBy(t1)) instanceof CancelledError);
      assert.equal(t1.cancelled(), true);
      const t3 = createTask(coro());
      yield* sleep(0);
      assert.equal(barrier.nWaiting, 2);
      const t4 = createTask(coro());
      yield* gather([t2, t3, t4]);
      assert.equal(passed, 3);
      assert.equal(barrier.nWaiting, 0);
      assert.equal(barrier.broken, false);
    }));

  // asyncio: test_reset_barrier
  it("reset() on an empty barrier leaves it filling", () =>
    runVirtual(function* () {
      const barrier = new Barrier(1);
      createTask(barrier.reset());
      yield* sleep(0);
      assert.equal(barrier.nWaiting, 0);
      assert.equal(barrier.broken, false);
      assert.equal(String(barrier), "<Barrier [filling, waiters:0/1]>");
    }));

  // asyncio: test_reset_barrier_while_tasks_waiting
  it("reset() sends the waiting tasks away with BrokenBarrierError", () =>
    runVirtual(function* () {
      const barrier = new Barrier(N);
      const errors: string[] = [];
      const tasks = makeTasks(N - 1, function* () {
        try {
          yield* barrier.wait();
        } catch (error) {
          if (!(error instanceof BrokenBarrierError)) throw error;
          errors.push(error.message);
        }
      });
      yield* sleep(0);
      const reset = createTask(barrier.reset());
      yield* gather(tasks);
      yield* reset;
      assert.deepEqual(errors, Array(N - 1).fill("Abort or reset of barrier"));
      assert.equal(barrier.nWaiting, 0);
      assert.equal(String(barrier), "<Barrier [filling, waiters:0/5]>");
      assert.equal(barrier.broken, false);
    }));

  // asyncio: test_reset_barrier_when_tasks_half_draining
  it("reset() while a round drains breaks it for the tasks still inside", () =>
    runVirtual(function* () {
      const barrier = new Barrier(N);
      const broken: boolean[] = [];
      const restOfTasks = Math.floor(N / 2);
      let out = 0;
      yield* gather(
        makeTasks(N, function* () {
          try {
            yield* barrier.wait();
          } catch (error) {
            if (!(error instanceof BrokenBarrierError)) throw error;
            broken.push(true);
            return;
          }
          // asyncio's test checks `restOfTasks == barrier._count`: the tasks still inside.
          if (++out === N - restOfTasks) yield* barrier.reset();
        }),
      );
      assert.deepEqual(broken, Array(restOfTasks).fill(true));
      assert.equal(barrier.nWaiting, 0);
      assert.equal(String(barrier), "<Barrier [filling, waiters:0/5]>");
    }));

  // asyncio: test_reset_barrier_when_tasks_half_draining_half_blocking
  it("reset() by drained tasks breaks only the round still waiting", () =>
    runVirtual(function* () {
      const barrier = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const blockingTasks = Math.floor(N / 2);
      let count = 0;
      yield* gather(
        makeTasks(N, function* () {
          try {
            yield* barrier.wait();
          } catch (error) {
            if (!(error instanceof BrokenBarrierError)) throw error;
            results1.push(true);
            yield* barrier.wait();
            return;
          }
          count++;
          if (count > blockingTasks) {
            yield* barrier.reset();
            yield* barrier.wait();
          } else {
            try {
              yield* barrier.wait();
            } catch (error) {
              if (!(error instanceof BrokenBarrierError)) throw error;
              results2.push(true);
            }
          }
        }),
      );
      assert.deepEqual(results1, Array(blockingTasks).fill(true));
      assert.deepEqual(results2, []);
      assert.equal(barrier.nWaiting, 0);
      assert.equal(String(barrier), "<Barrier [filling, waiters:0/5]>");
    }));

  // asyncio: test_reset_barrier_while_tasks_waiting_and_waiting_again
  it("can be filled again by the tasks a reset sent away", () =>
    runVirtual(function* () {
      const barrier = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const tasks = makeTasks(N - 1, function* () {
        try {
          yield* barrier.wait();
        } catch (error) {
          if (!(error instanceof BrokenBarrierError)) throw error;
          results1.push(true);
        } finally {
          yield* barrier.wait();
          results2.push(true);
        }
      });
      const reset = createTask(barrier.reset());
      yield* sleep(0);
      const last = createTask(
        (function* (): Coro<void> {
          yield* barrier.wait();
          results2.push(true);
        })(),
      );
      yield* gather(tasks);
      yield* reset;
      yield* last;
      assert.equal(barrier.broken, false);
      assert.deepEqual(results1, Array(N - 1).fill(true));
      assert.deepEqual(results2, Array(N).fill(true));
      assert.equal(barrier.nWaiting, 0);
    }));

  // asyncio: test_reset_barrier_while_tasks_draining
  it("reset() by the last task out of a round does not break the next round", () =>
    runVirtual(function* () {
      const barrier = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const results3: boolean[] = [];
      let count = 0;
      yield* gather(
        makeTasks(N, function* () {
          yield* barrier.wait();
          count++;
          if (count === N) {
            yield* barrier.reset();
            yield* barrier.wait();
          } else {
            try {
              yield* barrier.wait();
              results1.push(true);
            } catch {
              results2.push(true);
            }
          }
          yield* barrier.wait();
          results3.push(true);
        }),
      );
      assert.equal(barrier.broken, false);
      assert.deepEqual(results1, Array(N - 1).fill(true));
      assert.deepEqual(results2, []);
      assert.deepEqual(results3, Array(N).fill(true));
      assert.equal(barrier.nWaiting, 0);
    }));

  // asyncio: test_abort_barrier
  it("abort() breaks it", () =>
    runVirtual(function* () {
      const barrier = new Barrier(1);
      createTask(barrier.abort());
      yield* sleep(0);
      assert.equal(barrier.nWaiting, 0);
      assert.equal(barrier.broken, true);
      assert.equal(String(barrier), "<Barrier [broken]>");
    }));

  it("makes every wait() on a broken barrier throw BrokenBarrierError until reset()", () =>
    runVirtual(function* () {
      const barrier = new Barrier(2);
      yield* barrier.abort();
      const error = yield* thrownBy(barrier.wait());
      assert.ok(error instanceof BrokenBarrierError);
      assert.ok(error instanceof RuntimeError);
      assert.equal(error.message, "Barrier aborted");
      yield* barrier.reset();
      assert.equal(String(barrier), "<Barrier [filling, waiters:0/2]>");
      const other = createTask(barrier.wait());
      yield* sleep(0);
      assert.equal(yield* barrier.wait(), 1);
      assert.equal(yield* other, 0);
    }));

  // asyncio: test_abort_barrier_when_tasks_half_draining_half_blocking
  it("abort() breaks both the waiting and the arriving tasks", () =>
    runVirtual(function* () {
      const barrier = new Barrier(N);
      const results1: string[] = [];
      const results2: string[] = [];
      const blockingTasks = Math.floor(N / 2);
      let count = 0;
      yield* gather(
        makeTasks(N, function* () {
          try {
            yield* barrier.wait();
          } catch (error) {
            if (!(error instanceof BrokenBarrierError)) throw error;
            results1.push(error.message);
            return;
          }
          count++;
          if (count > blockingTasks) {
            yield* barrier.abort();
          } else {
            try {
              yield* barrier.wait();
            } catch (error) {
              if (!(error instanceof BrokenBarrierError)) throw error;
              results2.push(error.message);
            }
          }
        }),
      );
      assert.equal(barrier.broken, true);
      // Still inside the drained round: reset or abort; blocked for the next one: aborted.
      assert.deepEqual(results1, Array(blockingTasks).fill("Abort or reset of barrier"));
      assert.deepEqual(results2, Array(N - blockingTasks - 1).fill("Barrier aborted"));
      assert.equal(barrier.nWaiting, 0);
      assert.equal(String(barrier), "<Barrier [broken]>");
    }));

  // asyncio: test_abort_barrier_when_exception
  it("abort() after an error in one party breaks the round for the others", () =>
    runVirtual(function* () {
      const barrier = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      yield* gather(
        makeTasks(N, function* () {
          try {
            const i = yield* barrier.wait();
            if (i === Math.floor(N / 2)) throw new Error("party failed");
            yield* barrier.wait();
            results1.push(true);
          } catch (error) {
            if (error instanceof BrokenBarrierError) results2.push(true);
            else yield* barrier.abort();
          }
        }),
      );
      assert.equal(barrier.broken, true);
      assert.deepEqual(results1, []);
      assert.deepEqual(results2, Array(N - 1).fill(true));
      assert.equal(barrier.nWaiting, 0);
    }));

  // asyncio: test_abort_barrier_when_exception_then_resetting
  it("reset() makes an aborted barrier usable again", () =>
    runVirtual(function* () {
      const barrier1 = new Barrier(N);
      const barrier2 = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const results3: boolean[] = [];
      yield* gather(
        makeTasks(N, function* () {
          try {
            const i = yield* barrier1.wait();
            if (i === Math.floor(N / 2)) throw new Error("party failed");
            yield* barrier1.wait();
            results1.push(true);
          } catch (error) {
            if (error instanceof BrokenBarrierError) results2.push(true);
            else yield* barrier1.abort();
          }
          const i = yield* barrier2.wait();
          if (i === Math.floor(N / 2)) yield* barrier1.reset();
          yield* barrier2.wait();
          yield* barrier1.wait();
          results3.push(true);
        }),
      );
      assert.equal(barrier1.broken, false);
      assert.deepEqual(results1, []);
      assert.deepEqual(results2, Array(N - 1).fill(true));
      assert.deepEqual(results3, Array(N).fill(true));
      assert.equal(barrier1.nWaiting, 0);
    }));

  it("refuses to make a task wait on a loop other than the one it is bound to", async () => {
    const barrier = new Barrier(2);
    await runVirtual(function* () {
      const first = createTask(barrier.wait());
      yield* sleep(0);
      assert.equal(yield* barrier.wait(), 1);
      yield* first;
    });
    await runVirtual(function* () {
      const error = yield* thrownBy(barrier.wait());
      assert.ok(error instanceof RuntimeError);
      assert.equal(error.message, "<Condition [locked]> is bound to a different event loop");
      assert.equal(String(barrier), "<Barrier [filling, waiters:0/2]>");
    });
  });
});
