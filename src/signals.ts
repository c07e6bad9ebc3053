/**
 * Signal handlers on the loop (`loop.addSignalHandler`, `loop.removeSignalHandler`), as
 * asyncio's Unix event loop has them, over Node's `process.on(signal)`.
 *
 * A handler runs as a callback on the loop (never inside Node's signal listener), in the
 * Context current when it was added. While a loop has a handler for a signal, the signal
 * no longer does its default action (for SIGINT and SIGTERM: ending the process).
 */
import { isMainThread } from "node:worker_threads";
import { copyContext } from "./contextvars.ts";
import { isCoroutine, isCoroutineFunction } from "./coroutines.ts";
import { RuntimeError } from "./exceptions.ts";
import { checkSignal } from "./internal/signals.ts";
import { validateFunction } from "./internal/validate.ts";
import { BaseEventLoop } from "./loop/base-event-loop.ts";
import { Handle } from "./loop/handles.ts";

declare module "./loop/base-event-loop.ts" {
  interface BaseEventLoop {
    /**
     * Call `callback(...args)` on this loop each time the process receives `signal` (a
     * number such as `2`, or a name such as `"SIGINT"`), replacing this loop's earlier
     * handler for it.
     *
     * @throws TypeError for a coroutine function or a bad signal; RangeError for a signal
     *   number or name that does not exist; RuntimeError for SIGKILL and SIGSTOP
     *   (`sig 9 cannot be caught`), outside the main thread, or on a closed loop.
     */
    addSignalHandler<A extends unknown[]>(
      signal: number | NodeJS.Signals,
      callback: (...args: A) => unknown,
      ...args: A
    ): void;
    /**
     * Remove this loop's handler for `signal`; the signal's default action comes back
     * once no listener is left. Returns whether there was one.
     */
    removeSignalHandler(signal: number | NodeJS.Signals): boolean;
  }
}

/** One installed handler: the Handle (for `cancel()`) and Node's listener. */
interface Installed {
  readonly handle: Handle;
  readonly name: NodeJS.Signals;
  readonly listener: () => void;
}

const handlers = new WeakMap<BaseEventLoop, Map<number, Installed>>();

BaseEventLoop.prototype.addSignalHandler = function <A extends unknown[]>(
  this: BaseEventLoop,
  signal: number | NodeJS.Signals,
  callback: (...args: A) => unknown,
  ...args: A
): void {
  if (isCoroutine(callback) || isCoroutineFunction(callback)) {
    throw new TypeError("coroutines cannot be used with addSignalHandler()");
  }
  validateFunction(callback, "callback");
  const [number, name] = checkSignal(signal);
  if (this.isClosed()) throw new RuntimeError("Event loop is closed");
  if (!isMainThread) {
    throw new RuntimeError("signal handlers can only be added in the main thread");
  }
  if (name === "SIGKILL" || name === "SIGSTOP") {
    throw new RuntimeError(`sig ${number} cannot be caught`);
  }
  let installed = handlers.get(this);
  if (installed === undefined) {
    installed = new Map();
    handlers.set(this, installed);
    const table = installed;
    this._closeHooks.add(() => {
      for (const entry of table.values()) process.off(entry.name, entry.listener);
      table.clear();
    });
  }
  const previous = installed.get(number);
  if (previous !== undefined) process.off(previous.name, previous.listener);
  const context = copyContext();
  const handle = new Handle(callback, args.length === 0 ? undefined : args, this, context);
  const listener = (): void => {
    if (handle.cancelled()) {
      this.removeSignalHandler(number);
      return;
    }
    this._callSoonFromHost(callback, args.length === 0 ? undefined : args, context);
  };
  installed.set(number, { handle, name, listener });
  process.on(name, listener);
};

BaseEventLoop.prototype.removeSignalHandler = function (
  this: BaseEventLoop,
  signal: number | NodeJS.Signals,
): boolean {
  const [number] = checkSignal(signal);
  const installed = handlers.get(this);
  const entry = installed?.get(number);
  if (installed === undefined || entry === undefined) return false;
  installed.delete(number);
  process.off(entry.name, entry.listener);
  return true;
};
