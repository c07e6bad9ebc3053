// Event wake-ups: bench/ref/py_event.py for tsyncio.
//
// N wake-ups in total (default 100,000), in rounds of W tasks (default 10,000) waiting on
// one Event, N/W rounds:
//   spawn_wait  : each round clears the Event, creates W tasks that each
//                 `yield* ev.wait()` and return their index, lets them all block (one
//                 `sleep(0)`, checked), sets the Event and awaits every task in order. Task
//                 creation is included, as in py_task_memory.py.
//   wake_rounds : W tasks live through every round, waiting on two Events in turn. Each
//                 round the main task clears the next Event, sets the current one and waits
//                 for a Future that the last task to wake resolves (by then every task
//                 waits on the next Event): wait(), set() and the wake-up alone, no task
//                 creation.
// Reported: wake-ups/s.
import {
  createTask,
  Event,
  getRunningLoop,
  sleep,
  type Coro,
  type Future,
  type Task,
} from "../src/index.ts";
import { check, mainIfRunDirectly, timed, type CoroBench, type Workload } from "./util.ts";

/** py_event.py's `--waiters`. */
const WAITERS = 10_000;

/** (waiters per round, rounds) for `n` wake-ups, as py_event.py's `shape`. */
function shape(n: number): [number, number] {
  const w = Math.min(WAITERS, n);
  return [w, Math.floor(n / w)];
}

function* spawnWait(n: number): Coro<number> {
  const [w, rounds] = shape(n);
  const ev = new Event();
  let blocked = 0;
  function* idle(i: number): Coro<number> {
    blocked++;
    yield* ev.wait();
    return i;
  }
  let total = 0;
  for (let r = 0; r < rounds; r++) {
    ev.clear();
    blocked = 0;
    const tasks: Task<number>[] = [];
    for (let i = 0; i < w; i++) tasks.push(createTask(idle(i)));
    yield* sleep(0); // every task runs up to ev.wait()
    check("event blocked", blocked, w);
    ev.set();
    for (const task of tasks) total += yield* task;
  }
  check("event spawn_wait total", total, (rounds * (w * (w - 1))) / 2);
  return w * rounds;
}

function* wakeRounds(n: number): Coro<number> {
  const [w, rounds] = shape(n);
  const loop = getRunningLoop();
  const events: readonly Event[] = [new Event(), new Event()];
  let woken = 0;
  let done: Future<null> | null = null;
  function* worker(): Coro<number> {
    let seen = 0;
    for (let r = 0; r < rounds; r++) {
      yield* events[r & 1]!.wait();
      seen++;
      woken++;
      if (woken === w) done!.setResult(null);
    }
    return seen;
  }
  const tasks: Task<number>[] = [];
  for (let i = 0; i < w; i++) tasks.push(createTask(worker()));
  yield* sleep(0); // every task waits on events[0]
  for (let r = 0; r < rounds; r++) {
    woken = 0;
    done = loop.createFuture<null>();
    events[(r + 1) & 1]!.clear();
    events[r & 1]!.set();
    yield* done;
  }
  let total = 0;
  for (const task of tasks) total += yield* task;
  check("event wake_rounds total", total, w * rounds);
  return total;
}

const VARIANTS: Readonly<Record<string, CoroBench>> = {
  spawn_wait: spawnWait,
  wake_rounds: wakeRounds,
};

export const event: Workload & { count(n: number): number } = {
  name: "event",
  unit: "wake-ups/s",
  loop: "tsyncio",
  defaultN: 100_000,
  variants: Object.keys(VARIANTS),
  // Whole rounds of WAITERS tasks, as py_event.py reports.
  count: (n) => {
    const [w, rounds] = shape(n);
    return w * rounds;
  },
  async measure(variant, n) {
    const [w, rounds] = shape(n);
    if (w * rounds !== n) {
      throw new RangeError(`event: n must be a multiple of ${WAITERS} (or less), got ${n}`);
    }
    const { seconds, value } = await timed(VARIANTS[variant]!, n);
    check(`event ${variant}`, value, n);
    return seconds;
  },
  reference: {
    script: new URL("../../bench/ref/py_event.py", import.meta.url).pathname,
    variantFlag: true,
  },
};

await mainIfRunDirectly(import.meta.url, event);
