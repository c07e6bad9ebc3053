// Timer throughput: bench/ref/py_timers.py for tsyncio.
//
// N tasks (default 100,000) each `yield* sleep(delay)` with a delay drawn uniformly from
// [0, 10 ms) and return their index; the parent creates them all, then awaits each in
// order. The delays come from xorshift32 with a fixed seed, the same sequence as
// py_timers.py, so both sides schedule identical timers.
//   random_delays : the only variant
// Reported: sleeps/s for the whole spawn+sleep+collect cycle (at least 10 ms of it is
// waiting for the last timer).
import { createTask, sleep, type Coro, type Task } from "../src/index.ts";
import {
  check,
  mainIfRunDirectly,
  sumBelow,
  timed,
  type CoroBench,
  type Workload,
} from "./util.ts";

const SEED = 0x2545f491;
const MAX_DELAY = 0.01;

/** xorshift32 (Marsaglia): uniform floats in [0, 1), identical in py_timers.py. */
function xorshift32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

function* sleeper(i: number, delay: number): Coro<number> {
  yield* sleep(delay);
  return i;
}

function* randomDelays(n: number): Coro<number> {
  const random = xorshift32(SEED);
  const tasks: Task<number>[] = [];
  for (let i = 0; i < n; i++) tasks.push(createTask(sleeper(i, random() * MAX_DELAY)));
  let total = 0;
  for (const task of tasks) total += yield* task;
  return total;
}

const VARIANTS: Readonly<Record<string, CoroBench>> = {
  random_delays: randomDelays,
};

export const timers: Workload = {
  name: "timers",
  unit: "sleeps/s",
  loop: "tsyncio",
  defaultN: 100_000,
  variants: Object.keys(VARIANTS),
  async measure(variant, n) {
    const { seconds, value } = await timed(VARIANTS[variant]!, n);
    check(`timers ${variant}`, value, sumBelow(n));
    return seconds;
  },
  reference: {
    script: new URL("../../bench/ref/py_timers.py", import.meta.url).pathname,
    variantFlag: true,
  },
};

await mainIfRunDirectly(import.meta.url, timers);
