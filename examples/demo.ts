// The main demo: tasks, sleeps, cancellation and context variables on a real event loop.
import {
  CancelledError,
  ContextVar,
  createTask,
  currentTask,
  run,
  sleep,
  type Coro,
} from "../src/index.ts";

const requestId = new ContextVar<string>("requestId", { default: "-" });

function log(message: string): void {
  const task = currentTask();
  console.log(`[${requestId.get()}] ${task?.getName() ?? "?"}: ${message}`);
}

function* worker(id: string, delay: number): Coro<string> {
  requestId.set(id);
  log(`working for ${delay}s`);
  yield* sleep(delay);
  log("done");
  return `result of ${id}`;
}

function* slow(): Coro<void> {
  try {
    log("starting something slow");
    yield* sleep(60);
  } catch (error) {
    if (error instanceof CancelledError) log("cancelled, cleaning up");
    throw error;
  }
}

function* main(): Coro<void> {
  const a = createTask(worker("req-1", 0.05), { name: "worker-1" });
  const b = createTask(worker("req-2", 0.02), { name: "worker-2" });
  const s = createTask(slow(), { name: "slow" });
  log(`${yield* a} / ${yield* b}`);
  s.cancel("no longer needed");
  try {
    yield* s;
  } catch (error) {
    if (!(error instanceof CancelledError)) throw error;
    log(`slow task ended: ${error.name} (${error.message}); cancelled() = ${s.cancelled()}`);
  }
  log(`context var in main is still ${requestId.get()}`);
}

await run(main());
