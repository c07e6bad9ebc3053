// Tests for src/transports.ts: the write flow control every transport shares (asyncio's
// _FlowControlMixin) and the checks of write(), without sockets.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  RuntimeError,
  getRunningLoop,
  type BaseProtocol,
  type BaseTransport,
} from "../src/index.ts";
import { runVirtual } from "../src/testing.ts";
import { WriteFlowControl, checkWrite } from "../src/transports.ts";
import { captureExceptions } from "./helpers/capture.ts";
import { ZeroDivisionError, throwsExactly } from "./helpers/errors.ts";

/** A transport that only holds a protocol, for WriteFlowControl to call. */
class FakeTransport implements BaseTransport {
  #protocol: BaseProtocol;

  constructor(protocol: BaseProtocol) {
    this.#protocol = protocol;
  }

  getExtraInfo(_name: string, defaultValue?: unknown): unknown {
    return defaultValue;
  }

  isClosing(): boolean {
    return false;
  }

  close(): void {}

  setProtocol(protocol: BaseProtocol): void {
    this.#protocol = protocol;
  }

  getProtocol(): BaseProtocol {
    return this.#protocol;
  }
}

/** A protocol that logs pauseWriting/resumeWriting, and the flow control around it. */
function setup(): { log: string[]; flow: WriteFlowControl; transport: FakeTransport } {
  const log: string[] = [];
  const transport = new FakeTransport({
    pauseWriting: () => log.push("pause"),
    resumeWriting: () => log.push("resume"),
  });
  return { log, flow: new WriteFlowControl(getRunningLoop(), transport), transport };
}

describe("WriteFlowControl limits", () => {
  // asyncio: test_set_write_buffer_limits (test_transports / selector tests)
  it("defaults to 64 KiB high and 16 KiB low", () =>
    runVirtual(function* () {
      const { flow } = setup();
      assert.deepEqual(flow.limits(), [16384, 65536]);
      assert.equal(flow.paused, false);
    }));

  // asyncio: test_flowcontrol_mixin_set_write_limits
  it("derives low as high / 4 (rounded down) when only high is given", () =>
    runVirtual(function* () {
      const { flow } = setup();
      flow.setLimits(100, null, 0);
      assert.deepEqual(flow.limits(), [25, 100]);
      flow.setLimits(10, undefined, 0);
      assert.deepEqual(flow.limits(), [2, 10]);
      flow.setLimits(0, null, 0);
      assert.deepEqual(flow.limits(), [0, 0]);
    }));

  it("derives high as 4 × low when only low is given", () =>
    runVirtual(function* () {
      const { flow } = setup();
      flow.setLimits(null, 10, 0);
      assert.deepEqual(flow.limits(), [10, 40]);
    }));

  it("takes both marks as given, and the defaults again with neither", () =>
    runVirtual(function* () {
      const { flow } = setup();
      flow.setLimits(50, 50, 0);
      assert.deepEqual(flow.limits(), [50, 50]);
      flow.setLimits(null, null, 0);
      assert.deepEqual(flow.limits(), [16384, 65536]);
    }));

  it("rejects high < low or low < 0 with asyncio's message, keeping the old limits", () =>
    runVirtual(function* () {
      const { flow } = setup();
      throwsExactly(
        () => {
          flow.setLimits(1, 2, 0);
        },
        RangeError,
        "high (1) must be >= low (2) must be >= 0",
      );
      throwsExactly(
        () => {
          flow.setLimits(null, -1, 0);
        },
        RangeError,
        "high (-4) must be >= low (-1) must be >= 0",
      );
      throwsExactly(
        () => {
          flow.setLimits(-1, null, 0);
        },
        RangeError,
        "high (-1) must be >= low (-1) must be >= 0",
      );
      assert.deepEqual(flow.limits(), [16384, 65536]);
    }));

  it("rejects limits that are not numbers with a TypeError", () =>
    runVirtual(function* () {
      const { flow } = setup();
      throwsExactly(
        () => {
          flow.setLimits(Number.NaN, 1, 0);
        },
        TypeError,
        "write buffer limits must be numbers, got NaN, 1",
      );
      throwsExactly(
        () => {
          flow.setLimits("10" as unknown as number, 1, 0);
        },
        TypeError,
        "write buffer limits must be numbers, got '10', 1",
      );
      assert.deepEqual(flow.limits(), [16384, 65536]);
    }));
});

describe("WriteFlowControl pausing", () => {
  it("pauses only when the buffer goes strictly above high, and once", () =>
    runVirtual(function* () {
      const { log, flow } = setup();
      flow.setLimits(100, 10, 0);
      flow.maybePause(100);
      assert.deepEqual(log, []);
      flow.maybePause(101);
      assert.deepEqual(log, ["pause"]);
      assert.equal(flow.paused, true);
      flow.maybePause(500);
      assert.deepEqual(log, ["pause"]);
    }));

  it("resumes only when paused and the buffer is at or below low, and once", () =>
    runVirtual(function* () {
      const { log, flow } = setup();
      flow.setLimits(100, 10, 0);
      flow.maybeResume(0);
      assert.deepEqual(log, []);
      flow.maybePause(200);
      flow.maybeResume(11);
      assert.deepEqual(log, ["pause"]);
      flow.maybeResume(10);
      assert.deepEqual(log, ["pause", "resume"]);
      assert.equal(flow.paused, false);
      flow.maybeResume(0);
      assert.deepEqual(log, ["pause", "resume"]);
    }));

  it("pairs every pause with one resume over many crossings", () =>
    runVirtual(function* () {
      const { log, flow } = setup();
      flow.setLimits(4, 2, 0);
      for (const size of [1, 5, 6, 3, 2, 1, 9, 0, 5, 5, 2]) {
        if (size > 4) flow.maybePause(size);
        else flow.maybeResume(size);
      }
      assert.deepEqual(log, ["pause", "resume", "pause", "resume", "pause", "resume"]);
    }));

  it("calls pauseWriting and resumeWriting synchronously, on the call that crosses", () =>
    runVirtual(function* () {
      const { log, flow } = setup();
      flow.maybePause(65537);
      log.push("after maybePause");
      flow.maybeResume(16384);
      log.push("after maybeResume");
      assert.deepEqual(log, ["pause", "after maybePause", "resume", "after maybeResume"]);
    }));

  it("setLimits() below the current size pauses at once, and never resumes by itself", () =>
    runVirtual(function* () {
      const { log, flow } = setup();
      flow.setLimits(10, 5, 50);
      assert.deepEqual(log, ["pause"]);
      flow.setLimits(100, 60, 50);
      assert.deepEqual(log, ["pause"]);
      assert.equal(flow.paused, true);
      flow.maybeResume(50);
      assert.deepEqual(log, ["pause", "resume"]);
    }));

  it("calls the transport's current protocol, after setProtocol()", () =>
    runVirtual(function* () {
      const { log, flow, transport } = setup();
      const other: string[] = [];
      transport.setProtocol({ pauseWriting: () => other.push("pause") });
      flow.maybePause(1e6);
      assert.deepEqual(log, []);
      assert.deepEqual(other, ["pause"]);
    }));

  it("skips a protocol that has no pauseWriting/resumeWriting", () =>
    runVirtual(function* () {
      const flow = new WriteFlowControl(getRunningLoop(), new FakeTransport({}));
      flow.maybePause(1e6);
      assert.equal(flow.paused, true);
      flow.maybeResume(0);
      assert.equal(flow.paused, false);
    }));

  it("reports a throwing pauseWriting to the handler as asyncio does, and counts as paused", () =>
    runVirtual(function* () {
      const seen = captureExceptions(getRunningLoop());
      const boom = new ZeroDivisionError("pause");
      const protocol: BaseProtocol = {
        pauseWriting: () => {
          throw boom;
        },
      };
      const transport = new FakeTransport(protocol);
      const flow = new WriteFlowControl(getRunningLoop(), transport);
      flow.maybePause(1e6);
      assert.equal(flow.paused, true);
      assert.deepEqual(seen, [
        { message: "protocol.pause_writing() failed", exception: boom, transport, protocol },
      ]);
    }));

  it("reports a throwing resumeWriting to the handler as asyncio does, and counts as resumed", () =>
    runVirtual(function* () {
      const seen = captureExceptions(getRunningLoop());
      const boom = new ZeroDivisionError("resume");
      const protocol: BaseProtocol = {
        resumeWriting: () => {
          throw boom;
        },
      };
      const transport = new FakeTransport(protocol);
      const flow = new WriteFlowControl(getRunningLoop(), transport);
      flow.maybePause(1e6);
      flow.maybeResume(0);
      assert.equal(flow.paused, false);
      assert.deepEqual(seen, [
        { message: "protocol.resume_writing() failed", exception: boom, transport, protocol },
      ]);
    }));
});

describe("checkWrite", () => {
  it("accepts Uint8Arrays and Buffers", () => {
    checkWrite(new Uint8Array(1), false);
    checkWrite(Buffer.from("x"), false);
    checkWrite(new Uint8Array(0), false);
  });

  it("rejects anything else with a TypeError that shows it", () => {
    throwsExactly(
      () => {
        checkWrite("abc", false);
      },
      TypeError,
      "data argument must be a bytes-like object (a Uint8Array), not 'abc'",
    );
    throwsExactly(
      () => {
        checkWrite(new ArrayBuffer(2), false);
      },
      TypeError,
      "data argument must be a bytes-like object (a Uint8Array), not ArrayBuffer { [Uint8Contents]: <00 00>, byteLength: 2 }",
    );
    throwsExactly(
      () => {
        checkWrite(null, true);
      },
      TypeError,
      "data argument must be a bytes-like object (a Uint8Array), not null",
    );
  });

  it("rejects a write after writeEof() with asyncio's RuntimeError", () => {
    throwsExactly(
      () => {
        checkWrite(Buffer.from("x"), true);
      },
      RuntimeError,
      "Cannot call write() after write_eof()",
    );
  });
});
