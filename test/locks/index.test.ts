// Tests for src/locks/index.ts: the locks module exports the six primitives.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as locks from "../../src/locks/index.ts";

describe("locks/index", () => {
  it("exports exactly asyncio.locks' classes", () => {
    assert.deepEqual(Object.keys(locks).sort(), [
      "Barrier",
      "BoundedSemaphore",
      "Condition",
      "Event",
      "Lock",
      "Semaphore",
    ]);
  });

  it("makes BoundedSemaphore a Semaphore", () => {
    assert.ok(new locks.BoundedSemaphore() instanceof locks.Semaphore);
  });
});
