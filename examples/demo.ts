// The main demo: tasks, sleeps, cancellation, context variables, a TaskGroup under a
// timeout, on a real event loop. Run it with `npm run example -- demo`.
import {
  CancelledError,
  ContextVar,
  TimeoutError,
  createTask,
  currentTask,
  exceptStar,
  gather,
  run,
  sleep,
  taskGroup,
  timeout,
  type Coro,
} from "../src/index.ts";
import { isMain } from "./lib/cli.ts";

const requestId = new ContextVar<string>("requestId", { default: "-" });

function log(message: string): void {
  const task = currentTask();
  console.log(`[${requestId.get()}] ${task?.getName() ?? "?"}: ${message}`);
}

function* fetchPage(id: string, delay: number): Coro<string> {
  requestId.set(id); // visible in this task only
  log(`fetching (${delay}s)`);
  yield* sleep(delay);
  log("done");
  return `page ${id}`;
}

function* slow(): Coro<void> {
  try {
    log("starting something slow");
    yield* sleep(60);
  } finally {
    log("cleaning up"); // runs when the task is cancelled
  }
}

class PageError extends Error {
  override name = "PageError";
}

function* broken(): Coro<string> {
  yield* sleep(0.01);
  throw new PageError("page 3 is broken");
}

export function* main(): Coro<void> {
  // Tasks run concurrently; yield* waits for one and gives its result.
  const a = createTask(fetchPage("req-1", 0.05), { name: "fetch-1" });
  const b = createTask(fetchPage("req-2", 0.02), { name: "fetch-2" });
  log(`${yield* a} / ${yield* b}`);

  // Cancellation is thrown into the task where it waits, so its finally block runs.
  const background = createTask(slow(), { name: "slow" });
  yield* sleep(0);
  background.cancel("no longer needed");
  try {
    yield* background;
  } catch (error) {
    if (!(error instanceof CancelledError)) throw error;
    log(`slow task ended: ${error.name} (${error.message})`);
  }

  // gather() collects results in argument order.
  const pages = yield* gather(fetchPage("g-1", 0.01), fetchPage("g-2", 0.005));
  log(`gathered ${JSON.stringify(pages)}`);

  // A TaskGroup under a timeout: the children are cancelled at the deadline, and the
  // group does not return before every child has finished.
  try {
    yield* timeout(0.1, function* () {
      yield* taskGroup(function* (tg) {
        tg.createTask(fetchPage("tg-1", 0.02), { name: "tg-fast" });
        tg.createTask(fetchPage("tg-2", 5), { name: "tg-slow" });
      });
    });
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    log("the task group timed out after 0.1s; its slow child was cancelled");
  }

  // A failing child cancels its siblings; the failures come out as an ExceptionGroup.
  try {
    yield* taskGroup(function* (tg) {
      tg.createTask(broken(), { name: "broken" });
      tg.createTask(slow(), { name: "sibling" });
    });
  } catch (error) {
    exceptStar(error, [
      [
        PageError,
        (group) => {
          log(`task group failed: ${String(group.exceptions[0])}`);
        },
      ],
    ]);
  }

  log(`context var in main is still ${requestId.get()}`);
}

if (isMain(import.meta.url)) await run(main());
