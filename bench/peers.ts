// The npm peers of tsyncio's Lock, Semaphore and Queue, on the shapes of lock.ts and
// queue.ts, in plain async functions (no tsyncio involved). run.ts prints each row next to
// the tsyncio row of the same variant. Benchmark-only devDependencies.
//
// async_mutex: async-mutex's Mutex and Semaphore(10) (the same four variants as lock.ts:
//   100 workers, N acquisitions in all; the holder of a contended variant does `await null`,
//   one microtask turn, the cheapest suspension of an async function, where tsyncio's does
//   `yield* sleep(0)`, one loop iteration):
//     async_mutex         : `await prim.runExclusive(async () => { ... })`
//     async_mutex_acquire : `const release = await mutex.acquire()` (for the Semaphore,
//                           `const [, release] = await sem.acquire()`), body, `release()` in
//                           a `finally`
// p_queue: p-queue is a promise job queue with a concurrency limit, not a producer/consumer
//   channel. The comparable shape: N jobs (one per item) go through
//   `new PQueue({ concurrency: C })`, each job counting its item as a consumer does, and
//   P producers wait with `await queue.onSizeLessThan(100)` before each `add()` while 100
//   jobs wait to start, p-queue's form of `Queue(maxsize=100)`'s back-pressure. The
//   variants 1p1c (P=1, C=1) and 4p4c (P=4, C=4) are compared with queue.ts's, where C
//   long-lived consumer tasks take the items with `get()`. Reported: items/s.
import { Mutex, Semaphore as MutexSemaphore } from "async-mutex";
import PQueue from "p-queue";
import { capacity, LOCK_VARIANTS, lockCount, WORKERS } from "./lock.ts";
import { MAXSIZE, QUEUE_VARIANTS, queueCount } from "./queue.ts";
import { check, mainIfRunDirectly, timedAsync, type Workload } from "./util.ts";

type AsyncBench = (n: number) => Promise<number>;

interface Counters {
  inside: number;
  peak: number;
  done: number;
}

/** The critical section of lock.ts, as an async function. */
async function criticalSection(state: Counters, yieldInside: boolean): Promise<void> {
  state.inside++;
  if (state.inside > state.peak) state.peak = state.inside;
  // eslint-disable-next-line @typescript-eslint/await-thenable -- the cheapest suspension
  if (yieldInside) await null;
  state.inside--;
  state.done++;
}

function makeMutexBench(
  kind: "lock" | "sem",
  yieldInside: boolean,
  form: "runExclusive" | "acquire",
): AsyncBench {
  const cap = capacity(kind);
  return async function bench(n: number): Promise<number> {
    const per = Math.floor(n / WORKERS);
    const state: Counters = { inside: 0, peak: 0, done: 0 };
    let worker: () => Promise<void>;
    if (kind === "lock") {
      const mutex = new Mutex();
      worker =
        form === "runExclusive"
          ? async () => {
              for (let k = 0; k < per; k++) {
                await mutex.runExclusive(() => criticalSection(state, yieldInside));
              }
            }
          : async () => {
              for (let k = 0; k < per; k++) {
                const release = await mutex.acquire();
                try {
                  await criticalSection(state, yieldInside);
                } finally {
                  release();
                }
              }
            };
    } else {
      const sem = new MutexSemaphore(cap);
      worker =
        form === "runExclusive"
          ? async () => {
              for (let k = 0; k < per; k++) {
                await sem.runExclusive(() => criticalSection(state, yieldInside));
              }
            }
          : async () => {
              for (let k = 0; k < per; k++) {
                const [, release] = await sem.acquire();
                try {
                  await criticalSection(state, yieldInside);
                } finally {
                  release();
                }
              }
            };
    }
    const workers: Promise<void>[] = [];
    for (let w = 0; w < WORKERS; w++) workers.push(worker());
    await Promise.all(workers);
    if (state.peak > cap) throw new Error(`async-mutex: ${state.peak} holders, at most ${cap}`);
    return state.done;
  };
}

function mutexWorkload(name: string, form: "runExclusive" | "acquire"): PeerWorkload {
  const variants: Record<string, AsyncBench> = {};
  for (const [variant, { kind, yieldInside }] of Object.entries(LOCK_VARIANTS)) {
    variants[variant] = makeMutexBench(kind, yieldInside, form);
  }
  return {
    name,
    unit: "acquisitions/s",
    loop: "async-mutex",
    defaultN: 1_000_000,
    variants: Object.keys(variants),
    peerOf: "lock",
    count: lockCount,
    async measure(variant, n) {
      if (n % WORKERS !== 0) throw new RangeError(`${name}: n must be a multiple of ${WORKERS}`);
      const { seconds, value } = await timedAsync(variants[variant]!, n);
      check(`${name} ${variant}`, value, n);
      return seconds;
    },
    reference: undefined,
  };
}

function makePQueueBench(producers: number, consumers: number): AsyncBench {
  return async function bench(n: number): Promise<number> {
    const per = Math.floor(n / producers);
    const queue = new PQueue({ concurrency: consumers });
    let seen = 0;
    const job = (): void => {
      seen++;
    };
    const producer = async (): Promise<void> => {
      for (let i = 0; i < per; i++) {
        if (queue.size >= MAXSIZE) await queue.onSizeLessThan(MAXSIZE);
        void queue.add(job);
      }
    };
    const writers: Promise<void>[] = [];
    for (let p = 0; p < producers; p++) writers.push(producer());
    await Promise.all(writers);
    await queue.onIdle();
    return seen;
  };
}

const P_QUEUE_VARIANTS: Readonly<Record<string, AsyncBench>> = Object.fromEntries(
  Object.entries(QUEUE_VARIANTS).map(([name, { producers, consumers }]) => [
    name,
    makePQueueBench(producers, consumers),
  ]),
);

type PeerWorkload = Workload & { peerOf: string; count(n: number): number };

export const asyncMutex: PeerWorkload = mutexWorkload("async_mutex", "runExclusive");
export const asyncMutexAcquire: PeerWorkload = mutexWorkload("async_mutex_acquire", "acquire");

export const pQueue: PeerWorkload = {
  name: "p_queue",
  unit: "items/s",
  loop: "p-queue",
  defaultN: 1_000_000,
  variants: Object.keys(P_QUEUE_VARIANTS),
  peerOf: "queue",
  count: queueCount,
  async measure(variant, n) {
    if (n % 4 !== 0) throw new RangeError(`p_queue: n must be a multiple of 4, got ${n}`);
    const { seconds, value } = await timedAsync(P_QUEUE_VARIANTS[variant]!, n);
    check(`p_queue ${variant}`, value, n);
    return seconds;
  },
  reference: undefined,
};

// `node .build/bench/peers.js [-n N] [--variant NAME]`: one JSON line per peer workload.
await mainIfRunDirectly(import.meta.url, asyncMutex, asyncMutexAcquire, pQueue);
