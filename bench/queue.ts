// Queue throughput: ../shared/bench-ref/py_queue.py for tsyncio.
//
// N items in total (default 1,000,000) through one bounded `Queue(maxsize=100)`:
//   1p1c : one producer task, one consumer task
//   4p4c : four producers (N/4 items each), four consumers
// Producers `yield* q.put(i)`; consumers `yield* q.get()` until they see a sentinel (`null`,
// one per consumer, put after all producers finish). Reported: items/s from first put to
// last get.
import { createTask, gather, Queue, type Coro, type Task } from "../src/index.ts";
import { check, mainIfRunDirectly, timed, type CoroBench, type Workload } from "./util.ts";

/** py_queue.py's `--maxsize`. */
export const MAXSIZE = 100;

/** Producers and consumers per variant; p_queue.ts runs the same shapes. */
export const QUEUE_VARIANTS: Readonly<Record<string, { producers: number; consumers: number }>> = {
  "1p1c": { producers: 1, consumers: 1 },
  "4p4c": { producers: 4, consumers: 4 },
};

/** The count run when `n` is asked for: every producer puts the same number of items. */
export function queueCount(n: number): number {
  return Math.max(4, n - (n % 4));
}

const STOP = null;

function* producer(q: Queue<number | null>, count: number): Coro<void> {
  for (let i = 0; i < count; i++) yield* q.put(i);
}

function* consumer(q: Queue<number | null>): Coro<number> {
  let seen = 0;
  for (;;) {
    const item = yield* q.get();
    if (item === STOP) return seen;
    seen++;
  }
}

function makeBench(producers: number, consumers: number): CoroBench {
  return function* bench(n: number): Coro<number> {
    const per = Math.floor(n / producers);
    const q = new Queue<number | null>(MAXSIZE);
    const readers: Task<number>[] = [];
    for (let c = 0; c < consumers; c++) readers.push(createTask(consumer(q)));
    const writers: Coro<void>[] = [];
    for (let p = 0; p < producers; p++) writers.push(producer(q, per));
    yield* gather(writers);
    for (let c = 0; c < consumers; c++) yield* q.put(STOP);
    const counts = yield* gather(readers);
    let total = 0;
    for (const count of counts) total += count;
    check("queue items", total, per * producers);
    return total;
  };
}

const VARIANTS: Readonly<Record<string, CoroBench>> = Object.fromEntries(
  Object.entries(QUEUE_VARIANTS).map(([name, { producers, consumers }]) => [
    name,
    makeBench(producers, consumers),
  ]),
);

export const queue: Workload & { count(n: number): number } = {
  name: "queue",
  unit: "items/s",
  loop: "tsyncio",
  defaultN: 1_000_000,
  variants: Object.keys(VARIANTS),
  count: queueCount,
  async measure(variant, n) {
    if (n % 4 !== 0) throw new RangeError(`queue: n must be a multiple of 4, got ${n}`);
    const { seconds, value } = await timed(VARIANTS[variant]!, n);
    check(`queue ${variant}`, value, n);
    return seconds;
  },
  reference: { script: "py_queue.py", variantFlag: false },
};

await mainIfRunDirectly(import.meta.url, queue);
