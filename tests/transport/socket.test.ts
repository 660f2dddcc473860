import { describe, expect, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { ipcPath, prepareSocketDir, restrictSocketFile, ZmqSocket } from "../../src/transport/socket.ts";
import { DealerSocket, PubSocket, RouterSocket } from "../../src/transport/sockets.ts";
import { cleanUpAfterEach, type SocketDir, text, waitFor } from "./helpers.ts";

const { track, newDir } = cleanUpAfterEach();
let dir: SocketDir;

const mode = (path: string) => statSync(path).mode & 0o777;

describe("ipc socket files", () => {
  test("bind creates the socket dir 0700 and the socket file 0600", () => {
    dir = newDir();
    const nested = join(dir.root, "a", "b", "sockets");
    const socket = track(new ZmqSocket("ROUTER"));
    socket.bind(`ipc://${join(nested, "core.sock")}`);
    expect(mode(nested)).toBe(0o700);
    expect(lstatSync(join(nested, "core.sock")).isSocket()).toBe(true);
    expect(mode(join(nested, "core.sock"))).toBe(0o600);
  });

  test("an existing socket dir with loose permissions is tightened to 0700", () => {
    dir = newDir();
    mkdirSync(join(dir.root, "sockets"), { mode: 0o777 });
    track(new PubSocket(dir.endpoint("events.sock")));
    expect(mode(join(dir.root, "sockets"))).toBe(0o700);
  });

  test("a symlink in place of the socket dir is refused, and nothing is bound through it", () => {
    dir = newDir();
    const target = join(dir.root, "elsewhere");
    mkdirSync(target);
    symlinkSync(target, join(dir.root, "sockets"));
    expect(() => new RouterSocket(dir.endpoint("core.sock"), () => {})).toThrow(
      /\[TRANSPORT\] Error: .* not a plain directory/,
    );
    expect(readdirSync(target)).toEqual([]);
  });

  test("after a refused bind the process can still exit on its own", async () => {
    dir = newDir();
    const child = Bun.spawn([process.execPath, join(import.meta.dir, "fixtures", "failed-bind.ts"), dir.root], {
      stdout: "pipe",
      stderr: "pipe",
    });
    // A hung process never exits; a slow machine may take seconds to start Bun.
    const exited = await Promise.race([child.exited, Bun.sleep(30_000).then(() => "hung" as const)]);
    if (exited === "hung") child.kill();
    expect(exited).toBe(0);
    expect(await new Response(child.stdout).text()).toStartWith("refused: [TRANSPORT] Error:");
  });

  test("a link or file put in a just-bound socket's place is refused, and what it names keeps its mode", () => {
    dir = newDir();
    mkdirSync(join(dir.root, "sockets"));
    // The agent can write a session's socket directory: between bind and chmod it may swap the socket.
    const target = join(dir.root, "host-file");
    writeFileSync(target, "the host's");
    chmodSync(target, 0o644);
    symlinkSync(target, dir.path("request.sock"));
    expect(() => restrictSocketFile(dir.path("request.sock"))).toThrow(/\[TRANSPORT\] Error: .* no longer the socket/);
    expect(mode(target)).toBe(0o644);
    writeFileSync(dir.path("plain.sock"), "");
    chmodSync(dir.path("plain.sock"), 0o644);
    expect(() => restrictSocketFile(dir.path("plain.sock"))).toThrow(/no longer the socket/);
    expect(mode(dir.path("plain.sock"))).toBe(0o644);
  });

  test("a file in place of the socket dir is refused", () => {
    dir = newDir();
    writeFileSync(join(dir.root, "sockets"), "not a directory");
    expect(() => prepareSocketDir(join(dir.root, "sockets"))).toThrow(/not a plain directory/);
  });

  test("close() leaves no socket file behind, for every bound socket type", () => {
    dir = newDir();
    const router = new RouterSocket(dir.endpoint("r.sock"), () => {});
    const pub = new PubSocket(dir.endpoint("p.sock"));
    const raw = new ZmqSocket("ROUTER");
    raw.bind(dir.endpoint("raw.sock"));
    for (const name of ["r.sock", "p.sock", "raw.sock"]) expect(existsSync(dir.path(name))).toBe(true);
    router.close();
    pub.close();
    raw.close();
    expect(readdirSync(join(dir.root, "sockets"))).toEqual([]);
    // Closing twice is harmless.
    router.close();
    raw.close();
    expect(raw.closed).toBe(true);
  });

  test("a stale socket file left by a killed process does not stop the next bind", async () => {
    dir = newDir();
    const child = Bun.spawn(
      [process.execPath, join(import.meta.dir, "fixtures", "bind-and-hang.ts"), dir.path("core.sock")],
      {
        stdout: "pipe",
        stderr: "inherit",
      },
    );
    const reader = child.stdout.getReader();
    expect(text((await reader.read()).value)).toContain("bound");
    child.kill("SIGKILL");
    await child.exited;
    expect(lstatSync(dir.path("core.sock")).isSocket()).toBe(true); // nobody cleaned up
    const replies: string[] = [];
    const router: RouterSocket = track(new RouterSocket(dir.endpoint("core.sock"), (id, f) => router.send(id, f)));
    const dealer = track(new DealerSocket(dir.endpoint("core.sock"), (f) => replies.push(text(f[0]))));
    dealer.send(["after restart"]);
    await waitFor(() => replies.length === 1, "a round trip on the re-bound socket");
    expect(replies).toEqual(["after restart"]);
    expect(mode(dir.path("core.sock"))).toBe(0o600);
  });

  test("ipcPath extracts the file path only from ipc:// endpoints", () => {
    expect(ipcPath("ipc:///run/x.sock")).toBe("/run/x.sock");
    expect(ipcPath("tcp://127.0.0.1:5555")).toBeNull();
  });
});

describe("hostile peers", () => {
  test("ROUTER_MANDATORY: sending to an unknown identity returns 'unroutable' and counts a drop", () => {
    dir = newDir();
    const router = track(new RouterSocket(dir.endpoint("m.sock"), () => {}));
    expect(router.send(new TextEncoder().encode("nobody"), ["", "hello?"])).toBe("unroutable");
    expect(router.send(new Uint8Array([0, 1, 2]), ["x"])).toBe("unroutable");
    expect(router.dropped).toBe(2);
    expect(router.pendingSends).toBe(0);
  });

  test("the raw socket reports 'unroutable' too, and sending after close reports 'closed'", () => {
    dir = newDir();
    const raw = track(new ZmqSocket("ROUTER"));
    raw.bind(dir.endpoint("raw.sock"));
    expect(raw.trySend(["ghost", "", "x"])).toBe("unroutable");
    const router = new RouterSocket(dir.endpoint("c.sock"), () => {});
    router.close();
    expect(router.send(new Uint8Array([1]), ["x"])).toBe("closed");
  });

  test("a message with more frames than maxFrames is flagged and truncated; the next one is intact", async () => {
    dir = newDir();
    const got: { frames: string[]; overflow: boolean }[] = [];
    track(
      new RouterSocket(
        dir.endpoint("frames.sock"),
        (_identity, frames, overflow) => got.push({ frames: frames.map(text), overflow }),
        { maxFrames: 4 },
      ),
    );
    const dealer = track(new DealerSocket(dir.endpoint("frames.sock"), () => {}));
    dealer.send(Array.from({ length: 20 }, (_, i) => `f${i}`));
    dealer.send(["a", "b"]);
    await waitFor(() => got.length === 2, "both messages");
    // maxFrames counts the identity: identity + delimiter + 2 payload frames are kept.
    expect(got[0]).toEqual({ frames: ["", "f0", "f1"], overflow: true });
    expect(got[1]).toEqual({ frames: ["", "a", "b"], overflow: false });
  });

  test("MAXMSGSIZE: an oversized message is never delivered and the receiver keeps serving", async () => {
    dir = newDir();
    const got: string[] = [];
    const router = track(
      new RouterSocket(
        dir.endpoint("big.sock"),
        (identity, frames) => {
          got.push(`${frames[1]?.length ?? -1}`);
          router.send(identity, ["", "ok"]);
        },
        { maxMessageBytes: 64 * 1024 },
      ),
    );
    const attacker = track(new DealerSocket(dir.endpoint("big.sock"), () => {}));
    attacker.send([new Uint8Array(1024 * 1024)]);
    await Bun.sleep(100);
    const replies: string[] = [];
    const honest = track(new DealerSocket(dir.endpoint("big.sock"), (f) => replies.push(text(f[0]))));
    honest.send([new Uint8Array(1000)]);
    await waitFor(() => replies.length === 1, "the honest peer's reply");
    expect(replies).toEqual(["ok"]);
    expect(got).toEqual(["1000"]);
  });
});
