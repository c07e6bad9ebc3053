// Property-based tests for src/gather.ts: random sets of children that succeed, fail, are
// cancelled or are done already, with random delays, duplicates, returnExceptions and an
// optional cancellation of the gather itself, run on the virtual clock and checked against
// a model of asyncio's gather.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  CancelledError,
  Future,
  createTask,
  gather,
  getRunningLoop,
  sleep,
  wait,
  type Coro,
} from "../src/index.ts";
import { runVirtual } from "../src/testing.ts";

/** How a child ends: after `delay` tenths of a second, or before the gather starts. */
type Kind = "ok" | "fail" | "cancel" | "ready" | "readyFail";

interface ChildSpec {
  kind: Kind;
  /** Tenths of a second, 1..5; unused by the "ready" kinds. */
  delay: number;
}

interface Scenario {
  children: ChildSpec[];
  /** Indices into `children` (taken modulo its length): the gather's arguments. */
  args: number[];
  returnExceptions: boolean;
  /** Use the spread form `gather(...futures)` (only without returnExceptions). */
  spread: boolean;
  /** Cancel the gather at (k + 0.5) tenths of a second: never at a child's own time. */
  cancelAt: number | null;
}

/** An outcome, written so that model and run compare with deepEqual. */
type Outcome = string;

interface Expected {
  /** `ok:[...]` with the per-argument outcomes, or `error:<outcome>`. */
  gather: Outcome;
  /** Virtual time the gather completes; -1 when it is done before gather() returns. */
  doneAt: number;
  /** What `gather.cancel()` returns at `cancelAt`, if it is called. */
  cancelReturns: boolean | null;
  /** Each used child's final outcome, by child index. */
  children: Record<number, Outcome>;
}

class ChildError extends Error {
  override name = "ChildError";
}

const SEED = 20240613;

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    children: fc.array(
      fc.record({
        kind: fc.constantFrom<Kind>("ok", "ok", "fail", "cancel", "ready", "readyFail"),
        delay: fc.integer({ min: 1, max: 5 }),
      }),
      { minLength: 1, maxLength: 6 },
    ),
    args: fc.array(fc.nat({ max: 20 }), { minLength: 1, maxLength: 8 }),
    returnExceptions: fc.boolean(),
    spread: fc.boolean(),
    cancelAt: fc.option(fc.integer({ min: 0, max: 5 }), { nil: null }),
  })
  .map((scenario) => ({
    ...scenario,
    args: scenario.args.map((index) => index % scenario.children.length),
  }));

/**
 * A child's own outcome. `where` says who reads it: the gather's error (a cancelled Task
 * gives the CancelledError it ended with, which carries the message), an entry of the
 * returnExceptions list (a new CancelledError without the message: a cancelled Task keeps
 * no message, as in asyncio), or the child itself afterwards (`cancelled`).
 */
function ownOutcome(index: number, spec: ChildSpec, where: "error" | "list" | "child"): Outcome {
  switch (spec.kind) {
    case "ok":
    case "ready":
      return `value:v${index}`;
    case "fail":
    case "readyFail":
      return `error:${index}`;
    case "cancel":
      return where === "error"
        ? `cancelled:c${index}`
        : where === "list"
          ? "cancelled:"
          : "cancelled";
  }
}

function isTimed(spec: ChildSpec): boolean {
  return spec.kind !== "ready" && spec.kind !== "readyFail";
}

/** What asyncio's gather does with `scenario`. */
function model(scenario: Scenario): Expected {
  const { children, args, returnExceptions, cancelAt } = scenario;
  const used = [...new Set(args)];
  const spec = (index: number): ChildSpec => children[index] as ChildSpec;
  const timed = used.filter((index) => isTimed(spec(index)));
  const lastTime = Math.max(0, ...timed.map((index) => spec(index).delay / 10));

  // Without a cancellation of the gather: when and how it completes.
  let doneAt = timed.length === 0 ? -1 : lastTime;
  let outcome: Outcome = `ok:${JSON.stringify(args.map((index) => ownOutcome(index, spec(index), "list")))}`;
  if (!returnExceptions) {
    // The first failure wins. Children done already report first, in argument order; then
    // by time; at one time, cancellations (their timers were set first) before errors, and
    // each in the order of the children.
    const rank = (index: number): [number, number, number] => {
      const child = spec(index);
      if (child.kind === "readyFail") return [-1, 0, used.indexOf(index)];
      return [child.delay, child.kind === "cancel" ? 0 : 1, index];
    };
    const failures = used
      .filter((index) => ["fail", "cancel", "readyFail"].includes(spec(index).kind))
      .sort((x, y) => {
        const [a, b] = [rank(x), rank(y)];
        return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
      });
    const first = failures[0];
    if (first !== undefined) {
      const child = spec(first);
      doneAt = child.kind === "readyFail" ? -1 : child.delay / 10;
      outcome = `error:${ownOutcome(first, child, "error")}`;
    }
  }

  const childOutcomes: Record<number, Outcome> = {};
  for (const index of used) childOutcomes[index] = ownOutcome(index, spec(index), "child");
  let cancelReturns: boolean | null = null;
  if (cancelAt !== null) {
    const time = (cancelAt + 0.5) / 10;
    cancelReturns = doneAt !== -1 && time < doneAt;
    if (cancelReturns) {
      // Every child still running is cancelled; the gather fails with CancelledError.
      for (const index of timed) {
        if (spec(index).delay / 10 > time) childOutcomes[index] = "cancelled";
      }
      doneAt = time;
      outcome = "error:cancelled:outer";
    }
  }
  return { gather: outcome, doneAt, cancelReturns, children: childOutcomes };
}

/** Describe a settled child the way `model` does. */
function settled(future: Future<unknown>, errors: Map<unknown, number>): Outcome {
  if (future.cancelled()) return "cancelled";
  const error = future.exception();
  return error === null ? `value:${String(future.result())}` : describeError(error, errors);
}

function describeError(error: unknown, errors: Map<unknown, number>): Outcome {
  const index = errors.get(error);
  if (index !== undefined) return `error:${index}`;
  if (error instanceof CancelledError) return `cancelled:${error.message}`;
  return `unexpected:${String(error)}`;
}

/** Run `scenario` on the virtual clock and report what happened, as `model` writes it. */
function* execute(scenario: Scenario): Coro<Expected> {
  const loop = getRunningLoop();
  const { children, args, returnExceptions } = scenario;
  const errors = new Map<unknown, number>();
  const futures = new Map<number, Future<string>>();
  for (const index of [...new Set(args)].sort((a, b) => a - b)) {
    const spec = children[index] as ChildSpec;
    const error = new ChildError(`child ${index}`);
    errors.set(error, index);
    const delay = spec.delay / 10;
    let future: Future<string>;
    switch (spec.kind) {
      case "ok":
        future = createTask(sleep(delay, `v${index}`));
        break;
      case "fail":
        future = createTask(
          (function* (): Coro<string> {
            yield* sleep(delay);
            throw error;
          })(),
        );
        break;
      case "cancel": {
        const task = createTask(sleep(10, `v${index}`));
        loop.callLater(delay, () => {
          task.cancel(`c${index}`);
        });
        future = task;
        break;
      }
      case "ready":
        future = loop.createFuture();
        future.setResult(`v${index}`);
        break;
      case "readyFail":
        future = loop.createFuture();
        future.setException(error);
        break;
    }
    futures.set(index, future);
  }
  const argFutures = args.map((index) => futures.get(index) as Future<string>);
  const outer: Future<unknown[]> =
    scenario.spread && !returnExceptions
      ? gather(...argFutures)
      : gather(argFutures, { returnExceptions });
  const eager = outer.done();
  let doneAt = -2;
  outer.addDoneCallback(() => {
    doneAt = eager ? -1 : Math.round(loop.time() * 1e6) / 1e6;
  });
  let cancelReturns: boolean | null = null;
  if (scenario.cancelAt !== null) {
    loop.callLater((scenario.cancelAt + 0.5) / 10, () => {
      cancelReturns = outer.cancel("outer");
    });
  }
  yield* wait(new Set<Future<unknown>>([outer, ...futures.values()]));
  // Let the cancellation timer fire even when everything finished before it.
  yield* sleep(1);

  assert.equal(outer.cancelled(), false, "a gather is never cancelled itself");
  const error = outer.exception();
  const gathered =
    error === null
      ? `ok:${JSON.stringify(
          outer
            .result()
            .map((item) =>
              errors.has(item) || item instanceof Error
                ? describeError(item, errors)
                : `value:${String(item)}`,
            ),
        )}`
      : `error:${describeError(error, errors)}`;
  const childOutcomes: Record<number, Outcome> = {};
  for (const [index, future] of futures) childOutcomes[index] = settled(future, errors);
  return { gather: gathered, doneAt, cancelReturns, children: childOutcomes };
}

describe("gather (property)", () => {
  it("matches the model for random children, failures, cancellations and delays", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const actual = await runVirtual(execute(scenario));
        assert.deepEqual(actual, model(scenario));
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it("gives results in argument order whatever the completion order", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 10 }),
        async (delays) => {
          const results = await runVirtual(function* () {
            const values = yield* gather(delays.map((delay, i) => sleep(delay / 10, i)));
            assert.equal(
              Math.round(getRunningLoop().time() * 10),
              Math.max(...delays),
              "the gather completes with its slowest child",
            );
            return values;
          });
          assert.deepEqual(
            results,
            delays.map((_, i) => i),
          );
        },
      ),
      { seed: SEED, numRuns: 100 },
    );
  });
});
