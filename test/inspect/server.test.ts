// Tests for src/inspect/server.ts and src/inspect/snapshot.ts: the inspector's socket, its
// permissions and lifetime, and its protocol, against the fixture program
// test/fixtures/inspect/tree.ts.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runtimeDirectory, startProgram, tsyncio } from "../helpers/inspect.ts";

const UID = process.getuid?.() ?? 0;

/** Send `request` to the socket at `path`; resolve with the answer. */
function ask(path: string, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(request));
    socket.on("data", (chunk: string) => (answer += chunk));
    socket.on("end", () => {
      resolve(answer);
    });
    socket.on("error", reject);
  });
}

describe("the inspector (src/inspect/server.ts)", () => {
  it("listens on a 0600 socket in a 0700 directory, answers every request, and removes the socket at exit (real I/O)", async (t) => {
    const runtime = runtimeDirectory();
    t.after(() => {
      rmSync(runtime, { recursive: true, force: true });
    });
    const directory = join(runtime, `tsyncio-${UID}`);
    const program = await startProgram({ XDG_RUNTIME_DIR: runtime, TSYNCIO_INSPECT: "1" });
    const path = join(directory, `${program.pid}.sock`);
    try {
      assert.equal(statSync(directory).mode & 0o777, 0o700);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(statSync(path).isSocket(), true);
      const first = JSON.parse(await ask(path, '{"command":"tasks"}\n')) as {
        pid: number;
        tasks: { name: string; awaitedBy: number[]; taskGroup: number | null; id: number }[];
      };
      assert.equal(first.pid, program.pid);
      const main = first.tasks.find((task) => task.name === "Task-1");
      assert.deepEqual(
        first.tasks.map((task) => [task.name, task.taskGroup === main?.id]),
        [
          ["Task-1", false],
          ["sleeper", true],
          ["gatherer", true],
          ["locker", true],
          ["stdin", true],
          ["fetch-a", false],
          ["fetch-b", false],
        ],
      );
      // A second request gets the same tasks, with the same ids.
      const second = JSON.parse(await ask(path, '{"command":"tasks"}\n')) as typeof first;
      assert.deepEqual(second.tasks, first.tasks);
      assert.deepEqual(JSON.parse(await ask(path, '{"command":"kill"}\n')), {
        error: "unknown command: kill",
      });
      assert.deepEqual(JSON.parse(await ask(path, "nonsense\n")), {
        error: "the request is not JSON",
      });
    } finally {
      assert.equal(await program.stop(), "ready\ndone\n");
    }
    assert.equal(existsSync(path), false);
    assert.equal(program.stderr(), "");
  });

  it("does not listen unless the program opts in (real I/O)", async (t) => {
    const runtime = runtimeDirectory();
    t.after(() => {
      rmSync(runtime, { recursive: true, force: true });
    });
    const program = await startProgram({ XDG_RUNTIME_DIR: runtime });
    try {
      assert.equal(existsSync(join(runtime, `tsyncio-${UID}`)), false);
    } finally {
      await program.stop();
    }
  });

  it("refuses a socket directory that others can open, and so does ps (real I/O)", async (t) => {
    const runtime = runtimeDirectory();
    t.after(() => {
      rmSync(runtime, { recursive: true, force: true });
    });
    const directory = join(runtime, `tsyncio-${UID}`);
    mkdirSync(directory, { mode: 0o755 });
    const env = { XDG_RUNTIME_DIR: runtime };
    const program = await startProgram({ ...env, TSYNCIO_INSPECT: "1" });
    try {
      assert.equal(existsSync(join(directory, `${program.pid}.sock`)), false);
      const result = await tsyncio(["ps", String(program.pid)], env);
      assert.equal(result.code, 1);
      assert.equal(
        result.stderr,
        `tsyncio ps: refusing to connect: ${directory} is open to other users (mode 755)\n`,
      );
    } finally {
      await program.stop();
    }
    assert.equal(
      program.stderr(),
      `tsyncio: the inspector cannot listen: ${directory} is open to other users (mode 755)\n`,
    );
  });
});
