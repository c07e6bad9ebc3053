// loop.callSoon callback throughput: ../shared/bench-ref/py_call_soon.py for tsyncio.
//
// N callbacks in total (default 2,000,000), issued as K self-rescheduling chains: each
// callback, when run, schedules the next one with callSoon until N have been issued; the
// last one resolves a Future.
//   chain1    : K=1   - one callback ready at a time, so every callback costs a full loop
//                       iteration.
//   chains100 : K=100 - 100 callbacks ready per loop iteration.
import { getRunningLoop, type Coro } from "../src/index.ts";
import { check, mainIfRunDirectly, timed, type CoroBench, type Workload } from "./util.ts";

function makeBench(chains: number): CoroBench {
  return function* bench(n: number): Coro<number> {
    const loop = getRunningLoop();
    const future = loop.createFuture<number>();
    let issued = Math.min(chains, n);
    let done = 0;
    const step = (): void => {
      done++;
      if (issued < n) {
        issued++;
        loop.callSoon(step);
      } else if (done === n) {
        future.setResult(done);
      }
    };
    for (let k = 0; k < issued; k++) loop.callSoon(step);
    return yield* future;
  };
}

const VARIANTS: Readonly<Record<string, CoroBench>> = {
  chain1: makeBench(1),
  chains100: makeBench(100),
};

export const callSoon: Workload = {
  name: "call_soon",
  unit: "callbacks/s",
  loop: "tsyncio",
  defaultN: 2_000_000,
  variants: Object.keys(VARIANTS),
  async measure(variant, n) {
    const { seconds, value } = await timed(VARIANTS[variant]!, n);
    check(`call_soon ${variant}`, value, n);
    return seconds;
  },
  reference: { script: "py_call_soon.py", variantFlag: false },
};

await mainIfRunDirectly(import.meta.url, callSoon);
