// Type tests for executors: compiled by `tsc` as part of `npm test`, never run.
import {
  InlineExecutor,
  WorkerPoolExecutor,
  getRunningLoop,
  toThread,
  type Coro,
} from "../../src/index.ts";
import type * as jobs from "../fixtures/executor-jobs.ts";
import { expectType } from "./coro.ts";

export function* executorTypes(): Coro<void> {
  const loop = getRunningLoop();
  const pool = new WorkerPoolExecutor<typeof jobs>(new URL("file:///jobs.js"));

  // An export called by name: arguments checked, result inferred.
  const sum = yield* loop.runInExecutor(pool, "add", 1, 2);
  expectType<number>()(sum);
  const later = yield* loop.runInExecutor(pool, "addLater", 1, 2);
  expectType<number>()(later);
  const called = await_(pool.call("countPrimes", 0, 10));
  expectType<Promise<number>>()(called);
  // @ts-expect-error add takes numbers
  loop.runInExecutor(pool, "add", "1", 2);
  // @ts-expect-error no such export
  loop.runInExecutor(pool, "nope");
  // @ts-expect-error notAFunction is not a function
  void pool.call("notAFunction");

  // A function, on any executor (the default one too).
  const product = yield* loop.runInExecutor(null, (a: number, b: number) => a * b, 6, 7);
  expectType<number>()(product);
  const text = yield* loop.runInExecutor(pool, async (s: string) => Promise.resolve(s), "x");
  expectType<string>()(text);
  // @ts-expect-error wrong argument type
  loop.runInExecutor(null, (a: number) => a, "x");

  const inline = new InlineExecutor<typeof jobs>({});
  const inlineSum = yield* loop.runInExecutor(inline, "add", 1, 2);
  expectType<number>()(inlineSum);

  const threaded = yield* toThread((n: number) => n.toFixed(2), 1);
  expectType<string>()(threaded);
  // @ts-expect-error wrong argument type
  toThread((n: number) => n, "1");
}

function await_<T>(promise: Promise<T>): Promise<T> {
  return promise;
}
