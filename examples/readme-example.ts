// The README's first example, kept here so the examples test runs it.
import { run, sleep, taskGroup, timeout, TimeoutError, type Coro } from "../src/index.ts";

function* fetchPage(id: number): Coro<string> {
  try {
    yield* sleep(0.1 * id); // seconds, as in asyncio
    return `page ${id}`;
  } finally {
    console.log(`fetch ${id} finished or was cancelled`); // runs on cancellation too
  }
}

function* main(): Coro<void> {
  try {
    const pages = yield* timeout(0.25, function* () {
      return yield* taskGroup(function* (tg) {
        const tasks = [1, 2, 3].map((id) => tg.createTask(fetchPage(id)));
        return tasks; // the group waits for every child before it returns
      });
    });
    for (const page of pages) console.log(page.result()); // types: string
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    console.log("too slow: the fetches still running were cancelled"); // page 3 needs 0.3 s
  }
}

await run(main());
