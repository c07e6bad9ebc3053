// Tests for src/subprocess/process.ts: createSubprocessExec, createSubprocessShell and
// Process, with real child processes (real I/O, each bounded by the child's own work).
// Ported from CPython's test_subprocess.py (SubprocessMixin), plus tsyncio's killOnCancel.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CancelledError,
  DEVNULL,
  PIPE,
  ProcessLookupError,
  STDOUT,
  TimeoutError,
  createSubprocessExec,
  createSubprocessShell,
  createTask,
  gather,
  sleep,
  timeout,
  type Coro,
  type Process,
} from "../../src/index.ts";
import { runVirtual } from "../../src/testing.ts";
import { thrownBy } from "../helpers/coro.ts";

const b = (text: string): Buffer => Buffer.from(text);
const text = (data: Uint8Array | null): string | null =>
  data === null ? null : Buffer.from(data).toString();

/** A Node child that runs `source` (an ES module body). */
function* node(source: string, options: Parameters<typeof createSubprocessExec>[2] = {}) {
  return yield* createSubprocessExec(
    process.execPath,
    ["--input-type=module", "-e", source],
    options,
  );
}

/** Read a line from `proc.stdout` as a string. */
function* line(proc: Process): Coro<string> {
  return Buffer.from(yield* (proc.stdout as NonNullable<Process["stdout"]>).readline()).toString();
}

describe("createSubprocessExec", () => {
  // asyncio: test_stdin_stdout
  it("writes to stdin, reads stdout, and waits for the exit code (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessExec("cat", [], { stdin: PIPE, stdout: PIPE });
      assert.equal(proc.returncode, null);
      assert.ok(proc.pid > 0);
      assert.equal(String(proc), `<Process ${proc.pid}>`);
      assert.equal(proc.stderr, null);
      const stdin = proc.stdin;
      const stdout = proc.stdout;
      assert.ok(stdin !== null && stdout !== null);
      stdin.write(b("some data"));
      yield* stdin.drain();
      stdin.close();
      assert.equal(text(yield* stdout.read()), "some data");
      assert.equal(yield* proc.wait(), 0);
      assert.equal(proc.returncode, 0);
    }));

  // asyncio: test_communicate
  it("communicate(input) feeds stdin and returns stdout and stderr (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessExec("cat", [], {
        stdin: PIPE,
        stdout: PIPE,
        stderr: PIPE,
      });
      const [out, err] = yield* proc.communicate(b("some data"));
      assert.equal(text(out), "some data");
      assert.equal(text(err), "");
      assert.equal(proc.returncode, 0);
    }));

  // asyncio: test_communicate_none_input
  it("communicate() without input closes stdin at once (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessExec("cat", [], { stdin: PIPE, stdout: PIPE });
      const [out, err] = yield* proc.communicate();
      assert.equal(text(out), "");
      assert.equal(err, null);
      assert.equal(proc.returncode, 0);
    }));

  it("communicate() gives null for the streams that are not pipes (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessExec("true");
      assert.deepEqual(yield* proc.communicate(), [null, null]);
      assert.equal(proc.stdin, null);
      assert.equal(proc.stdout, null);
    }));

  // asyncio: test_communicate_ignore_broken_pipe, test_pipe_cat_large
  it("moves 8 MiB through cat both ways at once without deadlock (real I/O)", () =>
    runVirtual(function* () {
      const input = Buffer.alloc(8 * 1024 * 1024);
      for (let i = 0; i < input.length; i++) input[i] = i % 251;
      const proc = yield* createSubprocessExec("cat", [], {
        stdin: PIPE,
        stdout: PIPE,
        stderr: PIPE,
      });
      const [out] = yield* proc.communicate(input);
      assert.ok(out !== null);
      assert.equal(out.length, input.length);
      assert.ok(Buffer.from(out).equals(input));
    }));

  // asyncio: test_stdin_broken_pipe
  it("a child that exits without reading makes drain() throw a broken pipe (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessShell("exit 0", { stdin: PIPE });
      const stdin = proc.stdin;
      assert.ok(stdin !== null);
      const error = yield* thrownBy(function* () {
        for (let i = 0; i < 64; i++) {
          stdin.write(Buffer.alloc(1024 * 1024));
          yield* stdin.drain();
        }
      });
      assert.ok(error instanceof Error);
      assert.ok(
        ["EPIPE", "ECONNRESET"].includes((error as NodeJS.ErrnoException).code ?? ""),
        String(error),
      );
      assert.equal(yield* proc.wait(), 0);
    }));

  // asyncio: test_communicate_ignore_broken_pipe
  it("communicate() ignores a child that exits without reading its input (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessShell("head -c 10 >/dev/null; exit 3", {
        stdin: PIPE,
      });
      const result = yield* proc.communicate(Buffer.alloc(4 * 1024 * 1024));
      assert.deepEqual(result, [null, null]);
      assert.equal(proc.returncode, 3);
    }));

  // asyncio: test_stdin_not_inheritable / DEVNULL variants
  it("DEVNULL gives the child an empty stdin and discards its output (real I/O)", () =>
    runVirtual(function* () {
      const reader = yield* createSubprocessShell("wc -c", { stdin: DEVNULL, stdout: PIPE });
      const [out] = yield* reader.communicate();
      assert.equal(text(out)?.trim(), "0");
      const quiet = yield* createSubprocessShell("echo out; echo err >&2", {
        stdout: DEVNULL,
        stderr: DEVNULL,
      });
      assert.deepEqual(yield* quiet.communicate(), [null, null]);
      assert.equal(quiet.returncode, 0);
    }));

  it("stderr: STDOUT sends both streams into the stdout reader (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessShell("echo one; echo two >&2; sleep 0.01; echo three", {
        stdout: PIPE,
        stderr: STDOUT,
      });
      assert.equal(proc.stderr, null);
      const [out, err] = yield* proc.communicate();
      assert.equal(err, null);
      assert.deepEqual(text(out)?.split("\n").sort(), ["", "one", "three", "two"]);
    }));

  // asyncio: test_stdout_stderr / separate readers
  it("reads stdout and stderr separately (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessShell("echo out; echo err >&2", {
        stdout: PIPE,
        stderr: PIPE,
      });
      const [out, err] = yield* proc.communicate();
      assert.equal(text(out), "out\n");
      assert.equal(text(err), "err\n");
    }));

  // asyncio: test_pause_reading
  it("honours limit: reading pauses past twice the limit and the output is whole (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessShell("printf '%021d' 0", { stdout: PIPE, limit: 10 });
      const stdout = proc.stdout;
      assert.ok(stdout !== null);
      // Let all 21 bytes arrive unread: more than 2 × limit, so the pipe is paused.
      while (!String(stdout).includes("21 bytes")) yield* sleep(0.001);
      assert.match(String(stdout), / paused>$/);
      assert.equal(text(yield* stdout.read()), "0".repeat(21));
      assert.doesNotMatch(String(stdout), /paused/);
      assert.equal(yield* proc.wait(), 0);
    }));

  // asyncio: test_env
  it("passes env and cwd to the child (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessExec("sh", ["-c", "echo $TSYNCIO_X; pwd"], {
        stdout: PIPE,
        env: { PATH: process.env.PATH, TSYNCIO_X: "hello" },
        cwd: "/",
      });
      const [out] = yield* proc.communicate();
      assert.equal(text(out), "hello\n/\n");
    }));

  it("passes arguments untouched, without a shell (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessExec("printf", ["%s|", "a b", "$HOME", "'q'", ";ls"], {
        stdout: PIPE,
      });
      const [out] = yield* proc.communicate();
      assert.equal(text(out), "a b|$HOME|'q'|;ls|");
    }));

  // asyncio: test_start_new_session
  it("startNewSession puts the child in its own session (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* node("process.stdout.write(String(process.pid))", {
        stdout: PIPE,
        startNewSession: true,
      });
      const [out] = yield* proc.communicate();
      assert.equal(text(out), String(proc.pid));
    }));

  it("throws Node's spawn error for a program that does not exist (real I/O)", () =>
    runVirtual(function* () {
      const error = yield* thrownBy(createSubprocessExec("tsyncio-no-such-program"));
      assert.ok(error instanceof Error);
      assert.equal((error as NodeJS.ErrnoException).code, "ENOENT");
    }));

  it("rejects bad arguments with TypeError or RangeError", () =>
    runVirtual(function* () {
      const cases: [() => Coro<unknown>, ErrorConstructor, RegExp][] = [
        [() => createSubprocessExec(1 as unknown as string), TypeError, /program must be a string/],
        [
          () => createSubprocessExec("ls", "-l" as unknown as string[]),
          TypeError,
          /args must be an array of strings/,
        ],
        [
          () => createSubprocessExec("ls", [], { stdout: STDOUT }),
          RangeError,
          /STDOUT is only valid for stderr/,
        ],
        [
          () => createSubprocessExec("ls", [], { stdin: "pipe" as unknown as number }),
          TypeError,
          /stdin must be PIPE, DEVNULL/,
        ],
        [() => createSubprocessExec("ls", [], { limit: 0 }), RangeError, /Limit cannot be <= 0/],
        [
          () => createSubprocessExec("ls", [], { text: true } as never),
          TypeError,
          /text is not supported/,
        ],
        [
          () => createSubprocessShell(["ls"] as unknown as string),
          TypeError,
          /command must be a string/,
        ],
      ];
      for (const [make, type, message] of cases) {
        const error = yield* thrownBy(make);
        assert.ok(error instanceof type, String(error));
        assert.match(error.message, message);
      }
    }));

  // asyncio: test_subprocess_exec_many (and many concurrent processes)
  it("runs 50 processes at once (real I/O)", () =>
    runVirtual(function* () {
      const procs: Process[] = [];
      for (let i = 0; i < 50; i++) {
        procs.push(
          yield* createSubprocessExec("sh", ["-c", `echo ${i}; exit ${i % 7}`], {
            stdout: PIPE,
          }),
        );
      }
      const results = yield* gather(procs.map((proc) => proc.communicate()));
      results.forEach(([out], i) => {
        assert.equal(text(out), `${i}\n`);
        assert.equal(procs[i]?.returncode, i % 7);
      });
    }));
});

describe("createSubprocessShell", () => {
  // asyncio: test_shell
  it("returns the shell's exit status (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessShell("exit 7");
      assert.equal(yield* proc.wait(), 7);
    }));

  it("lets the shell interpret the command: pipes, variables, quoting (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessShell("X='a b'; echo \"$X\" | tr a-z A-Z", {
        stdout: PIPE,
      });
      const [out] = yield* proc.communicate();
      assert.equal(text(out), "A B\n");
    }));

  it("runs the command with the shell given in options (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessShell("echo $0", { stdout: PIPE, shell: "bash" });
      const [out] = yield* proc.communicate();
      assert.equal(text(out), "bash\n");
    }));
});

describe("Process signals", () => {
  // asyncio: test_kill
  it("kill() ends the child with returncode -9 (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessExec("sleep", ["10"]);
      proc.kill();
      assert.equal(yield* proc.wait(), -9);
    }));

  // asyncio: test_terminate
  it("terminate() ends the child with returncode -15 (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessExec("sleep", ["10"]);
      proc.terminate();
      assert.equal(yield* proc.wait(), -15);
    }));

  // asyncio: test_send_signal
  it("sendSignal(SIGHUP) after the child printed 'sleeping' gives -1 (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessShell("echo sleeping; exec sleep 10", { stdout: PIPE });
      assert.equal(yield* line(proc), "sleeping\n");
      proc.sendSignal("SIGHUP");
      assert.equal(yield* proc.wait(), -1);
    }));

  it("sendSignal accepts a signal number (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessExec("sleep", ["10"]);
      proc.sendSignal(15);
      assert.equal(yield* proc.wait(), -15);
    }));

  it("a child that handles the signal decides its own return code (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessShell(
        "trap 'exit 42' TERM; echo ready; while :; do sleep 0.01; done",
        {
          stdout: PIPE,
        },
      );
      assert.equal(yield* line(proc), "ready\n");
      proc.terminate();
      assert.equal(yield* proc.wait(), 42);
    }));

  // asyncio: test_kill_issue43884 / ProcessLookupError once finished
  it("signals after the process finished throw ProcessLookupError (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessExec("true");
      assert.equal(yield* proc.wait(), 0);
      for (const send of [
        () => {
          proc.kill();
        },
        () => {
          proc.terminate();
        },
        () => {
          proc.sendSignal(1);
        },
      ]) {
        assert.throws(send, ProcessLookupError);
      }
    }));

  it("rejects a signal that does not exist, as addSignalHandler does", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessExec("sleep", ["10"]);
      assert.throws(() => {
        proc.sendSignal("SIGNOPE" as NodeJS.Signals);
      }, new RangeError("invalid signal name SIGNOPE"));
      assert.throws(() => {
        proc.sendSignal(1000);
      }, new RangeError("invalid signal number 1000"));
      assert.throws(() => {
        proc.sendSignal(1.5);
      }, new TypeError("signal must be a signal number or name, got 1.5"));
      // Signal 0 only checks that the process is there.
      proc.sendSignal(0);
      assert.equal(proc.returncode, null);
      proc.kill();
      yield* proc.wait();
    }));
});

describe("Process.wait", () => {
  // asyncio: test_wait (10 concurrent waiters)
  it("many tasks may wait at once and all get the code (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessShell("sleep 0.02; exit 5");
      const codes = yield* gather(Array.from({ length: 10 }, () => proc.wait()));
      assert.deepEqual(codes, Array(10).fill(5));
    }));

  // asyncio: test_cancel_process_wait
  it("cancelling a waiting task leaves the child running and the Process usable (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessExec("sleep", ["10"]);
      const waiter = createTask(proc.wait());
      yield* sleep(0.01);
      waiter.cancel();
      assert.ok((yield* thrownBy(waiter)) instanceof CancelledError);
      assert.equal(proc.returncode, null);
      proc.kill();
      assert.equal(yield* proc.wait(), -9);
    }));

  it("a timeout around wait() leaves the child running (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessExec("sleep", ["10"]);
      const error = yield* thrownBy(timeout(0.05, () => proc.wait()));
      assert.ok(error instanceof TimeoutError);
      assert.equal(proc.returncode, null);
      proc.kill();
      assert.equal(yield* proc.wait(), -9);
    }));

  it("wait({ killOnCancel: true }) kills the child when cancelled (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessExec("sleep", ["10"]);
      const error = yield* thrownBy(timeout(0.05, () => proc.wait({ killOnCancel: true })));
      assert.ok(error instanceof TimeoutError);
      assert.equal(proc.returncode, -9);
    }));

  it("waits for the pipes to close after the exit (real I/O)", () =>
    runVirtual(function* () {
      // The child exits at once, leaving its stdout open in a background grandchild.
      const proc = yield* createSubprocessShell("(sleep 0.05; echo late) & exit 0", {
        stdout: PIPE,
      });
      const stdout = proc.stdout;
      assert.ok(stdout !== null);
      assert.equal(yield* proc.wait(), 0);
      assert.equal(text(yield* stdout.read()), "late\n");
    }));
});

describe("Process.communicate", () => {
  // asyncio: test_cancel_make_subprocess_transport_exec / communicate cancelled
  it("cancelling communicate() leaves the child running (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessShell("cat; exec sleep 10", {
        stdin: PIPE,
        stdout: PIPE,
      });
      const error = yield* thrownBy(timeout(0.05, () => proc.communicate(b("x"))));
      assert.ok(error instanceof TimeoutError);
      assert.equal(proc.returncode, null);
      proc.kill();
      assert.equal(yield* proc.wait(), -9);
    }));

  it("communicate(input, { killOnCancel: true }) kills the child when cancelled (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessShell("exec sleep 10", { stdin: PIPE, stdout: PIPE });
      const error = yield* thrownBy(
        timeout(0.05, () => proc.communicate(null, { killOnCancel: true })),
      );
      assert.ok(error instanceof TimeoutError);
      assert.equal(proc.returncode, -9);
    }));

  it("rejects input that is not bytes", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessExec("cat", [], { stdin: PIPE });
      const error = yield* thrownBy(proc.communicate("text" as unknown as Uint8Array));
      assert.ok(error instanceof TypeError);
      yield* proc.communicate();
    }));

  it("reads output as it comes, line by line (real I/O)", () =>
    runVirtual(function* () {
      const proc = yield* createSubprocessShell(
        "for i in 1 2 3; do echo line $i; sleep 0.005; done",
        {
          stdout: PIPE,
        },
      );
      const lines: string[] = [];
      const stdout = proc.stdout;
      assert.ok(stdout !== null);
      for (;;) {
        const data = yield* stdout.readline();
        if (data.length === 0) break;
        lines.push(Buffer.from(data).toString().trimEnd());
      }
      assert.deepEqual(lines, ["line 1", "line 2", "line 3"]);
      assert.equal(yield* proc.wait(), 0);
    }));
});
