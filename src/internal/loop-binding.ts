/**
 * Loop binding for the synchronization primitives and queues: asyncio's `_LoopBoundMixin`
 * (Lib/asyncio/mixins.py) as a composed helper. An object is bound to the first running
 * loop that makes it wait, and refuses every other loop from then on.
 */
import { getRunningLoop } from "../events.ts";
import { RuntimeError } from "../exceptions.ts";
import type { BaseEventLoop } from "../loop/base-event-loop.ts";

/**
 * The loop an object (a Lock, a Queue) is bound to. Unbound until `loop()` is first called
 * from a running loop; constructing the object never binds it, so a primitive can be
 * created outside any loop and used later.
 */
export class LoopBinding {
  #loop: BaseEventLoop | null = null;

  /** The bound loop, or `null` while no loop has used the owner yet. */
  get bound(): BaseEventLoop | null {
    return this.#loop;
  }

  /**
   * The running loop, binding `owner` to it on first use.
   *
   * @throws RuntimeError `no running event loop` outside a loop; RuntimeError
   *   `<owner> is bound to a different event loop` (asyncio's words) on another loop.
   */
  loop(owner: { toString(): string }): BaseEventLoop {
    const running = getRunningLoop();
    if (this.#loop === null) this.#loop = running;
    else if (this.#loop !== running) throw differentLoop(owner);
    return running;
  }

  /**
   * Check, without binding, that `owner` may be used on the running loop (if any).
   *
   * @throws RuntimeError `<owner> is bound to a different event loop`.
   */
  check(owner: { toString(): string }, running: BaseEventLoop | null): void {
    if (this.#loop !== null && running !== null && this.#loop !== running) {
      throw differentLoop(owner);
    }
  }
}

function differentLoop(owner: { toString(): string }): RuntimeError {
  return new RuntimeError(`${owner.toString()} is bound to a different event loop`);
}
