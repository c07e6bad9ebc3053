/**
 * Synchronization primitives, as asyncio.locks: Lock, Event, Condition, Semaphore,
 * BoundedSemaphore, Barrier.
 */
export { Barrier } from "./barrier.ts";
export { Condition } from "./condition.ts";
export { Event } from "./event.ts";
export { Lock } from "./lock.ts";
export { BoundedSemaphore, Semaphore } from "./semaphore.ts";
