/**
 * How errors nobody could receive are reported, and how the default exception handler
 * prints a context: asyncio's `default_exception_handler`
 * layout (the message, the other keys sorted, then the error's stack).
 */
import { Context, currentContext } from "../contextvars.ts";
import { describe } from "../internal/validate.ts";
import type { BaseEventLoop, ExceptionContext, ExceptionHandler } from "./base-event-loop.ts";

/** The text `defaultExceptionHandler` logs for `context`. */
export function formatExceptionContext(context: ExceptionContext): string {
  const message = context.message === "" ? "Unhandled exception in event loop" : context.message;
  const lines = [message];
  for (const key of Object.keys(context).sort()) {
    if (key === "message" || key === "exception") continue;
    const value = context[key];
    if (key === "sourceTraceback" || key === "handleTraceback") {
      const what = key === "sourceTraceback" ? "Object" : "Handle";
      lines.push(`${what} created at (most recent call first):\n${String(value)}`);
    } else {
      lines.push(`${key}: ${describe(value)}`);
    }
  }
  if ("exception" in context) {
    const error = context.exception;
    lines.push(error instanceof Error && error.stack !== undefined ? error.stack : describe(error));
  }
  return lines.join("\n");
}

/**
 * Give `context` to `handler` (run in `runIn`, if given), or to the loop's default handler.
 * A failing handler is reported to the default one; nothing here throws.
 */
export function reportException(
  loop: BaseEventLoop,
  handler: ExceptionHandler | null,
  context: ExceptionContext,
  runIn: Context | undefined,
): void {
  if (handler === null) {
    try {
      loop.defaultExceptionHandler(context);
    } catch (error) {
      // The last resort must not throw into the loop.
      console.error("Exception in default exception handler", error);
    }
    return;
  }
  try {
    // A Context entered further down the stack (the task's own, under a `run()` of another
    // one) cannot be entered again: the handler then runs where the error was raised.
    const enter = runIn !== undefined && runIn !== currentContext() && !Context._isEntered(runIn);
    const previous = enter ? Context._enter(runIn) : null;
    try {
      handler(loop, context);
    } finally {
      if (previous !== null) Context._exit(runIn as Context, previous);
    }
  } catch (error) {
    try {
      loop.defaultExceptionHandler({
        message: "Unhandled error in exception handler",
        exception: error,
        context,
      });
    } catch (inner) {
      // As above: never throw into the loop.
      console.error("Exception in default exception handler", inner);
    }
  }
}
