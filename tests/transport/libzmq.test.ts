import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libzmqLocation, ZmqError, zmqVersion } from "../../src/transport/libzmq.ts";
import { cacheCopyOfEmbedded, libzmqCandidates } from "../../src/transport/libzmq-path.ts";
import { ZmqSocket } from "../../src/transport/socket.ts";

const saved = { lib: process.env.CARAPACE_LIBZMQ, home: process.env.CARAPACE_HOME };
let temp: string | null = null;
afterEach(() => {
  for (const [key, value] of [
    ["CARAPACE_LIBZMQ", saved.lib],
    ["CARAPACE_HOME", saved.home],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  if (temp) rmSync(temp, { recursive: true, force: true });
  temp = null;
});

describe("libzmq binding", () => {
  test("loads the libzmq 4.3 from the zeromq package and says where from", () => {
    expect(zmqVersion()).toMatch(/^4\.3\.\d+$/);
    const location = libzmqLocation();
    expect(["env", "beside-executable", "embedded", "cache"]).toContain(location.origin);
    expect(existsSync(location.path)).toBe(true);
  });

  test("libzmq failures become ZmqError with a [TRANSPORT] message", () => {
    const socket = new ZmqSocket("DEALER");
    try {
      expect(() => socket.connect("bogus://nowhere")).toThrow(ZmqError);
      expect(() => socket.connect("bogus://nowhere")).toThrow(
        /^\[TRANSPORT\] Error: zmq_connect\(bogus:\/\/nowhere\) failed/,
      );
    } finally {
      socket.close();
    }
    expect(() => socket.connect("ipc:///tmp/x")).toThrow(/socket is closed/);
  });
});

describe("where libzmq is looked for", () => {
  test("CARAPACE_LIBZMQ comes first, the embedded copy is always a candidate", () => {
    process.env.CARAPACE_LIBZMQ = "/opt/carapace/libzmq.so";
    const candidates = libzmqCandidates();
    expect(candidates[0]).toEqual({ path: "/opt/carapace/libzmq.so", origin: "env" });
    expect(candidates.at(-1)?.origin).toBe("embedded");
    delete process.env.CARAPACE_LIBZMQ;
    expect(libzmqCandidates().some((c) => c.origin === "env")).toBe(false);
  });

  test("the cache fallback copies the embedded library under $CARAPACE_HOME/cache, once", () => {
    temp = mkdtempSync(join(tmpdir(), "cpt-home-"));
    process.env.CARAPACE_HOME = temp;
    const first = cacheCopyOfEmbedded();
    expect(first.origin).toBe("cache");
    expect(first.path.startsWith(join(temp, "cache", "libzmq-"))).toBe(true);
    const embedded = libzmqCandidates().find((c) => c.origin === "embedded")?.path as string;
    expect(readFileSync(first.path).equals(readFileSync(embedded))).toBe(true);
    expect(statSync(join(temp, "cache")).mode & 0o777).toBe(0o700);
    const mtime = statSync(first.path).mtimeMs;
    expect(cacheCopyOfEmbedded().path).toBe(first.path);
    expect(statSync(first.path).mtimeMs).toBe(mtime);
  });
});
