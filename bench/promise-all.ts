// The raw-Node comparison for `tasks`: the same 100k-task workload done with plain async
// functions, no tsyncio involved. Each leaf awaits once (`await null`, one microtask
// turn, as `sleep(0)` is one loop iteration) and returns its index.
//   promise_all : Promise.all over the N leaf promises (the shape of asyncio's gather)
//   await_each  : await each leaf promise in order (the shape of tasks' create_await)
// run.ts reports the cost of a tsyncio task over the cost of a Promise.all entry.
import { check, mainIfRunDirectly, sumBelow, timedAsync, type Workload } from "./util.ts";

async function leaf(i: number): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/await-thenable -- the cheapest suspension
  await null;
  return i;
}

async function viaAll(n: number): Promise<number> {
  const promises: Promise<number>[] = [];
  for (let i = 0; i < n; i++) promises.push(leaf(i));
  const results = await Promise.all(promises);
  let total = 0;
  for (const value of results) total += value;
  return total;
}

async function awaitEach(n: number): Promise<number> {
  const promises: Promise<number>[] = [];
  for (let i = 0; i < n; i++) promises.push(leaf(i));
  let total = 0;
  for (const promise of promises) total += await promise;
  return total;
}

const VARIANTS: Readonly<Record<string, (n: number) => Promise<number>>> = {
  promise_all: viaAll,
  await_each: awaitEach,
};

export const promiseAll: Workload = {
  name: "promise_all",
  unit: "promises/s",
  loop: "promises",
  defaultN: 100_000,
  variants: Object.keys(VARIANTS),
  async measure(variant, n) {
    const { seconds, value } = await timedAsync(VARIANTS[variant]!, n);
    check(`promise_all ${variant}`, value, sumBelow(n));
    return seconds;
  },
  reference: undefined,
};

await mainIfRunDirectly(import.meta.url, promiseAll);
