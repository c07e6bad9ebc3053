// Test helpers that record what a loop or the console reports, and what the garbage collector
// makes a loop report.
import assert from "node:assert/strict";
import {
  RuntimeError,
  type BaseEventLoop,
  type Coro,
  type ExceptionContext,
} from "../../src/index.ts";
import { VirtualEventLoop } from "../../src/testing.ts";

/** Install an exception handler on `loop` that records every context it receives. */
export function captureExceptions(loop: BaseEventLoop): ExceptionContext[] {
  const seen: ExceptionContext[] = [];
  loop.setExceptionHandler((_loop, context) => {
    seen.push(context);
  });
  return seen;
}

/** Run `fn` with console[method] replaced by a recorder; returns what was printed. */
export function captureConsole(method: "error" | "warn" | "debug", fn: () => void): string[] {
  const lines: string[] = [];
  const original = console[method];
  console[method] = (...args: unknown[]): void => {
    lines.push(args.map(String).join(" "));
  };
  try {
    fn();
  } finally {
    console[method] = original;
  }
  return lines;
}

/** Collect garbage until `check()` holds (needs --expose-gc); false if it never does. */
export async function collectUntil(check: () => boolean, rounds = 20): Promise<boolean> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return false;
  for (let i = 0; i < rounds; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    if (check()) return true;
  }
  return check();
}

/**
 * Run `main` on a VirtualEventLoop, drop everything it made, collect garbage until a control
 * Future with an unretrieved error was reported, and return every other report.
 */
export async function reportsAfterCollecting(main: () => Coro<void>): Promise<ExceptionContext[]> {
  const loop = new VirtualEventLoop();
  const seen = captureExceptions(loop);
  const control = new RuntimeError("control");
  await loop.runUntilComplete(main());
  (() => {
    loop.createFuture<number>().setException(control);
  })();
  const collected = await collectUntil(() => seen.some((context) => context.exception === control));
  assert.ok(collected, "garbage collection could not be forced (run node with --expose-gc)");
  // Give a report of the Futures under test every chance to arrive too.
  await collectUntil(() => false, 3);
  loop.close();
  return seen.filter((context) => context.exception !== control);
}
