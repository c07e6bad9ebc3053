/**
 * The public API of tsyncio. Each group mirrors one asyncio module; anything not listed here
 * is internal, and package.json "exports" makes deep imports impossible.
 *
 * @module tsyncio
 */

// asyncio.exceptions (and the Python builtins asyncio relies on)
export {
  BrokenBarrierError,
  CancelledError,
  DeadlockError,
  ExceptionGroup,
  IncompleteReadError,
  InvalidStateError,
  LimitOverrunError,
  KeyboardInterrupt,
  LookupError,
  ProcessLookupError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  RuntimeError,
  SendfileNotAvailableError,
  TimeoutError,
  exceptStar,
  rethrowIfCancelled,
} from "./exceptions.ts";
export type { ExceptStarClause, ExceptionMatcher } from "./exceptions.ts";

// asyncio.coroutines
export { isCoroutine, isCoroutineFunction } from "./coroutines.ts";
export type { Awaitable, Coro, SleepWait, Yielded } from "./coroutines.ts";

// contextvars
export { Context, ContextVar, Token, copyContext } from "./contextvars.ts";

// asyncio.events, asyncio.base_events
export { getRunningLoop } from "./events.ts";
export { BaseEventLoop } from "./loop/base-event-loop.ts";
export type { ExceptionContext, ExceptionHandler, TaskFactory } from "./loop/base-event-loop.ts";
export { EventLoop, newEventLoop } from "./loop/node-event-loop.ts";
export type { Handle, TimerHandle } from "./loop/handles.ts";

// asyncio.futures
export { Future, isFuture } from "./futures.ts";
export type { DoneCallback, FutureIterator, FutureState } from "./futures.ts";

// asyncio.tasks
export {
  Task,
  allTasks,
  createEagerTaskFactory,
  createTask,
  currentTask,
  eagerTaskFactory,
  ensureFuture,
} from "./tasks.ts";
export type { TaskConstructor, TaskConstructorOptions, TaskOptions } from "./tasks.ts";
export { sleep } from "./sleep.ts";
export { gather } from "./gather.ts";
export type { AwaitedResult, GatherOptions } from "./gather.ts";
export { shield } from "./shield.ts";
export { ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION, wait, waitFor } from "./wait.ts";
export type { ReturnWhen, WaitOptions } from "./wait.ts";
export { asCompleted } from "./as-completed.ts";
export type { AsCompleted } from "./as-completed.ts";

// asyncio.graph (Python 3.14): call-graph introspection
export { captureCallGraph, formatCallGraph, printCallGraph } from "./graph.ts";
export type {
  CallGraphOptions,
  FrameCallGraphEntry,
  FutureCallGraph,
  PrintCallGraphOptions,
} from "./graph.ts";

// asyncio.taskgroups, asyncio.timeouts (and Trio-style move-on scopes)
export { TaskGroup, taskGroup } from "./taskgroups.ts";
export { Timeout, moveOnAfter, moveOnAt, timeout, timeoutAt } from "./timeouts.ts";
export type { TimeoutState } from "./timeouts.ts";

// asyncio.locks
export { Barrier, BoundedSemaphore, Condition, Event, Lock, Semaphore } from "./locks/index.ts";

// asyncio.queues
export { LifoQueue, PriorityQueue, Queue } from "./queues.ts";
export type { PriorityQueueOptions, QueueShutdownOptions } from "./queues.ts";

// asyncio.runners
export { Runner, run } from "./runners.ts";
export type { RunOptions } from "./runners.ts";

// asyncio.protocols, asyncio.transports, and the loop's networking methods
// (loop.createConnection, createServer, createUnixConnection, createUnixServer, startTls)
import "./net/loop-methods.ts";
export type {
  BaseProtocol,
  BufferedProtocol,
  DatagramAddress,
  DatagramProtocol,
  Protocol,
  SubprocessProtocol,
} from "./protocols.ts";
export type {
  BaseTransport,
  DatagramTransport,
  ReadTransport,
  SubprocessTransport,
  Transport,
  WriteTransport,
} from "./transports.ts";
export type {
  ClientSsl,
  ConnectionOptions,
  ServerOptions,
  ServerSsl,
  UnixServerOptions,
} from "./net/connect.ts";
export type { Server, ServerSocket } from "./net/server.ts";
export type { StartTlsOptions } from "./net/loop-methods.ts";
// (loop.createDatagramEndpoint, getaddrinfo, getnameinfo, sendfile)
export type { DatagramEndpointOptions } from "./net/datagram.ts";
export type { AddrInfo, GetaddrinfoOptions } from "./net/dns.ts";
export type { SendfileOptions } from "./net/sendfile.ts";
export {
  AI_ADDRCONFIG,
  AI_ALL,
  AI_CANONNAME,
  AI_NUMERICHOST,
  AI_NUMERICSERV,
  AI_PASSIVE,
  AI_V4MAPPED,
  IPPROTO_TCP,
  IPPROTO_UDP,
  NI_DGRAM,
  NI_NAMEREQD,
  NI_NOFQDN,
  NI_NUMERICHOST,
  NI_NUMERICSERV,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_STREAM,
} from "./net/dns.ts";

// asyncio.streams
export {
  StreamReader,
  StreamReaderProtocol,
  openConnection,
  openUnixConnection,
  startServer,
  startUnixServer,
} from "./streams/index.ts";
export type {
  ClientConnectedCallback,
  OpenConnectionOptions,
  OpenUnixConnectionOptions,
  StartServerOptions,
  StartUnixServerOptions,
  StreamLimitOption,
  StreamStartTlsOptions,
  StreamWriter,
} from "./streams/index.ts";

// asyncio.subprocess (and loop.subprocessExec, subprocessShell, connectReadPipe,
// connectWritePipe)
export { DEVNULL, PIPE, STDOUT } from "./subprocess/transport.ts";
export type {
  StdioTarget,
  SubprocessOptions,
  SubprocessShellOptions,
} from "./subprocess/transport.ts";
export { createSubprocessExec, createSubprocessShell } from "./subprocess/process.ts";
export type {
  Process,
  ProcessOptions,
  ProcessShellOptions,
  ProcessWaitOptions,
} from "./subprocess/process.ts";

// asyncio's Unix event loop: loop.addSignalHandler, loop.removeSignalHandler
import "./signals.ts";

// asyncio.threads, loop.runInExecutor and concurrent.futures' executors, on worker_threads
// (loop.runInExecutor, setDefaultExecutor, shutdownDefaultExecutor), and
// asyncio.run_coroutine_threadsafe
import "./executors/loop-methods.ts";
export { runCoroutineThreadsafe, toThread } from "./threads.ts";
export type { RunCoroutineThreadsafeOptions } from "./threads.ts";
export { BrokenWorkerError } from "./executors/executor.ts";
export type {
  AnyModule,
  Executor,
  ExportArgs,
  ExportName,
  ExportResult,
  JobTarget,
  ModuleExecutor,
  ShutdownOptions,
} from "./executors/executor.ts";
export { WorkerPoolExecutor } from "./executors/worker-pool.ts";
export { ProcessPoolExecutor } from "./executors/process-pool.ts";
export type { PoolOptions } from "./executors/pool.ts";
export { InlineExecutor } from "./executors/inline.ts";
export { transfer } from "./executors/wire.ts";
export { CoroutineClient, serveCoroutines } from "./executors/bridge.ts";
export type { CoroutineHandlers, CoroutineService } from "./executors/bridge.ts";

// Promise interop (no asyncio counterpart)
export { wrapPromise } from "./interop.ts";
