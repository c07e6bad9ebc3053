// Tests for src/subprocess/transport.ts and src/subprocess/loop-methods.ts: the low-level
// loop.subprocessExec/subprocessShell with a SubprocessProtocol, the order of its callbacks,
// closing, cancellation while starting, and children left running when the loop closes.
// Ported from CPython's test_subprocess.py (SubprocessTransportTests, SubprocessMixin).
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { describe, it } from "node:test";
import {
  CancelledError,
  createTask,
  getRunningLoop,
  run,
  sleep,
  type Coro,
  type Future,
  type SubprocessProtocol,
  type SubprocessTransport,
  type WriteTransport,
} from "../../src/index.ts";
import { runVirtual } from "../../src/testing.ts";
import { thrownBy } from "../helpers/coro.ts";

/** A SubprocessProtocol that logs its callbacks and settles `finished` at connectionLost. */
class RecordingProtocol implements SubprocessProtocol {
  readonly log: string[] = [];
  readonly output = new Map<number, string>();
  readonly finished: Future<undefined> = getRunningLoop().createFuture<undefined>();
  transport: SubprocessTransport | null = null;

  connectionMade(transport: SubprocessTransport): void {
    this.transport = transport;
    this.log.push("made");
  }
  pipeDataReceived(fd: number, data: Uint8Array): void {
    if (!this.log.at(-1)?.startsWith(`data ${fd}`)) this.log.push(`data ${fd}`);
    this.output.set(fd, (this.output.get(fd) ?? "") + Buffer.from(data).toString());
  }
  pipeConnectionLost(fd: number, error: Error | null): void {
    this.log.push(`pipe lost ${fd} ${error === null ? "null" : error.name}`);
  }
  processExited(): void {
    this.log.push(`exited ${String(this.transport?.getReturncode())}`);
  }
  connectionLost(error: Error | null): void {
    this.log.push(`lost ${String(error)}`);
    this.finished.setResult(undefined);
  }
}

/** The events of one fd, in order. */
const eventsOf = (log: readonly string[], fd: number): string[] =>
  log.filter((entry) => entry.startsWith(`data ${fd}`) || entry.startsWith(`pipe lost ${fd}`));

describe("loop.subprocessExec", () => {
  // asyncio: test_subprocess_exec (and the per-fd order: data, then lost)
  it("calls connectionMade, each pipe's data then its loss, processExited, connectionLost (real I/O)", () =>
    runVirtual(function* () {
      const [transport, protocol] = yield* getRunningLoop().subprocessExec(
        () => new RecordingProtocol(),
        "sh",
        ["-c", "echo out; echo err >&2; exit 3"],
      );
      assert.equal(protocol.transport, transport);
      yield* protocol.finished;
      const log = protocol.log;
      assert.equal(log[0], "made");
      assert.deepEqual(eventsOf(log, 1), ["data 1", "pipe lost 1 null"]);
      assert.deepEqual(eventsOf(log, 2), ["data 2", "pipe lost 2 null"]);
      assert.ok(log.includes("pipe lost 0 null"));
      assert.ok(log.includes("exited 3"));
      assert.equal(log.at(-1), "lost null");
      assert.equal(protocol.output.get(1), "out\n");
      assert.equal(protocol.output.get(2), "err\n");
      assert.equal(transport.getReturncode(), 3);
    }));

  it("defaults every stream to a pipe and gives their transports by fd (real I/O)", () =>
    runVirtual(function* () {
      const [transport, protocol] = yield* getRunningLoop().subprocessExec(
        () => new RecordingProtocol(),
        "cat",
      );
      const stdin = transport.getPipeTransport(0) as WriteTransport | null;
      assert.ok(stdin !== null);
      assert.notEqual(transport.getPipeTransport(1), null);
      assert.notEqual(transport.getPipeTransport(2), null);
      assert.equal(transport.getPipeTransport(3), null);
      assert.ok(transport.getPid() > 0);
      assert.match(
        String(transport),
        /^<ChildProcessTransport pid=\d+ running stdin=<WritePipeTransport open fd=\d+ bufsize=0> stdout=<ReadPipeTransport open fd=\d+ polling> stderr=<ReadPipeTransport open fd=\d+ polling>>$/,
      );
      assert.ok((transport.getExtraInfo("subprocess") as ChildProcess).pid === transport.getPid());
      assert.equal(transport.getExtraInfo("nothing", 7), 7);
      assert.equal(stdin.canWriteEof(), true);
      stdin.write(Buffer.from("echo"));
      stdin.writeEof();
      yield* protocol.finished;
      assert.equal(protocol.output.get(1), "echo");
      assert.match(String(transport), /^<ChildProcessTransport pid=\d+ returncode=0/);
    }));

  // asyncio: test_close_kill_running
  it("close() kills a running child and closes its pipes (real I/O)", () =>
    runVirtual(function* () {
      const [transport, protocol] = yield* getRunningLoop().subprocessExec(
        () => new RecordingProtocol(),
        "sleep",
        ["10"],
      );
      transport.close();
      assert.equal(transport.isClosing(), true);
      transport.close();
      yield* protocol.finished;
      assert.equal(transport.getReturncode(), -9);
      assert.ok(protocol.log.includes("exited -9"));
    }));

  // asyncio: test_close_dont_kill_finished
  it("close() after the child exited kills nothing (real I/O)", () =>
    runVirtual(function* () {
      const [transport, protocol] = yield* getRunningLoop().subprocessExec(
        () => new RecordingProtocol(),
        "sh",
        ["-c", "exit 4"],
      );
      yield* protocol.finished;
      transport.close();
      assert.equal(transport.getReturncode(), 4);
    }));

  // asyncio: test_cancel_make_subprocess_transport_exec
  it("cancelled while starting, it kills the child and leaves nothing behind (real I/O)", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const task = createTask(
        (function* (): Coro<void> {
          yield* getRunningLoop().subprocessExec(
            () => {
              const protocol = new RecordingProtocol();
              log.push("factory");
              return protocol;
            },
            "sleep",
            ["10"],
          );
          log.push("not reached");
        })(),
      );
      yield* sleep(0);
      task.cancel();
      assert.ok((yield* thrownBy(task)) instanceof CancelledError);
      assert.deepEqual(log, ["factory"]);
      assert.equal(getRunningLoop()._hostOps, 0, "no pipe or process is left open");
    }));

  it("throws the spawn error when the program cannot run (real I/O)", () =>
    runVirtual(function* () {
      const error = yield* thrownBy(
        getRunningLoop().subprocessExec(() => new RecordingProtocol(), "/dev/null"),
      );
      assert.equal((error as NodeJS.ErrnoException).code, "EACCES");
      assert.equal(getRunningLoop()._hostOps, 0);
    }));

  it("rejects a shell option and a bad protocol factory", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const shell = yield* thrownBy(
        loop.subprocessExec(() => new RecordingProtocol(), "ls", [], { shell: "sh" } as never),
      );
      assert.ok(shell instanceof TypeError);
      const factory = yield* thrownBy(loop.subprocessExec(null as never, "ls"));
      assert.ok(factory instanceof TypeError);
      assert.match(factory.message, /protocolFactory must be a function/);
    }));
});

describe("loop.subprocessShell", () => {
  it("runs the command with /bin/sh -c (real I/O)", () =>
    runVirtual(function* () {
      const [, protocol] = yield* getRunningLoop().subprocessShell(
        () => new RecordingProtocol(),
        "echo $((6 * 7))",
      );
      yield* protocol.finished;
      assert.equal(protocol.output.get(1), "42\n");
    }));
});

describe("children alive when the loop closes", () => {
  it("run() kills them and reports each to the exception handler (real I/O)", async () => {
    const messages: string[] = [];
    const pid = await run(
      (function* (): Coro<number> {
        getRunningLoop().setExceptionHandler((_loop, context) => messages.push(context.message));
        const [transport] = yield* getRunningLoop().subprocessExec(
          () => new RecordingProtocol(),
          "sleep",
          ["10"],
        );
        return transport.getPid();
      })(),
    );
    assert.deepEqual(messages, [
      `Event loop closed with a running child process (pid ${pid}); killed it`,
    ]);
    // The child is gone (killed, then reaped by Node) within a moment.
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(alive(pid), false);
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
