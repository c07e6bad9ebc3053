/**
 * Argument checks shared by every public function, so every message has one shape:
 * `<name> must be <expectation>, got <value>`.
 */
import { inspect } from "node:util";

/** Render a value for an error message: one short line, never throws. */
export function describe(value: unknown): string {
  if (value instanceof Error) return describeError(value);
  try {
    if (typeof value === "function") {
      return value.name === "" ? "<anonymous function>" : `<function ${value.name}>`;
    }
    let text = hasCustomString(value)
      ? String(value)
      : inspect(value, { depth: 0, breakLength: Infinity, maxStringLength: 40, maxArrayLength: 5 });
    // Async hooks (test runners, APMs) tag Promises with symbol ids: noise in a message.
    if (value instanceof Promise) text = text.replace(/, \[Symbol\([^)]*\)\]: \d+/g, "");
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  } catch {
    // A value whose inspection throws still needs a name in the message.
    return Object.prototype.toString.call(value);
  }
}

/** An error as asyncio's reprs show one: `RuntimeError('boom')`, `CancelledError()`. */
export function describeError(error: Error): string {
  const message = error.message;
  if (message === "") return `${error.name}()`;
  const short = message.length > 80 ? `${message.slice(0, 77)}...` : message;
  return `${error.name}('${short.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n")}')`;
}

function hasCustomString(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const toString = (value as { toString?: unknown }).toString;
  return (
    typeof toString === "function" &&
    toString !== Object.prototype.toString &&
    toString !== Array.prototype.toString &&
    !(value instanceof Error)
  );
}

/** Throw unless `value` is a number that is not NaN (infinities are allowed). */
export function validateNumber(value: unknown, name: string): asserts value is number {
  if (typeof value !== "number") {
    throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  }
  if (Number.isNaN(value)) {
    throw new TypeError(`${name} must be a number, got NaN`);
  }
}

/**
 * Whether `value` can be an awaitable: an object with a `[Symbol.iterator]` method that is
 * not a built-in collection (an Array, a typed array, a Map or Set), which iterate values,
 * never futures.
 */
export function isAwaitableLike(value: unknown): value is Iterable<unknown> {
  return (
    isIterable(value) &&
    !Array.isArray(value) &&
    !ArrayBuffer.isView(value) &&
    !(value instanceof Map) &&
    !(value instanceof Set)
  );
}

/** Whether `value` is an object with a `[Symbol.iterator]` method. */
export function isIterable(value: unknown): value is Iterable<unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function"
  );
}

/** Throw unless `value` is a string. */
export function validateString(value: unknown, name: string): asserts value is string {
  if (typeof value !== "string") {
    throw new TypeError(`${name} must be a string, got ${describe(value)}`);
  }
}

/** Throw unless `value` is an integer >= `min`. */
export function validateInteger(value: unknown, name: string, min = 0): asserts value is number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be an integer, got ${describe(value)}`);
  }
  if (value < min) {
    throw new RangeError(`${name} must be >= ${min}, got ${value}`);
  }
}

/** Throw unless `value` is callable. `what` completes "a callable object was expected by ...". */
export function validateFunction(
  value: unknown,
  name: string,
): asserts value is (...args: never[]) => unknown {
  if (typeof value !== "function") {
    throw new TypeError(`${name} must be a function, got ${describe(value)}`);
  }
}

/** Throw unless `value` is a plain options object or undefined. */
export function validateOptions(value: unknown, name: string): void {
  if (value !== undefined && (typeof value !== "object" || value === null)) {
    throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  }
}
