// Property-based tests for src/taskgroups.ts (with src/timeouts.ts): random trees of tasks in
// nested taskGroups, with random sleeps, failures, cancellations from outside, timeouts and
// move-on scopes, run on the virtual clock and checked against an independent model of the
// tree: every node's end time and outcome, no child outliving its group, every error reported
// exactly once, and `cancelling()` balanced.
//
// Every event of a tree (a sleep ending, a cancellation, a deadline) happens at its own
// virtual time, so the outcome never depends on the order of events within one iteration;
// only the order of the errors in a group does (children failing in their cleanup), so the
// model compares them sorted.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  CancelledError,
  ExceptionGroup,
  TimeoutError,
  createTask,
  currentTask,
  eagerTaskFactory,
  getRunningLoop,
  moveOnAt,
  sleep,
  taskGroup,
  timeoutAt,
  type Coro,
} from "../src/index.ts";
import { runVirtual } from "../src/testing.ts";
import { now } from "./helpers/coro.ts";

/** A child task that sleeps until `end`, then returns or fails. */
interface Leaf {
  kind: "leaf";
  id: number;
  end: number;
  fails: boolean;
  /** When cancelled, it throws an error of its own from its cleanup (`C<id>`). */
  cleanupFails: boolean;
  /** Cancelled from outside (by a timer) at this time. */
  cancelAt: number | null;
  /** Its work runs inside `timeoutAt(at)` or `moveOnAt(at)`. */
  scope: { kind: "timeout" | "moveOn"; at: number } | null;
}

/**
 * A task running a taskGroup whose body starts the children, sleeps until `bodyEnd`, then
 * returns or fails.
 */
interface Group {
  kind: "group";
  id: number;
  children: TreeNode[];
  bodyEnd: number;
  bodyFails: boolean;
  cancelAt: number | null;
  /** The taskGroup runs inside `timeoutAt(timeoutAt)`. */
  timeoutAt: number | null;
}

type TreeNode = Leaf | Group;

/**
 * How a node ends, and when. An error's shape names where it came from: `L3` (leaf 3's
 * error), `B2` (group 2's body error), `C4` (leaf 4's cleanup error), `T5` (node 5's
 * TimeoutError), `EG[...]` (a group, its errors sorted).
 */
type Outcome =
  | { kind: "ok"; end: number }
  | { kind: "cancelled"; end: number }
  | { kind: "error"; end: number; shape: string };

/** A node's outcome and the `cancelling()` count its task ends with. */
interface Result {
  outcome: Outcome;
  cancelling: number;
}

class NodeError extends Error {
  override name = "NodeError";
}

const SEED = 31337;

// ---- generation ---------------------------------------------------------------------------

// Raw times are small integers (so events interleave across the tree); `uniquify` then makes
// every time of a tree distinct, keeping their order except among equal raw times.
const rawTime = fc.integer({ min: 1, max: 40 });
const sometimes = fc.integer({ min: 0, max: 3 }).map((n) => n === 0);

const treeArb = fc.letrec<{ node: TreeNode; leaf: Leaf; group: Group }>((tie) => ({
  node: fc.oneof({ maxDepth: 3, depthSize: "small" }, tie("leaf"), tie("group")),
  leaf: fc.record({
    kind: fc.constant("leaf" as const),
    id: fc.constant(0),
    end: rawTime,
    fails: sometimes,
    cleanupFails: sometimes,
    cancelAt: fc.option(rawTime, { nil: null, freq: 4 }),
    scope: fc.option(
      fc.record({ kind: fc.constantFrom("timeout" as const, "moveOn" as const), at: rawTime }),
      { nil: null, freq: 3 },
    ),
  }),
  group: fc.record({
    kind: fc.constant("group" as const),
    id: fc.constant(0),
    children: fc.array(tie("node"), { maxLength: 4 }),
    bodyEnd: rawTime,
    bodyFails: sometimes,
    cancelAt: fc.option(rawTime, { nil: null, freq: 5 }),
    timeoutAt: fc.option(rawTime, { nil: null, freq: 4 }),
  }),
}));

/** Number the nodes and make every time distinct: `raw * 1000 + ordinal`. */
function uniquify(root: Group): Group {
  let nextId = 0;
  let ordinal = 0;
  const time = (raw: number): number => raw * 1000 + ordinal++;
  const maybe = (raw: number | null): number | null => (raw === null ? null : time(raw));
  function visit(node: TreeNode): TreeNode {
    const id = nextId++;
    if (node.kind === "leaf") {
      return {
        ...node,
        id,
        end: time(node.end),
        cancelAt: maybe(node.cancelAt),
        scope: node.scope === null ? null : { kind: node.scope.kind, at: time(node.scope.at) },
      };
    }
    return {
      ...node,
      id,
      bodyEnd: time(node.bodyEnd),
      cancelAt: maybe(node.cancelAt),
      timeoutAt: maybe(node.timeoutAt),
      children: node.children.map(visit),
    };
  }
  return visit(root) as Group;
}

const scenarioArb = treeArb.group.map(uniquify);

// ---- the model ----------------------------------------------------------------------------

/**
 * The outcome of `node` when its parent stops it (cancels it) at `stopAt` (Infinity: never),
 * and the `cancelling()` count it ends with. An event of the node itself at the very time
 * of `stopAt` wins: that event is what made the parent stop. Records each node's result in
 * `results` when given.
 */
function model(node: TreeNode, stopAt: number, results: Map<number, Result> | null): Outcome {
  const result = node.kind === "leaf" ? modelLeaf(node, stopAt) : modelGroup(node, stopAt, results);
  results?.set(node.id, result);
  return result.outcome;
}

function modelLeaf(leaf: Leaf, stopAt: number): Result {
  const end = Math.min(leaf.end, leaf.scope?.at ?? Infinity, leaf.cancelAt ?? Infinity);
  if (stopAt < end || end === leaf.cancelAt) {
    // Cancelled from outside; nothing uncancels it.
    const at = Math.min(stopAt, end);
    return leaf.cleanupFails
      ? { outcome: { kind: "error", end: at, shape: `C${leaf.id}` }, cancelling: 1 }
      : { outcome: { kind: "cancelled", end: at }, cancelling: 1 };
  }
  if (end === leaf.end) {
    return leaf.fails
      ? { outcome: { kind: "error", end, shape: `L${leaf.id}` }, cancelling: 0 }
      : { outcome: { kind: "ok", end }, cancelling: 0 };
  }
  // Its scope's deadline: the scope cancels the work and uncancels the task on exit.
  if (leaf.cleanupFails) {
    return { outcome: { kind: "error", end, shape: `C${leaf.id}` }, cancelling: 0 };
  }
  return leaf.scope?.kind === "timeout"
    ? { outcome: { kind: "error", end, shape: `T${leaf.id}` }, cancelling: 0 }
    : { outcome: { kind: "ok", end }, cancelling: 0 };
}

function modelGroup(group: Group, stopAt: number, results: Map<number, Result> | null): Result {
  // The children undisturbed: when would the first failure be?
  const free = group.children.map((child) => model(child, Infinity, null));
  let failAt = group.bodyFails ? group.bodyEnd : Infinity;
  for (const outcome of free) {
    if (outcome.kind === "error") failAt = Math.min(failAt, outcome.end);
  }
  const naturalEnd = Math.max(group.bodyEnd, ...free.map((outcome) => outcome.end));
  const outside = Math.min(group.cancelAt ?? Infinity, stopAt);
  const deadline = group.timeoutAt ?? Infinity;
  const inner = Math.min(failAt, deadline);

  if (naturalEnd < Math.min(inner, outside)) {
    for (const child of group.children) model(child, Infinity, results);
    return { outcome: { kind: "ok", end: naturalEnd }, cancelling: 0 };
  }
  // The group aborts: every child still running is cancelled then, and the errors of the
  // children (the one that failed first, those that fail in their cleanup) are grouped.
  const abortAt = Math.min(inner, outside);
  const errors: string[] = [];
  for (const child of group.children) {
    const outcome = model(child, abortAt, results);
    if (outcome.kind === "error") errors.push(outcome.shape);
  }
  if (group.bodyFails && group.bodyEnd === abortAt) errors.push(`B${group.id}`);
  const grouped: Outcome = { kind: "error", end: abortAt, shape: groupShape(errors) };
  if (failAt === abortAt) return { outcome: grouped, cancelling: 0 };
  if (deadline === abortAt) {
    // The Timeout converts only a bare CancelledError; errors win over it.
    const timedOut: Outcome = { kind: "error", end: abortAt, shape: `T${group.id}` };
    return { outcome: errors.length > 0 ? grouped : timedOut, cancelling: 0 };
  }
  // Cancelled from outside: errors win over the CancelledError, the request stays pending.
  const cancelled: Outcome = { kind: "cancelled", end: abortAt };
  return { outcome: errors.length > 0 ? grouped : cancelled, cancelling: 1 };
}

/** An ExceptionGroup's shape: its errors' shapes, sorted (their order is not modelled). */
function groupShape(shapes: string[]): string {
  return `EG[${[...shapes].sort().join(",")}]`;
}

// ---- the run ------------------------------------------------------------------------------

/** What the run records. */
interface RunRecord {
  ends: Map<number, number>;
  cancelling: Map<number, number>;
  /** Every error a node threw of its own: leaf and body errors, its TimeoutErrors. */
  thrown: unknown[];
  /** The node whose scope threw each TimeoutError. */
  owners: Map<unknown, number>;
}

function finish(id: number, record: RunRecord): void {
  const task = currentTask();
  assert.ok(task !== null);
  assert.ok(!record.ends.has(id), `node ${id} ended twice`);
  record.ends.set(id, now());
  record.cancelling.set(id, task.cancelling());
}

/** Register a TimeoutError that node `id`'s own scope threw. */
function own(error: unknown, id: number, record: RunRecord): void {
  if (error instanceof TimeoutError) {
    assert.ok(!record.owners.has(error), `TimeoutError of node ${id} seen before`);
    record.owners.set(error, id);
    record.thrown.push(error);
  }
}

function* runLeaf(leaf: Leaf, record: RunRecord): Coro<void> {
  try {
    const work = function* (): Coro<void> {
      try {
        yield* sleep(leaf.end - now());
      } catch (cancelled) {
        if (leaf.cleanupFails) {
          const error = new NodeError(`C${leaf.id}`);
          record.thrown.push(error);
          throw error;
        }
        throw cancelled;
      }
      if (leaf.fails) {
        const error = new NodeError(`L${leaf.id}`);
        record.thrown.push(error);
        throw error;
      }
    };
    if (leaf.scope === null) {
      yield* work();
    } else if (leaf.scope.kind === "moveOn") {
      yield* moveOnAt(leaf.scope.at, work);
    } else {
      try {
        yield* timeoutAt(leaf.scope.at, work);
      } catch (error) {
        own(error, leaf.id, record);
        throw error;
      }
    }
  } finally {
    finish(leaf.id, record);
  }
}

function* runGroup(group: Group, record: RunRecord): Coro<void> {
  try {
    const run = (): Coro<void> =>
      taskGroup(function* (tg) {
        for (const child of group.children) {
          const task = tg.createTask(
            child.kind === "leaf" ? runLeaf(child, record) : runGroup(child, record),
          );
          if (child.cancelAt !== null) {
            getRunningLoop().callAt(child.cancelAt, () => task.cancel());
          }
        }
        yield* sleep(group.bodyEnd - now());
        if (group.bodyFails) {
          const error = new NodeError(`B${group.id}`);
          record.thrown.push(error);
          throw error;
        }
      });
    if (group.timeoutAt === null) {
      yield* run();
    } else {
      try {
        yield* timeoutAt(group.timeoutAt, run);
      } catch (error) {
        own(error, group.id, record);
        throw error;
      }
    }
  } finally {
    finish(group.id, record);
  }
}

/** The shape of an error as the model writes it. */
function shapeOf(error: unknown, record: RunRecord): string {
  if (error instanceof ExceptionGroup) {
    return groupShape(error.exceptions.map((inner) => shapeOf(inner, record)));
  }
  if (error instanceof NodeError) return error.message;
  if (error instanceof TimeoutError && record.owners.has(error)) {
    return `T${String(record.owners.get(error))}`;
  }
  return `?${String(error)}`;
}

/** How many times `target` occurs in the tree of `error`. */
function occurrences(error: unknown, target: unknown): number {
  let count = error === target ? 1 : 0;
  if (error instanceof ExceptionGroup) {
    for (const inner of error.exceptions) count += occurrences(inner, target);
  }
  return count;
}

function* allNodes(node: TreeNode): Generator<TreeNode> {
  yield node;
  if (node.kind === "group") for (const child of node.children) yield* allNodes(child);
}

async function check(root: Group, eager = false): Promise<void> {
  const record: RunRecord = {
    ends: new Map(),
    cancelling: new Map(),
    thrown: [],
    owners: new Map(),
  };
  let rootError: unknown = null;
  const actual = await runVirtual(
    function* (): Coro<Outcome> {
      const task = createTask(runGroup(root, record));
      if (root.cancelAt !== null) getRunningLoop().callAt(root.cancelAt, () => task.cancel());
      try {
        yield* task;
        return { kind: "ok", end: now() };
      } catch (error) {
        if (error instanceof CancelledError) return { kind: "cancelled", end: now() };
        rootError = error;
        return { kind: "error", end: now(), shape: shapeOf(error, record) };
      }
    },
    eager
      ? {
          setup: (loop) => {
            loop.setTaskFactory(eagerTaskFactory);
          },
        }
      : undefined,
  );

  const results = new Map<number, Result>();
  const expected = model(root, Infinity, results);
  assert.deepEqual(actual, expected);
  assert.deepEqual(
    record.ends,
    new Map([...results].map(([id, result]) => [id, result.outcome.end])),
  );

  // No child outlives its group.
  for (const node of allNodes(root)) {
    if (node.kind !== "group") continue;
    for (const child of node.children) {
      assert.ok(
        record.ends.get(child.id)! <= record.ends.get(node.id)!,
        `child ${child.id} outlived group ${node.id}`,
      );
    }
  }

  // Every error is reported exactly once; nothing is thrown when the root did not fail.
  for (const error of record.thrown) {
    assert.equal(occurrences(rootError, error), 1, `${shapeOf(error, record)} reported once`);
  }
  if (rootError === null) assert.deepEqual(record.thrown, []);

  // A node's cancellation requests are balanced: one is left only if it was cancelled from
  // outside.
  for (const [id, result] of results) {
    assert.equal(record.cancelling.get(id), result.cancelling, `cancelling() of node ${id}`);
  }
}

describe("taskGroup (property)", () => {
  it("matches the model on random trees of nested groups, failures, cancellations and timeouts", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, (root) => check(root)),
      {
        seed: SEED,
        numRuns: 200,
      },
    );
  });

  it("matches the model with the eager task factory", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, (root) => check(root, true)),
      { seed: SEED + 1, numRuns: 100 },
    );
  });

  it("matches the model on a tree where a nested group fails before its parent's timeout", () =>
    check(
      uniquify({
        kind: "group",
        id: 0,
        bodyEnd: 1,
        bodyFails: false,
        cancelAt: null,
        timeoutAt: 9,
        children: [
          {
            kind: "leaf",
            id: 0,
            end: 20,
            fails: false,
            cleanupFails: true,
            cancelAt: null,
            scope: null,
          },
          {
            kind: "group",
            id: 0,
            bodyEnd: 30,
            bodyFails: false,
            cancelAt: null,
            timeoutAt: null,
            children: [
              {
                kind: "leaf",
                id: 0,
                end: 5,
                fails: true,
                cleanupFails: false,
                cancelAt: null,
                scope: null,
              },
              {
                kind: "leaf",
                id: 0,
                end: 20,
                fails: false,
                cleanupFails: true,
                cancelAt: null,
                scope: { kind: "moveOn", at: 8 },
              },
            ],
          },
        ],
      }),
    ));
});
