import { expect, test } from "bun:test";
import { ReplyCache, requestHash } from "../../src/core/reply-cache.ts";
import type { ReplyFrame } from "../../src/protocol/reply.ts";

const H = requestHash("tool.invoke.x", {});
const peer = (n: number) => new Uint8Array([0, n]);
const done = (correlation: string): ReplyFrame => ({ kind: "result", correlation, result: 1 });

test("new, running, done and conflict by correlation and request hash", () => {
  const cache = new ReplyCache(4);
  const h = requestHash("tool.invoke.x", { a: 1 });
  expect(cache.lookup("c", h)).toEqual({ kind: "new" });
  cache.begin("c", h, peer(1));
  expect(cache.lookup("c", h)).toEqual({ kind: "running" });
  expect(cache.lookup("c", requestHash("tool.invoke.x", { a: 2 }))).toEqual({ kind: "conflict" });
  cache.finish("c", done("c"));
  expect(cache.lookup("c", h)).toEqual({ kind: "done", reply: done("c") });
});

test("the caller's own resend does not wait twice; other connections join once each and get the reply", () => {
  const cache = new ReplyCache(4);
  cache.begin("c", H, peer(1));
  expect(cache.join("c", peer(1))).toBe(false);
  expect(cache.join("c", peer(2))).toBe(true);
  expect(cache.join("c", peer(2))).toBe(true);
  expect(cache.join("c", peer(3))).toBe(true);
  expect(cache.finish("c", done("c"))).toEqual([peer(2), peer(3)]);
  expect(cache.join("c", peer(4))).toBe(false); // finished: a later repeat is answered from the cache
});

test("waiters per call are bounded, and an evicted call has none", () => {
  const cache = new ReplyCache(1);
  cache.begin("c", H, peer(0));
  const joined = Array.from({ length: 20 }, (_, i) => cache.join("c", peer(i + 1))).filter(Boolean).length;
  expect(joined).toBe(8);
  cache.begin("d", H, peer(0));
  expect(cache.finish("c", done("c"))).toEqual([]);
  expect(cache.lookup("c", H)).toEqual({ kind: "new" });
});
