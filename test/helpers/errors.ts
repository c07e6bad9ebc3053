// Python's error classes for tests ported from CPython, and helpers that check errors.
import assert from "node:assert/strict";

/** Python's ValueError. */
export class ValueError extends Error {
  override name = "ValueError";
}

/** Python's KeyError. */
export class KeyError extends Error {
  override name = "KeyError";
}

/** Python's OSError. */
export class OSError extends Error {
  override name = "OSError";
}

/** Python's ZeroDivisionError. */
export class ZeroDivisionError extends Error {
  override name = "ZeroDivisionError";
}

/** The error `fn` throws; fails the test if it throws nothing. */
export function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return assert.fail("expected an error");
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** Assert that `fn` throws an instance of `cls` whose message is exactly `message`. */
export function throwsExactly(fn: () => unknown, cls: ErrorClass, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof cls, `expected ${cls.name}, got ${String(error)}`);
    assert.equal(error.message, message);
    return true;
  });
}

/** The class name of an error (or `String(value)` for anything else). */
export function nameOf(error: unknown): string {
  return error instanceof Error ? error.name : String(error);
}
