/**
 * Signals by number or name, checked the way asyncio's `_check_signal` does: the one check
 * behind `loop.addSignalHandler` and a subprocess's `sendSignal`.
 */
import { constants } from "node:os";
import { describe } from "./validate.ts";

/** A signal as `[number, name]`; TypeError or RangeError if it is not one. */
export function checkSignal(signal: unknown): [number, NodeJS.Signals] {
  const table = constants.signals as Record<string, number>;
  if (typeof signal === "string") {
    const number = table[signal];
    if (number === undefined) throw new RangeError(`invalid signal name ${signal}`);
    return [number, signal as NodeJS.Signals];
  }
  if (typeof signal !== "number" || !Number.isInteger(signal)) {
    throw new TypeError(`signal must be a signal number or name, got ${describe(signal)}`);
  }
  for (const [name, number] of Object.entries(table)) {
    if (number === signal) return [number, name as NodeJS.Signals];
  }
  throw new RangeError(`invalid signal number ${signal}`);
}
