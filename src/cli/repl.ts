/**
 * `tsyncio repl`: Python's `python -m asyncio` for tsyncio. A Node REPL with every tsyncio
 * export in scope and an event loop that keeps running between inputs: an input whose
 * value is a coroutine, Future or Task runs on that loop, and the REPL prints its result.
 * `await x` and `yield* x` mean the same as `x`; `const name = await x` binds the result.
 */
import { start, type REPLEval, type REPLServer } from "node:repl";
import { parseArgs } from "node:util";
import { runInContext, type Context } from "node:vm";
import { isCoroutine } from "../coroutines.ts";
import { CancelledError } from "../exceptions.ts";
import { isFuture, type Future } from "../futures.ts";
import * as tsyncio from "../index.ts";
import { EventLoop } from "../loop/node-event-loop.ts";

/** `await x`, `yield* x`, `const name = await x` (or `let`, `var`, `yield*`): [name, x]. */
const AWAITED =
  /^\s*(?:(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*)?(?:await\b|yield\s*\*)\s*([\s\S]*?);?\s*$/;

/** `tsyncio repl`: resolves to the exit code once the REPL is closed. */
export async function replCommand(args: readonly string[]): Promise<number> {
  let debug: boolean;
  try {
    debug =
      parseArgs({ args: [...args], options: { debug: { type: "boolean" } } }).values.debug === true;
  } catch (error) {
    console.error(`tsyncio repl: ${(error as Error).message}`);
    return 2;
  }
  const loop = new EventLoop();
  if (debug) loop.setDebug(true);
  const running = loop.runForever();
  const interactive = process.stdin.isTTY;
  if (interactive) {
    console.log(
      "tsyncio REPL: every export of tsyncio is in scope, and `loop`.\n" +
        "An input that gives a coroutine, Future or Task runs on the loop: try sleep(0.5, 'done')",
    );
  }
  let current: Future<unknown> | null = null;
  const server: REPLServer = start({ prompt: interactive ? "tsyncio> " : "" });
  Object.assign(server.context, tsyncio, { loop });
  // Each input runs as a callback on the loop, so that createTask, gather and friends find
  // it; a coroutine, Future or Task it gives then runs on the loop and the REPL waits for
  // it. Inputs run one after another, as typed. Top-level lexical declarations persist
  // (V8 keeps a context's script-level bindings between scripts).
  let previous: Promise<void> = Promise.resolve();
  const evaluate: REPLEval = (code, context, file, callback) => {
    previous = previous.then(
      () =>
        new Promise<void>((done) => {
          const finish = (error: Error | null, value: unknown): void => {
            current = null;
            callback(error, value);
            done();
          };
          loop.callSoonThreadsafe(() => {
            evaluateOnLoop(code, context, file, finish);
          });
        }),
    );
  };
  const evaluateOnLoop = (
    code: string,
    context: Context,
    file: string,
    finish: (error: Error | null, value: unknown) => void,
  ): void => {
    // `await x`, `yield* x` and `const name = await x` run x; the last binds its result.
    const awaited = AWAITED.exec(code);
    let value: unknown;
    try {
      value = runInContext(awaited?.[2] ?? code, context, { filename: file, displayErrors: false });
    } catch (error) {
      finish(error as Error, undefined);
      return;
    }
    if (!isCoroutine(value) && !isFuture(value)) {
      finish(null, value);
      return;
    }
    const future: Future<unknown> = isCoroutine(value) ? loop.createTask(value) : value;
    current = future;
    future.addDoneCallback(() => {
      if (future.cancelled()) {
        finish(new CancelledError("cancelled by Ctrl-C"), undefined);
        return;
      }
      const failure = future.exception();
      if (failure !== null) {
        finish(failure as Error, undefined);
        return;
      }
      const name = awaited?.[1];
      if (name === undefined) {
        finish(null, future.result());
      } else {
        (context as Record<string, unknown>)[name] = future.result();
        finish(null, undefined);
      }
    });
  };
  (server as { eval: REPLEval }).eval = evaluate;
  // Ctrl-C while something runs cancels it, as in Python's asyncio REPL.
  server.on("SIGINT", () => {
    if (current !== null && !current.done()) current.cancel();
  });
  await new Promise<void>((resolve) => server.on("exit", resolve));
  // Piped input ends before the last inputs finish running: let them.
  await previous;
  loop.stop();
  await running;
  loop.close();
  return 0;
}
