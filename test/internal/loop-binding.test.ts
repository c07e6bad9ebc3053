// Tests for src/internal/loop-binding.ts (asyncio's _LoopBoundMixin).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RuntimeError, getRunningLoop, type BaseEventLoop } from "../../src/index.ts";
import { LoopBinding } from "../../src/internal/loop-binding.ts";
import { runVirtual } from "../../src/testing.ts";

const owner = { toString: (): string => "<Thing [idle]>" };

describe("LoopBinding", () => {
  it("is unbound until first used, then bound to the running loop", () =>
    runVirtual(function* () {
      const binding = new LoopBinding();
      assert.equal(binding.bound, null);
      const loop = binding.loop(owner);
      assert.equal(loop, getRunningLoop());
      assert.equal(binding.bound, loop);
      assert.equal(binding.loop(owner), loop);
    }));

  it("refuses another loop with asyncio's message naming the owner", async () => {
    const binding = new LoopBinding();
    let first: BaseEventLoop | null = null;
    await runVirtual(function* () {
      first = binding.loop(owner);
    });
    await runVirtual(function* () {
      assert.throws(() => binding.loop(owner), {
        name: "RuntimeError",
        message: "<Thing [idle]> is bound to a different event loop",
      });
      assert.throws(() => {
        binding.check(owner, getRunningLoop());
      }, RuntimeError);
    });
    assert.equal(binding.bound, first);
  });

  it("throws RuntimeError outside a running loop and stays unbound", () => {
    const binding = new LoopBinding();
    assert.throws(() => binding.loop(owner), {
      name: "RuntimeError",
      message: "no running event loop",
    });
    assert.equal(binding.bound, null);
  });

  it("check() accepts an unbound owner, no running loop, or the bound loop", () =>
    runVirtual(function* () {
      const binding = new LoopBinding();
      const loop = getRunningLoop();
      binding.check(owner, loop);
      assert.equal(binding.bound, null); // check() never binds
      binding.loop(owner);
      binding.check(owner, loop);
      binding.check(owner, null);
    }));
});
