// Test helpers that record what a loop or the console reports.
import type { BaseEventLoop, ExceptionContext } from "../../src/index.ts";

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
