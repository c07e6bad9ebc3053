// Throwaway TLS material for the tests, made with the `openssl` command once per process in a
// temporary directory (removed when the process exits): a CA, a server certificate it signs
// for localhost and 127.0.0.1, and a self-signed certificate nobody trusts.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** PEM files and their contents. */
export interface TestCerts {
  /** The directory holding the files. */
  readonly dir: string;
  /** The CA's certificate: what a client trusts. */
  readonly caFile: string;
  readonly ca: string;
  /** The server's key and certificate (signed by the CA; localhost, 127.0.0.1). */
  readonly keyFile: string;
  readonly key: string;
  readonly certFile: string;
  readonly cert: string;
  /** A self-signed key and certificate for localhost that no client trusts. */
  readonly untrustedKey: string;
  readonly untrustedCert: string;
}

/** Why the TLS tests cannot run (no `openssl`), or undefined when they can. */
export const opensslMissing: string | undefined = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return undefined;
  } catch {
    return "the openssl command is not installed (apt-get install openssl)";
  }
})();

let made: TestCerts | undefined;

/** The test certificates, made on first use. Throws when `openssl` is missing. */
export function testCerts(): TestCerts {
  if (made !== undefined) return made;
  if (opensslMissing !== undefined) throw new Error(opensslMissing);
  const dir = mkdtempSync(join(tmpdir(), "tsyncio-certs-"));
  process.on("exit", () => {
    rmSync(dir, { recursive: true, force: true });
  });
  const file = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=tsyncio test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  openssl("req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
  writeFileSync(
    file("server.ext"),
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
  );
  openssl(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-set_serial",
    "2",
    "-days",
    "2",
    "-extfile",
    "server.ext",
    "-out",
    "server.pem",
  );
  openssl(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "untrusted.key",
    "-out",
    "untrusted.pem",
    "-days",
    "2",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
  );
  const read = (name: string): string => readFileSync(file(name), "utf8");
  made = {
    dir,
    caFile: file("ca.pem"),
    ca: read("ca.pem"),
    keyFile: file("server.key"),
    key: read("server.key"),
    certFile: file("server.pem"),
    cert: read("server.pem"),
    untrustedKey: read("untrusted.key"),
    untrustedCert: read("untrusted.pem"),
  };
  return made;
}
