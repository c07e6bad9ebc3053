/**
 * ProcessPoolExecutor: jobs in forked Node processes (`child_process.fork`), as
 * concurrent.futures' ProcessPoolExecutor: for work that must not share the process (native
 * code that may crash, memory that must be returned, `process.chdir`).
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { AnyModule } from "./executor.ts";
import { PoolExecutor, type PoolOptions, type PoolWorker, type PoolWorkerEvents } from "./pool.ts";
import { deserializeThrown, type FatalMessage, type ResultMessage } from "./wire.ts";

const ENTRY = fileURLToPath(new URL("./worker-entry.js", import.meta.url));

/**
 * A pool of child processes bound to a module, used exactly as `WorkerPoolExecutor`: jobs
 * are exports called by name, or self-contained functions sent as source; arguments and
 * results cross the IPC channel by V8 serialization (structured clone), so `transfer()`
 * marks are ignored and buffers are copied. Each process costs tens of milliseconds to
 * start and tens of megabytes: prefer `WorkerPoolExecutor` unless the job needs a process
 * of its own. Cancelling a running job kills its process (SIGKILL); a process that dies
 * fails its job with `BrokenWorkerError` and is replaced.
 */
export class ProcessPoolExecutor<M = AnyModule> extends PoolExecutor<M> {
  /**
   * @param module the module whose exports jobs call (a `URL`, a URL string or an absolute
   *   path); omit it for a pool that runs self-contained functions only.
   * @throws TypeError or RangeError for a bad `module` or option.
   */
  constructor(module?: string | URL | null, options?: PoolOptions) {
    super("ProcessPoolExecutor", module, options);
  }

  /** @internal */
  _spawn(
    moduleUrl: string | null,
    execArgv: readonly string[] | undefined,
    _id: number,
    events: PoolWorkerEvents,
  ): PoolWorker {
    const child: ChildProcess = fork(ENTRY, [moduleUrl ?? ""], {
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      ...(execArgv === undefined ? {} : { execArgv: [...execArgv] }),
    });
    const setRef = (on: boolean): void => {
      if (on) child.ref();
      else child.unref();
      // The IPC channel is a handle of its own.
      const channel = child.channel as { ref?(): void; unref?(): void } | null | undefined;
      if (on) channel?.ref?.();
      else channel?.unref?.();
    };
    setRef(false);
    child.on("message", (message: ResultMessage | FatalMessage) => {
      if ("fatal" in message) events.onFatal(deserializeThrown(message.fatal));
      else events.onMessage(message);
    });
    child.on("error", (error: unknown) => {
      events.onFatal(error);
    });
    child.on("exit", (code: number | null, signal: NodeJS.Signals | null) => {
      events.onExit(signal === null ? `exited with code ${code ?? 0}` : `was killed by ${signal}`);
    });
    return {
      post(message) {
        child.send(message);
      },
      ref() {
        setRef(true);
      },
      unref() {
        setRef(false);
      },
      kill() {
        child.kill("SIGKILL");
      },
      close() {
        if (child.connected) child.disconnect();
        else child.kill();
      },
    };
  }
}
