/**
 * getaddrinfo and getnameinfo, as asyncio's `loop.getaddrinfo` / `loop.getnameinfo`, over
 * Node's `dns.lookup` and `dns.lookupService` (the operating system's resolver, with
 * `/etc/hosts`, as Python's `socket` functions use).
 *
 * Families are Node's numbers: 4 and 6 (0 for either), where Python has `AF_INET` and
 * `AF_INET6`. Socket addresses are `[host, port]` pairs, for IPv6 too (Python adds
 * flowinfo and scope id).
 */
import { readFileSync } from "node:fs";
import { lookup, lookupService } from "node:dns/promises";
import { ADDRCONFIG, ALL, V4MAPPED } from "node:dns";
import { isIP } from "node:net";
import type { Coro } from "../coroutines.ts";
import { wrapPromise } from "../interop.ts";
import { describe, validateOptions } from "../internal/validate.ts";

// Socket kinds and protocols (Linux values, as Python's `socket` module has them).
/** A stream socket (TCP). */
export const SOCK_STREAM = 1;
/** A datagram socket (UDP). */
export const SOCK_DGRAM = 2;
/** A raw socket. */
export const SOCK_RAW = 3;
/** The TCP protocol number. */
export const IPPROTO_TCP = 6;
/** The UDP protocol number. */
export const IPPROTO_UDP = 17;

// getaddrinfo flags (glibc values).
/** No host: the wildcard address, to bind to, rather than loopback. */
export const AI_PASSIVE = 0x1;
/** Fill in the canonical name of the first result. */
export const AI_CANONNAME = 0x2;
/** The host must be a numeric address: no name lookup. */
export const AI_NUMERICHOST = 0x4;
/** With family 6, return IPv4-mapped IPv6 addresses when there is no IPv6 one. */
export const AI_V4MAPPED = 0x8;
/** With `AI_V4MAPPED`, return both IPv6 and IPv4-mapped addresses. */
export const AI_ALL = 0x10;
/** Return only the families the host has a configured address of. */
export const AI_ADDRCONFIG = 0x20;
/** The port must be numeric: no service-name lookup. */
export const AI_NUMERICSERV = 0x400;

// getnameinfo flags (glibc values).
/** Return the host as a numeric address. */
export const NI_NUMERICHOST = 0x1;
/** Return the service as a port number. */
export const NI_NUMERICSERV = 0x2;
/** Return only the first label of a local host's name. */
export const NI_NOFQDN = 0x4;
/** Fail when the host has no name, rather than returning the numeric address. */
export const NI_NAMEREQD = 0x8;
/** Look the service up as a UDP service (default TCP). */
export const NI_DGRAM = 0x10;

/** One result of `getaddrinfo`: Python's `(family, type, proto, canonname, sockaddr)`. */
export type AddrInfo = [
  family: 4 | 6,
  type: number,
  proto: number,
  canonname: string,
  sockaddr: [host: string, port: number],
];

/** Options of `getaddrinfo` (asyncio's keyword arguments). */
export interface GetaddrinfoOptions {
  /** 4 or 6 for one address family; 0 (default) for both. */
  family?: 0 | 4 | 6 | undefined;
  /** `SOCK_STREAM`, `SOCK_DGRAM` or `SOCK_RAW`; 0 (default) for each of them. */
  type?: number | undefined;
  /** `IPPROTO_TCP` or `IPPROTO_UDP`; 0 (default) for the type's protocol. */
  proto?: number | undefined;
  /** A bitwise OR of the `AI_*` flags. */
  flags?: number | undefined;
}

/** The socket kinds getaddrinfo knows, each with its protocol and service table. */
const KINDS: readonly (readonly [type: number, proto: number, services: "tcp" | "udp" | null])[] = [
  [SOCK_STREAM, IPPROTO_TCP, "tcp"],
  [SOCK_DGRAM, IPPROTO_UDP, "udp"],
  [SOCK_RAW, 0, null],
];

/**
 * Resolve `host` and `port` into socket addresses, as Python's `socket.getaddrinfo`: one
 * result per address and socket kind (stream, datagram, raw when `type` is 0), addresses
 * in the resolver's order. `host` null means loopback, or the wildcard address with
 * `AI_PASSIVE`; `port` may be a number, a numeric string, a service name from
 * `/etc/services`, or null (0). Numeric hosts are not looked up.
 *
 * Cancelling the waiting task returns at once; the lookup itself cannot be stopped.
 *
 * asyncio parity: the canonical name (`AI_CANONNAME`) is `host` as given, since Node's
 * resolver does not report one; a port outside 0-65535 is a RangeError where C's resolver
 * wraps it around.
 *
 * @throws the resolver's error (`ENOTFOUND` for an unknown host, as Python's
 *   `gaierror(EAI_NONAME)`); errors with code `EAI_ADDRFAMILY` (a numeric host of the other
 *   family), `EAI_SERVICE` (an unknown service name) or `EAI_SOCKTYPE` (a `proto` that
 *   does not fit `type`); TypeError/RangeError for bad arguments.
 */
export function* getaddrinfo(
  host: string | null | undefined,
  port: number | string | null | undefined,
  options: GetaddrinfoOptions = {},
): Coro<AddrInfo[]> {
  validateOptions(options, "options");
  if (host != null && typeof host !== "string") {
    throw new TypeError(`host must be a string or null, got ${describe(host)}`);
  }
  const family = checkFamily(options.family);
  const type = options.type ?? 0;
  if (type !== 0 && !KINDS.some(([kind]) => kind === type)) {
    throw new RangeError(
      `type must be 0, SOCK_STREAM, SOCK_DGRAM or SOCK_RAW, got ${describe(type)}`,
    );
  }
  const proto = options.proto ?? 0;
  if (typeof proto !== "number" || !Number.isInteger(proto)) {
    throw new TypeError(`proto must be an integer, got ${describe(proto)}`);
  }
  const flags = options.flags ?? 0;
  if (typeof flags !== "number" || !Number.isInteger(flags)) {
    throw new TypeError(`flags must be an integer, got ${describe(flags)}`);
  }
  const label = host ?? "null";
  const kinds = KINDS.filter(
    ([kind, protocol]) => (type === 0 || kind === type) && (proto === 0 || protocol === proto),
  );
  if (kinds.length === 0) throw gaiError("EAI_SOCKTYPE", label);
  const ports = servicePorts(port, kinds, type, flags, label);
  if (host == null && port == null) throw gaiError("ENOTFOUND", label);

  let addresses: { address: string; family: 4 | 6 }[];
  if (host == null) {
    addresses =
      (flags & AI_PASSIVE) !== 0
        ? [
            { address: "0.0.0.0", family: 4 },
            { address: "::", family: 6 },
          ]
        : [
            { address: "::1", family: 6 },
            { address: "127.0.0.1", family: 4 },
          ];
    addresses = addresses.filter((entry) => family === 0 || entry.family === family);
  } else if (isIP(host) !== 0) {
    addresses = [numericAddress(host, family, flags)];
  } else if (host === "" || (flags & AI_NUMERICHOST) !== 0) {
    throw gaiError("ENOTFOUND", host);
  } else {
    let hints = 0;
    if ((flags & AI_ADDRCONFIG) !== 0) hints |= ADDRCONFIG;
    if ((flags & AI_V4MAPPED) !== 0) hints |= V4MAPPED;
    if ((flags & AI_ALL) !== 0) hints |= ALL;
    const found = yield* wrapPromise(lookup(host, { all: true, family, hints }));
    addresses = found.map((entry) => ({
      address: entry.address,
      family: entry.family === 6 ? 6 : 4,
    }));
  }

  const result: AddrInfo[] = [];
  for (const { address, family: addressFamily } of addresses) {
    for (const [kind, protocol] of kinds) {
      const servicePort = ports.get(kind);
      if (servicePort === undefined) continue;
      result.push([addressFamily, kind, protocol, "", [address, servicePort]]);
    }
  }
  const first = result[0];
  if (first !== undefined && (flags & AI_CANONNAME) !== 0) first[3] = host ?? "";
  return result;
}

/**
 * The host name and service name of a socket address, as Python's `socket.getnameinfo`:
 * `[host, port]` becomes `[name, service]`, e.g. `["localhost", "http"]`. A host without
 * a name stays numeric unless `NI_NAMEREQD`; a port without a service name becomes its
 * number as a string. Service names come from `/etc/services` (`NI_DGRAM` for UDP).
 *
 * @throws `ENOTFOUND` when `host` is not a numeric address (as Python's gaierror), or has
 *   no name with `NI_NAMEREQD`; TypeError/RangeError for a malformed address.
 */
export function* getnameinfo(
  sockaddr: readonly [host: string, port: number, ...rest: number[]],
  flags = 0,
): Coro<[host: string, service: string]> {
  if (!Array.isArray(sockaddr) || sockaddr.length < 2 || sockaddr.length > 4) {
    throw new TypeError(
      `getnameinfo() needs a [host, port] socket address, got ${describe(sockaddr)}`,
    );
  }
  const [host, port] = sockaddr;
  if (typeof host !== "string") throw new TypeError(`host must be a string, got ${describe(host)}`);
  validatePort(port);
  if (typeof flags !== "number" || !Number.isInteger(flags)) {
    throw new TypeError(`flags must be an integer, got ${describe(flags)}`);
  }
  if (isIP(host) === 0) throw gaiError("ENOTFOUND", host, "getnameinfo");
  const service =
    (flags & NI_NUMERICSERV) !== 0
      ? String(port)
      : (services().byPort.get(`${port}/${(flags & NI_DGRAM) !== 0 ? "udp" : "tcp"}`) ??
        String(port));
  if ((flags & NI_NUMERICHOST) !== 0) return [host, service];
  let name: string;
  try {
    ({ hostname: name } = yield* wrapPromise(lookupService(host, port)));
  } catch (error) {
    // No name for this address: Python answers with the numeric host unless NI_NAMEREQD.
    if ((error as { code?: unknown }).code !== "ENOTFOUND" || (flags & NI_NAMEREQD) !== 0) {
      throw error;
    }
    return [host, service];
  }
  if ((flags & NI_NOFQDN) !== 0 && isIP(name) === 0) name = name.split(".")[0] ?? name;
  return [name, service];
}

// ---- helpers --------------------------------------------------------------------------------

/** @internal The `family` option: 0 (default), 4 or 6. */
export function checkFamily(value: unknown): 0 | 4 | 6 {
  if (value === undefined || value === 0) return 0;
  if (value === 4 || value === 6) return value;
  throw new RangeError(`family must be 0, 4 or 6, got ${describe(value)}`);
}

const GAI_MESSAGES: Record<string, string> = {
  EAI_ADDRFAMILY: "Address family for hostname not supported",
  EAI_SERVICE: "Servname not supported for ai_socktype",
  EAI_SOCKTYPE: "ai_socktype not supported",
};

/**
 * An error shaped as Node's resolver errors (`getaddrinfo ENOTFOUND host`), with the C
 * library's words for the codes Node never reports (Python shows those).
 */
function gaiError(code: string, subject: string, syscall = "getaddrinfo"): Error {
  const words = code === "ENOTFOUND" ? "" : ` (${GAI_MESSAGES[code] ?? code})`;
  const error = new Error(`${syscall} ${code} ${subject}${words}`) as Error & {
    code: string;
    syscall: string;
    hostname: string;
  };
  error.code = code;
  error.syscall = syscall;
  error.hostname = subject;
  return error;
}

/** A numeric host as getaddrinfo returns it, honouring the requested family. */
function numericAddress(
  host: string,
  family: 0 | 4 | 6,
  flags: number,
): { address: string; family: 4 | 6 } {
  const hostFamily = isIP(host) === 6 ? 6 : 4;
  if (family === 0 || family === hostFamily) return { address: host, family: hostFamily };
  if (family === 6 && (flags & AI_V4MAPPED) !== 0) {
    return { address: `::ffff:${host}`, family: 6 };
  }
  throw gaiError("EAI_ADDRFAMILY", host);
}

/** The port for each socket kind, from a number, a numeric string or a service name. */
function servicePorts(
  port: number | string | null | undefined,
  kinds: readonly (readonly [number, number, "tcp" | "udp" | null])[],
  type: number,
  flags: number,
  label: string,
): Map<number, number> {
  const ports = new Map<number, number>();
  let number: number | null = null;
  if (port == null) {
    number = 0;
  } else if (typeof port === "number") {
    validatePort(port);
    number = port;
  } else if (typeof port === "string") {
    const text = port.trim();
    if (/^\d*$/.test(text)) {
      number = text === "" ? 0 : Number(text);
      validatePort(number);
    } else if ((flags & AI_NUMERICSERV) !== 0) {
      throw gaiError("ENOTFOUND", label);
    }
  } else {
    throw new TypeError(`port must be a number, a string or null, got ${describe(port)}`);
  }
  if (number !== null) {
    // A raw socket has no ports: asked for explicitly, a port is an error (as glibc).
    if (type === SOCK_RAW && number !== 0) throw gaiError("EAI_SERVICE", String(number));
    for (const [kind] of kinds) ports.set(kind, number);
    return ports;
  }
  const table = services().byName;
  for (const [kind, , protocol] of kinds) {
    if (protocol === null) continue;
    const found = table.get(`${port as string}/${protocol}`);
    if (found !== undefined) ports.set(kind, found);
  }
  if (ports.size === 0) throw gaiError("EAI_SERVICE", port as string);
  return ports;
}

function validatePort(port: unknown): asserts port is number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer from 0 to 65535, got ${describe(port)}`);
  }
}

interface ServiceTable {
  /** "http/tcp" → 80, aliases included. */
  byName: Map<string, number>;
  /** "80/tcp" → "http", the first name listed. */
  byPort: Map<string, string>;
}

let serviceTable: ServiceTable | null = null;

/** `/etc/services`, read once; empty where the file is missing. */
function services(): ServiceTable {
  if (serviceTable !== null) return serviceTable;
  const table: ServiceTable = { byName: new Map(), byPort: new Map() };
  let text = "";
  try {
    text = readFileSync("/etc/services", "latin1");
  } catch {
    // No services database (Windows, a minimal container): only numeric ports resolve.
  }
  for (const line of text.split("\n")) {
    const fields = (line.split("#")[0] ?? "").trim().split(/\s+/);
    const [name, where, ...aliases] = fields;
    const match = where === undefined ? null : /^(\d+)\/(tcp|udp)$/.exec(where);
    if (name === undefined || name === "" || match === null) continue;
    const [, number, protocol] = match as unknown as [string, string, string];
    for (const each of [name, ...aliases]) {
      const key = `${each}/${protocol}`;
      if (!table.byName.has(key)) table.byName.set(key, Number(number));
    }
    const portKey = `${number}/${protocol}`;
    if (!table.byPort.has(portKey)) table.byPort.set(portKey, name);
  }
  serviceTable = table;
  return table;
}
