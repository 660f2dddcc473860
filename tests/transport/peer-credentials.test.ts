import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parsePeerAddress, ZmqSocket } from "../../src/transport/socket.ts";

let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("a ROUTER with peerCredentials learns the sender's uid and pid from the kernel (SO_PEERCRED)", async () => {
  dir = mkdtempSync("/tmp/cp-peer-");
  const endpoint = `ipc://${join(dir, "s.sock")}`;
  const router = new ZmqSocket("ROUTER", { peerCredentials: true });
  const plain = new ZmqSocket("ROUTER");
  const dealer = new ZmqSocket("DEALER");
  try {
    router.bind(endpoint);
    dealer.connect(endpoint);
    expect(dealer.trySend(["", "hello"])).toBe("sent");
    let msg: ReturnType<ZmqSocket["tryRecv"]> = null;
    for (let i = 0; i < 2000 && !msg; i++) {
      msg = router.tryRecv();
      if (!msg) await Bun.sleep(5);
    }
    expect(msg?.peer).toEqual({ uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1, pid: process.pid });
    expect(plain.tryRecv()).toBeNull();
  } finally {
    dealer.close();
    router.close();
    plain.close();
  }
});

test("Peer-Address without credentials gives none", () => {
  expect(parsePeerAddress("")).toBeNull();
  expect(parsePeerAddress("127.0.0.1")).toBeNull();
  expect(parsePeerAddress(":1000:1000:42")).toEqual({ uid: 1000, gid: 1000, pid: 42 });
});
