/**
 * The loop's list of pending tasks: an intrusive doubly linked list (the links live in the
 * tasks), so adding and removing a task allocates nothing and costs O(1), where a Set
 * holding 100k tasks would grow and rehash its table. Iteration tolerates removal of the
 * current task.
 */

/** The links a listed object carries; both null while it is not in a list. */
export interface ListNode {
  _prevTask: ListNode | null;
  _nextTask: ListNode | null;
}

export class TaskList<T extends ListNode> implements Iterable<T> {
  /** Sentinel of the circular list: head._nextTask is the first task, _prevTask the last. */
  readonly #head: ListNode;
  #size = 0;

  constructor() {
    const head: ListNode = { _prevTask: null, _nextTask: null };
    head._prevTask = head;
    head._nextTask = head;
    this.#head = head;
  }

  get size(): number {
    return this.#size;
  }

  /** Append `node`; does nothing if it is already in a list. */
  add(node: T): void {
    if (node._nextTask !== null) return;
    const head = this.#head;
    const last = head._prevTask as ListNode;
    node._prevTask = last;
    node._nextTask = head;
    last._nextTask = node;
    head._prevTask = node;
    this.#size++;
  }

  /** Remove `node`; returns false if it was not listed. */
  delete(node: T): boolean {
    const next = node._nextTask;
    if (next === null) return false;
    const previous = node._prevTask as ListNode;
    previous._nextTask = next;
    next._prevTask = previous;
    node._prevTask = null;
    node._nextTask = null;
    this.#size--;
    return true;
  }

  *[Symbol.iterator](): Generator<T, void, undefined> {
    const head = this.#head;
    let node = head._nextTask as ListNode;
    while (node !== head) {
      const next = node._nextTask;
      yield node as T;
      // The node may have been removed meanwhile: then continue from its old successor.
      node = node._nextTask ?? next ?? head;
    }
  }
}
