/**
 * The program a pool's worker runs: a worker thread (WorkerPoolExecutor) or a forked child
 * process (ProcessPoolExecutor). It imports the pool's module once, then runs one job at a
 * time: an export called by name, or a function compiled from its source, and posts the
 * outcome back. An error that escapes every job ends the worker; the pool replaces it.
 */
import { parentPort, workerData, type Transferable } from "node:worker_threads";
import {
  serializeThrown,
  takeTransferList,
  type FatalMessage,
  type JobMessage,
  type ResultMessage,
} from "./wire.ts";

type Callable = (...args: unknown[]) => unknown;

interface Channel {
  post(message: ResultMessage, transferList: Transferable[]): void;
}

const port = parentPort;
const moduleUrl: string | null =
  port !== null
    ? (workerData as { moduleUrl: string | null }).moduleUrl
    : (process.argv[2] ?? "") || null;

const loaded: Promise<Record<string, unknown>> | null =
  moduleUrl === null ? null : (import(moduleUrl) as Promise<Record<string, unknown>>);
// A module that fails to load fails each job that calls it, with the reason: not the worker.
loaded?.catch(() => undefined);

/** Compiled sources: a function sent again is not compiled again. */
const compiled = new Map<string, Callable>();
const MAX_COMPILED = 256;

function compile(source: string): Callable {
  let fn = compiled.get(source);
  if (fn === undefined) {
    // The source was checked on the sending side: it is one function expression. It is
    // evaluated at the top level of this worker, so it sees only globals.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    fn = (new Function(`return (${source}\n);`) as () => Callable)();
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(source, fn);
  }
  return fn;
}

async function exported(name: string): Promise<Callable> {
  if (loaded === null) throw new TypeError(`the worker has no module to find ${name}() in`);
  let module: Record<string, unknown>;
  try {
    module = await loaded;
  } catch (error) {
    throw new Error(`the worker could not import ${moduleUrl ?? ""}`, { cause: error });
  }
  const fn = module[name];
  if (typeof fn !== "function") {
    throw new TypeError(
      `${moduleUrl ?? ""} has no exported function named '${name}' (got ${typeof fn})`,
    );
  }
  return fn as Callable;
}

/**
 * A source function that reads a variable of the code it was written in finds no such
 * variable here. Say so, rather than leave a bare "x is not defined".
 */
function explainCapture(error: unknown, label: string): unknown {
  if (!(error instanceof ReferenceError)) return error;
  const explained = new ReferenceError(
    `${label} uses a variable the worker does not have (${error.message}): a function run ` +
      `in a worker is sent as source code, without its closure, so it can use only its ` +
      `parameters and globals; pass what it needs as arguments`,
    { cause: error },
  );
  const frames = (error.stack ?? "").split("\n").slice(1).join("\n");
  explained.stack = `ReferenceError: ${explained.message}\n${frames}`;
  return explained;
}

async function run(job: JobMessage): Promise<unknown> {
  if (job.isSource) {
    try {
      return await compile(job.target)(...job.args);
    } catch (error) {
      throw explainCapture(error, job.label);
    }
  }
  const fn = await exported(job.target);
  return await fn(...job.args);
}

async function handle(job: JobMessage, channel: Channel): Promise<void> {
  let message: ResultMessage;
  let transferList: Transferable[] = [];
  try {
    const value = await run(job);
    message = { id: job.id, ok: true, value };
    transferList = takeTransferList([value]);
  } catch (error) {
    message = { id: job.id, ok: false, error: serializeThrown(error) };
  }
  try {
    channel.post(message, transferList);
  } catch (error) {
    // The result cannot be cloned (a function, a class instance with private state).
    const reason = error instanceof Error ? error.message : String(error);
    const failure = new TypeError(
      `the result of ${job.label} cannot be sent back from the worker: ${reason}`,
    );
    channel.post({ id: job.id, ok: false, error: serializeThrown(failure) }, []);
  }
}

if (port !== null) {
  const channel: Channel = {
    post(message, transferList) {
      port.postMessage(message, transferList);
    },
  };
  port.on("message", (job: JobMessage) => void handle(job, channel));
} else {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error("worker-entry.js runs in a pool's worker only");
  const channel: Channel = {
    post(message) {
      send(message);
    },
  };
  process.on("message", (job: JobMessage) => void handle(job, channel));
  // The pool closed the channel: nothing more will come.
  process.on("disconnect", () => process.exit(0));
  // A worker thread's escaped error reaches the pool through the Worker's "error" event; a
  // child process has no such event, so it reports the error itself before exiting.
  process.on("uncaughtException", (error: unknown) => {
    const message: FatalMessage = { fatal: serializeThrown(error) };
    try {
      send(message, undefined, undefined, () => process.exit(1));
    } catch {
      process.exit(1);
    }
  });
}
