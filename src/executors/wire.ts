/**
 * What crosses between the loop's thread and a pool's workers (threads or processes): the
 * messages, errors in a form structured clone keeps, the transfer marks, and the check
 * that a function can be sent as source. Loaded on both sides, so it stays small.
 */
import type { Transferable } from "node:worker_threads";

/** A job, main → worker: `target` is an export name, or a function's source. */
export interface JobMessage {
  id: number;
  target: string;
  isSource: boolean;
  label: string;
  args: unknown[];
}

/** A job's outcome, worker → main. */
export type ResultMessage =
  { id: number; ok: true; value: unknown } | { id: number; ok: false; error: Thrown };

/** A forked child's report of an error that escaped every job, sent before it exits. */
export interface FatalMessage {
  fatal: Thrown;
}

/** A thrown value in a form structured clone keeps. */
export type Thrown =
  | {
      kind: "error";
      name: string;
      message: string;
      stack: string | undefined;
      props: Record<string, unknown>;
      cause?: Thrown;
    }
  | { kind: "value"; value: unknown };

/**
 * Structured clone turns every error into a plain `Error` (a `class MyError` arrives as
 * "Error", its own fields dropped): keep the name, message, stack, cause and the fields
 * that can be cloned.
 */
export function serializeThrown(thrown: unknown, depth = 0): Thrown {
  if (!(thrown instanceof Error)) {
    try {
      return { kind: "value", value: structuredClone(thrown) };
    } catch {
      return { kind: "value", value: `<uncloneable ${typeof thrown}: ${String(thrown)}>` };
    }
  }
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(thrown)) {
    if (key === "name" || key === "message" || key === "stack" || key === "cause") continue;
    try {
      props[key] = structuredClone((thrown as unknown as Record<string, unknown>)[key]);
    } catch {
      // A field that cannot cross (a function, a socket) stays behind.
    }
  }
  const serialized: Thrown = {
    kind: "error",
    name: thrown.name,
    message: thrown.message,
    stack: thrown.stack,
    props,
  };
  if (thrown.cause !== undefined && depth < 8) {
    serialized.cause = serializeThrown(thrown.cause, depth + 1);
  }
  return serialized;
}

const BUILTIN_ERRORS: Readonly<Record<string, ErrorConstructor>> = {
  Error,
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
};

/**
 * The error a worker threw, rebuilt: built-in classes come back as themselves, any other
 * as an `Error` carrying the original `name` (its class stayed in the worker).
 */
export function deserializeThrown(thrown: Thrown): unknown {
  if (thrown.kind === "value") return thrown.value;
  const Class = Object.hasOwn(BUILTIN_ERRORS, thrown.name) ? BUILTIN_ERRORS[thrown.name] : Error;
  const options =
    thrown.cause === undefined ? undefined : { cause: deserializeThrown(thrown.cause) };
  const error = new (Class as ErrorConstructor)(thrown.message, options);
  if (error.name !== thrown.name) {
    Object.defineProperty(error, "name", {
      value: thrown.name,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  Object.assign(error, thrown.props);
  if (thrown.stack !== undefined) error.stack = thrown.stack;
  return error;
}

// ---- transfer marks --------------------------------------------------------------------

const TRANSFER_KEY = Symbol.for("tsyncio.executors.transfer");

/** Kept on globalThis, so that two copies of tsyncio in one thread share the marks. */
function marks(): WeakMap<object, readonly Transferable[]> {
  const holder = globalThis as Record<symbol, WeakMap<object, readonly Transferable[]> | undefined>;
  return (holder[TRANSFER_KEY] ??= new WeakMap());
}

/**
 * Mark `value` so that, when it is a job's argument (or what a job returns, in the
 * worker), `transferList` (ArrayBuffers, MessagePorts) is moved to the other side instead
 * of copied: fast for big buffers, and the sender can no longer use them. Returns `value`.
 * The mark is used once. A `ProcessPoolExecutor` cannot move memory: it copies.
 *
 * @example
 * ```ts
 * const pixels = new Uint8Array(1 << 24);
 * yield* loop.runInExecutor(pool, "blur", transfer(pixels, [pixels.buffer]));
 * // pixels.byteLength is now 0: the buffer belongs to the worker
 * ```
 */
export function transfer<T extends object>(value: T, transferList: readonly Transferable[]): T {
  const given: unknown = value;
  if (typeof given !== "object" || given === null) {
    throw new TypeError(`transfer() value must be an object, got ${String(given)}`);
  }
  if (!Array.isArray(transferList as unknown)) {
    throw new TypeError(`transferList must be an array, got ${typeof transferList}`);
  }
  marks().set(value, [...transferList]);
  return value;
}

/** The transfer lists marked on `values` (each mark is consumed). */
export function takeTransferList(values: readonly unknown[]): Transferable[] {
  const found: Transferable[] = [];
  const registry = marks();
  for (const value of values) {
    if (typeof value !== "object" || value === null) continue;
    const list = registry.get(value);
    if (list === undefined) continue;
    registry.delete(value);
    for (const item of list) if (!found.includes(item)) found.push(item);
  }
  return found;
}
