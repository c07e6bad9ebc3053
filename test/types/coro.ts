// Type tests: compiled by `tsc` as part of `npm test`, never run. Each `expectType` call
// checks an inferred type exactly; each `@ts-expect-error` line must fail to compile.
import {
  createTask,
  gather,
  Future,
  getRunningLoop,
  run,
  sleep,
  wrapPromise,
  type Coro,
  type Task,
} from "../../src/index.ts";

/** Compiles only when `value`'s type is exactly `T` (not merely assignable to it). */
export function expectType<T>() {
  return <V>(_value: V & (Exact<T, V> extends true ? unknown : never)): void => {};
}
// The standard exact-equality test: the two conditional types are identical only when A
// and B are the same type. G is deliberately used once on each side.
/* eslint-disable @typescript-eslint/no-unnecessary-type-parameters */
type Exact<A, B> =
  (<G>() => G extends A ? 1 : 2) extends <G>() => G extends B ? 1 : 2 ? true : false;
/* eslint-enable @typescript-eslint/no-unnecessary-type-parameters */

function* answer(): Coro<number> {
  yield* sleep(0);
  return 42;
}

function* inferred() {
  yield* sleep(1);
  return "text";
}

export function* checks(): Coro<void> {
  // yield* infers the coroutine's return type with no annotation.
  const n = yield* answer();
  expectType<number>()(n);
  const s = yield* inferred();
  expectType<string>()(s);

  // Tasks and futures carry their result type through yield*.
  const task = createTask(answer());
  expectType<Task<number>>()(task);
  const fromTask = yield* task;
  expectType<number>()(fromTask);
  const future = getRunningLoop().createFuture<boolean>();
  const fromFuture = yield* future;
  expectType<boolean>()(fromFuture);

  // sleep returns its result argument's type.
  const slept = yield* sleep(1, "value");
  expectType<string>()(slept);
  const nothing = yield* sleep(1);
  expectType<undefined>()(nothing);

  // Promises are awaited through wrapPromise, which unwraps nested promises.
  const fetched = yield* wrapPromise(Promise.resolve(Promise.resolve(7)));
  expectType<number>()(fetched);
  const aborted = yield* wrapPromise((signal) => Promise.resolve(signal.aborted));
  expectType<boolean>()(aborted);

  // Futures and Tasks are thenables, so `async` code can await them.
  const viaAwait: PromiseLike<number> = task;
  void viaAwait;
  expectType<Future<boolean>>()(future);

  // @ts-expect-error a Promise is not awaitable with yield*: use wrapPromise
  yield* Promise.resolve(1);

  // @ts-expect-error a bare yield of a Promise is not something a coroutine may yield
  yield Promise.resolve(1);

  // @ts-expect-error a coroutine of one type is not a Coro of another
  expectType<Coro<string>>()(answer());
}

export async function topLevel(): Promise<void> {
  const value = await run(answer());
  expectType<number>()(value);
  // @ts-expect-error run() takes a coroutine object, not a coroutine function
  await run(answer);
}

export function* gatherTypes(): Coro<void> {
  const [n, s] = yield* gather(answer(), inferred());
  expectType<number>()(n);
  expectType<string>()(s);
  const list = yield* gather([answer(), answer()]);
  expectType<number[]>()(list);
  const withErrors = yield* gather([answer()], { returnExceptions: true });
  expectType<(number | Error)[]>()(withErrors);
  const none = yield* gather();
  expectType<[]>()(none);
}
