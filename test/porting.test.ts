// The porting guide's "Every name" tables stay complete and true: every public name of
// asyncio (a snapshot of CPython's, test/fixtures/asyncio-names.json, made by
// scripts/asyncio-names.py) has a row, and every tsyncio name a row gives exists.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { AsCompleted } from "../src/as-completed.ts";
import * as tsyncio from "../src/index.ts";
import { Handle, TimerHandle } from "../src/loop/handles.ts";
import { UdpTransport } from "../src/net/datagram.ts";
import { Server } from "../src/net/server.ts";
import { SocketTransport } from "../src/net/socket-transport.ts";
import { StreamWriter } from "../src/streams/writer.ts";
import { ReadPipeTransport, WritePipeTransport } from "../src/subprocess/pipes.ts";
import { Process } from "../src/subprocess/process.ts";
import { ChildProcessTransport } from "../src/subprocess/transport.ts";
import * as testing from "../src/testing.ts";
import { exportedNames } from "./helpers/doc-blocks.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const GUIDE = "docs/porting-from-asyncio.md";

interface Snapshot {
  python: string;
  all: string[];
  loopMethods: string[];
  classes: Record<string, string[]>;
}

const snapshot = JSON.parse(
  readFileSync(join(root, "test", "fixtures", "asyncio-names.json"), "utf8"),
) as Snapshot;

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any class
type AnyClass = Function;

/** The classes a module exports, by name. */
function classesOf(module: object): [string, AnyClass][] {
  return Object.entries(module).filter(
    (entry): entry is [string, AnyClass] =>
      typeof entry[1] === "function" && /^class\b/.test(Function.prototype.toString.call(entry[1])),
  );
}

/** The classes a `Class.member` name may refer to: values exported, and the classes behind
 * the type-only exports (Server, StreamWriter, Process, the transports, handles). */
const CLASSES = new Map<string, AnyClass>([
  ...classesOf(tsyncio),
  ...classesOf(testing),
  ["AsCompleted", AsCompleted],
  ["Handle", Handle],
  ["TimerHandle", TimerHandle],
  ["Server", Server],
  ["StreamWriter", StreamWriter],
  ["Process", Process],
  ["ReadTransport", ReadPipeTransport],
  ["WriteTransport", WritePipeTransport],
  ["Transport", SocketTransport],
  ["DatagramTransport", UdpTransport],
  ["SubprocessTransport", ChildProcessTransport],
]);

/** The loop classes whose methods `loop.name` may refer to. */
const LOOPS: AnyClass[] = [tsyncio.BaseEventLoop, tsyncio.EventLoop, testing.VirtualEventLoop];

const EXPORTS = new Set([
  ...exportedNames(join(root, "src", "index.ts")).keys(),
  ...exportedNames(join(root, "src", "testing.ts")).keys(),
]);

/** The members of a class: its instances' (up the prototype chain) and its static ones. */
function members(cls: AnyClass): Set<string> {
  const found = new Set<string>();
  for (let proto: unknown = cls.prototype; proto !== null && proto !== Object.prototype;) {
    for (const name of Object.getOwnPropertyNames(proto)) found.add(name);
    proto = Object.getPrototypeOf(proto);
  }
  for (let ctor: unknown = cls; ctor !== null && ctor !== Function.prototype;) {
    for (const name of Object.getOwnPropertyNames(ctor)) found.add(name);
    ctor = Object.getPrototypeOf(ctor);
  }
  return found;
}

/** Whether a tsyncio name (`createTask`, `loop.callSoon`, `StreamReader.readExactly`) exists. */
function resolves(name: string): boolean {
  const [owner, member, ...rest] = name.split(".");
  if (owner === undefined || rest.length > 0) return false;
  if (member === undefined) return EXPORTS.has(owner);
  if (owner === "loop") return LOOPS.some((cls) => members(cls).has(member));
  const cls = CLASSES.get(owner);
  return cls !== undefined && EXPORTS.has(owner) && members(cls).has(member);
}

/** One row of an "Every name" table. */
interface Row {
  line: number;
  /** The code spans of the asyncio column. */
  asyncio: string[];
  /** The code spans of the tsyncio column, or null when it is "—". */
  tsyncio: string[] | null;
  /** The tsyncio cell without its code spans, and the notes cell. */
  rest: string;
  notes: string;
}

const CODE_SPAN = /`([^`]+)`/g;

/** The table rows of the markdown's "## Every name" section. */
function everyNameRows(markdown: string): Row[] {
  const lines = markdown.split("\n");
  const start = lines.indexOf("## Every name");
  if (start < 0) throw new Error('no "## Every name" section');
  const rows: Row[] = [];
  for (let i = start + 1; i < lines.length && !(lines[i] ?? "").startsWith("## "); i++) {
    const line = lines[i] ?? "";
    if (!line.startsWith("|")) continue;
    const [left = "", right = "", notes = ""] = line
      .split("|")
      .slice(1, -1)
      .map((cell) => cell.trim());
    if (left === "asyncio" || /^-+$/.test(left)) continue;
    const spans = (cell: string): string[] => [...cell.matchAll(CODE_SPAN)].map((m) => m[1] ?? "");
    rows.push({
      line: i + 1,
      asyncio: spans(left),
      tsyncio: right === "—" ? null : spans(right),
      rest: right.replace(CODE_SPAN, "").replaceAll(",", "").trim(),
      notes,
    });
  }
  return rows;
}

const camel = (name: string): string =>
  name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

const rows = everyNameRows(readFileSync(join(root, GUIDE), "utf8"));
const listed = new Set(rows.flatMap((row) => row.asyncio));
const at = (row: Row): string => `${GUIDE}:${String(row.line)}`;

describe("the porting guide's Every name tables", () => {
  it("are read from a snapshot of asyncio 3.13", () => {
    assert.equal(snapshot.python, "3.13.0");
    assert.equal(snapshot.all.length, 98);
    assert.equal(snapshot.loopMethods.length, 54);
  });

  it("have a row for every name in asyncio.__all__", () => {
    assert.deepEqual(
      snapshot.all.filter((name) => !listed.has(name)),
      [],
    );
  });

  it("have a row for every method of asyncio.AbstractEventLoop, as loop.<name>", () => {
    assert.deepEqual(
      snapshot.loopMethods.filter((name) => !listed.has(`loop.${name}`)),
      [],
    );
  });

  it("have a row for every class member whose tsyncio name is not its camelCase name", () => {
    const missing: string[] = [];
    for (const [owner, names] of Object.entries(snapshot.classes)) {
      const cls = CLASSES.get(owner);
      assert.ok(cls !== undefined, `no runtime class for ${owner}`);
      const have = members(cls);
      for (const name of names) {
        if (!have.has(camel(name)) && !listed.has(`${owner}.${name}`)) {
          missing.push(`${owner}.${name}`);
        }
      }
    }
    assert.deepEqual(missing, []);
  });

  it('give each row an asyncio name, and either tsyncio names or "—" with a reason', () => {
    const bad = rows.filter(
      (row) =>
        row.asyncio.length === 0 ||
        (row.tsyncio === null ? row.notes === "" : row.tsyncio.length === 0 || row.rest !== ""),
    );
    assert.deepEqual(bad.map(at), []);
  });

  it("give only tsyncio names that exist", () => {
    const unknown = rows
      .flatMap((row) => (row.tsyncio ?? []).map((name) => ({ row, name })))
      .filter(({ name }) => !resolves(name))
      .map(({ row, name }) => `${at(row)}: ${name}`);
    assert.deepEqual(unknown, []);
  });
});

describe("resolves", () => {
  it("finds exports, loop methods, instance and static members", () => {
    for (const name of [
      "createTask",
      "Coro",
      "runVirtual",
      "loop.callSoon",
      "loop.time",
      "loop.addSignalHandler",
      "loop.runInExecutor",
      "StreamReader.readExactly",
      "StreamWriter.drain",
      "Token.MISSING",
    ]) {
      assert.equal(resolves(name), true, name);
    }
  });

  it("refuses names tsyncio does not have", () => {
    for (const name of [
      "create_task",
      "loop.addReader",
      "StreamReader.readexactly",
      "Server.nope",
      "SocketTransport.write",
      "a.b.c",
    ]) {
      assert.equal(resolves(name), false, name);
    }
  });
});

describe("everyNameRows", () => {
  it("reads the rows of the Every name section only", () => {
    const markdown = [
      "## Names",
      "| asyncio | tsyncio | notes |",
      "| --- | --- | --- |",
      "| `a` | `b` | |",
      "## Every name",
      "### sub",
      "| asyncio | tsyncio | notes |",
      "| ------- | ------- | ----- |",
      "| `create_task` | `createTask`, `Task` | |",
      "| `add_reader` | — | no fds |",
      "## After",
      "| `c` | `d` | |",
    ].join("\n");
    assert.deepEqual(everyNameRows(markdown), [
      { line: 9, asyncio: ["create_task"], tsyncio: ["createTask", "Task"], rest: "", notes: "" },
      { line: 10, asyncio: ["add_reader"], tsyncio: null, rest: "—", notes: "no fds" },
    ]);
  });
});
