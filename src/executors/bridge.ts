/**
 * From a worker thread back to the loop: the loop's thread serves named coroutine
 * functions on a MessagePort (`serveCoroutines`), and code in a worker calls them through
 * the other end (`CoroutineClient`), getting a Promise of the result. This is
 * `run_coroutine_threadsafe` for threads that share no memory with the loop: what crosses
 * is a name and structured-cloned arguments, results and errors, never a coroutine.
 */
import type { MessagePort, Transferable } from "node:worker_threads";
import { isCoroutine, isCoroutineFunction, type Coro } from "../coroutines.ts";
import { getRunningLoop } from "../events.ts";
import { CancelledError, RuntimeError } from "../exceptions.ts";
import { describe, validateOptions } from "../internal/validate.ts";
import type { BaseEventLoop } from "../loop/base-event-loop.ts";
import { runCoroutineThreadsafe } from "../threads.ts";
import { deserializeThrown, serializeThrown, takeTransferList, type Thrown } from "./wire.ts";

/** A request from a client: call `name(...args)`, or cancel call `id`. */
type Request =
  | { readonly kind: "call"; readonly id: number; readonly name: string; readonly args: unknown[] }
  | { readonly kind: "cancel"; readonly id: number };

/** The outcome of call `id`. */
type Reply =
  | { readonly kind: "result"; readonly id: number; readonly value: unknown }
  | { readonly kind: "error"; readonly id: number; readonly error: Thrown };

/** The coroutine functions a loop serves, by name. */
export type CoroutineHandlers = Readonly<Record<string, (...args: never[]) => Coro<unknown>>>;

/** What `serveCoroutines` returns. */
export interface CoroutineService {
  /** Stop serving: calls in progress are cancelled, the port is closed. Idempotent. */
  close(): void;
}

/**
 * Serve `handlers` on `port` (one end of a `MessageChannel`; give the other to a worker,
 * which calls them with a `CoroutineClient`). Each call runs `handlers[name](...args)` in a
 * new task on `loop` (default: the running loop); its result or error goes back to the
 * caller, and the caller's AbortSignal cancels the task. Arguments and results are
 * structured-cloned; errors keep their name, message, stack and cause.
 *
 * @example
 * ```ts
 * const { port1, port2 } = new MessageChannel();
 * const service = serveCoroutines(port1, { *fetchConfig(key: string) { ... } });
 * const worker = new Worker(new URL("./worker.js", import.meta.url), {
 *   workerData: { port: port2 },
 *   transferList: [port2],
 * });
 * // in worker.js: const config = await new CoroutineClient(workerData.port).call("fetchConfig", ["db"]);
 * ```
 *
 * @throws TypeError unless every handler is a generator function (`function*`);
 *   RuntimeError without a running loop when `loop` is not given.
 */
export function serveCoroutines(
  port: MessagePort,
  handlers: CoroutineHandlers,
  options?: { loop?: BaseEventLoop | undefined },
): CoroutineService {
  checkPort(port);
  validateOptions(options, "options");
  if (typeof (handlers as unknown) !== "object" || (handlers as unknown) === null) {
    throw new TypeError(
      `handlers must be an object of generator functions, got ${describe(handlers)}`,
    );
  }
  for (const [name, handler] of Object.entries(handlers)) {
    if (!isCoroutineFunction(handler)) {
      throw new TypeError(`handler ${name} must be a generator function, got ${describe(handler)}`);
    }
  }
  const loop = options?.loop ?? getRunningLoop();
  const running = new Map<number, AbortController>();
  let closed = false;

  const reply = (message: Reply): void => {
    if (closed) return;
    const transfer: Transferable[] =
      message.kind === "result" ? takeTransferList([message.value]) : [];
    try {
      port.postMessage(message, transfer);
    } catch (error) {
      // A result that cannot be cloned fails the call rather than the service.
      port.postMessage({ kind: "error", id: message.id, error: serializeThrown(error) });
    }
  };

  const onMessage = (request: Request): void => {
    if (request.kind === "cancel") {
      running.get(request.id)?.abort();
      return;
    }
    const { id, name, args } = request;
    const handler = Object.hasOwn(handlers, name) ? handlers[name] : undefined;
    if (handler === undefined) {
      reply({
        kind: "error",
        id,
        error: serializeThrown(new TypeError(`no coroutine named ${name} is served`)),
      });
      return;
    }
    if (loop.isClosed()) {
      reply({
        kind: "error",
        id,
        error: serializeThrown(new RuntimeError("Event loop is closed")),
      });
      return;
    }
    const controller = new AbortController();
    running.set(id, controller);
    let coro: unknown;
    try {
      coro = (handler as (...values: unknown[]) => unknown)(...args);
      if (!isCoroutine(coro)) throw new TypeError(`${name}() did not return a coroutine`);
    } catch (error) {
      running.delete(id);
      reply({ kind: "error", id, error: serializeThrown(error) });
      return;
    }
    runCoroutineThreadsafe(coro, loop, { signal: controller.signal }).then(
      (value) => {
        running.delete(id);
        reply({ kind: "result", id, value });
      },
      (error: unknown) => {
        running.delete(id);
        reply({ kind: "error", id, error: serializeThrown(error) });
      },
    );
  };

  port.on("message", onMessage);
  return {
    close(): void {
      if (closed) return;
      for (const controller of running.values()) controller.abort();
      running.clear();
      closed = true;
      port.off("message", onMessage);
      port.close();
    },
  };
}

/**
 * The worker's end of `serveCoroutines`: `call(name, args)` runs the loop's coroutine
 * function `name` and returns a Promise of its result. Usable from any thread, including
 * one with no tsyncio loop at all.
 */
export class CoroutineClient {
  readonly #port: MessagePort;
  readonly #pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: unknown) => void }
  >();
  #nextId = 1;
  #closed = false;

  constructor(port: MessagePort) {
    checkPort(port);
    this.#port = port;
    port.on("message", (reply: Reply) => {
      const pending = this.#pending.get(reply.id);
      if (pending === undefined) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) port.unref();
      if (reply.kind === "result") pending.resolve(reply.value);
      else pending.reject(deserializeThrown(reply.error));
    });
    port.unref();
  }

  toString(): string {
    return `<CoroutineClient ${this.#closed ? "closed" : `pending=${this.#pending.size}`}>`;
  }

  /**
   * Run the served coroutine function `name` with `args` on the loop. Aborting
   * `options.signal` cancels its task; the Promise then rejects with CancelledError.
   *
   * @throws (rejects with) the coroutine's error; TypeError for a name that is not served
   *   or arguments that cannot be cloned; RuntimeError after `close()`.
   */
  call<R = unknown>(
    name: string,
    args: readonly unknown[] = [],
    options?: { signal?: AbortSignal | undefined },
  ): Promise<R> {
    if (this.#closed) return Promise.reject(new RuntimeError("the client is closed"));
    if (typeof name !== "string") {
      return Promise.reject(new TypeError(`name must be a string, got ${describe(name)}`));
    }
    const signal = options?.signal;
    if (signal?.aborted === true) return Promise.reject(new CancelledError());
    const id = this.#nextId++;
    return new Promise<R>((resolve, reject) => {
      try {
        this.#port.postMessage(
          { kind: "call", id, name, args: [...args] } satisfies Request,
          takeTransferList(args),
        );
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#port.ref();
      signal?.addEventListener(
        "abort",
        () => {
          if (this.#pending.has(id))
            this.#port.postMessage({ kind: "cancel", id } satisfies Request);
        },
        { once: true },
      );
    });
  }

  /** Stop: calls still waiting reject with RuntimeError; the port is closed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const pending of this.#pending.values()) {
      pending.reject(new RuntimeError("the client is closed"));
    }
    this.#pending.clear();
    this.#port.close();
  }
}

function checkPort(port: unknown): asserts port is MessagePort {
  if (
    typeof port !== "object" ||
    port === null ||
    typeof (port as { postMessage?: unknown }).postMessage !== "function" ||
    typeof (port as { on?: unknown }).on !== "function"
  ) {
    throw new TypeError(`port must be a MessagePort, got ${describe(port)}`);
  }
}
