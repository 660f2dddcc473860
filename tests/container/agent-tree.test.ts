import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AgentTreeError,
  type AgentTreeRefusal,
  grantDirToAgent,
  grantSocketToAgent,
  MAX_TREE_DEPTH,
  readAgentFile,
  removeAgentTree,
  treeUsage,
} from "../../src/container/agent-tree.ts";

const AGENT = "65534:65534";
const asRoot = process.getuid?.() === 0;

let root: string;
/** A host directory and file standing in for /etc or the credentials directory. */
let hostDir: string;
let hostFile: string;

function snapshot(path: string) {
  const st = lstatSync(path);
  return {
    uid: st.uid,
    gid: st.gid,
    mode: st.mode,
    nlink: st.nlink,
    content: st.isFile() ? readFileSync(path, "utf8") : null,
  };
}

function refusal(fn: () => unknown): AgentTreeRefusal | "no refusal" {
  try {
    fn();
  } catch (e) {
    if (e instanceof AgentTreeError) {
      expect(e.message).toMatch(/^\[CONTAINER\] Error: .+\. Fix: .+\.$/);
      return e.refusal;
    }
    throw e;
  }
  return "no refusal";
}

function mkfifo(path: string): void {
  expect(Bun.spawnSync(["mkfifo", path]).exitCode).toBe(0);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "agent-tree-"));
  hostDir = join(root, "host");
  mkdirSync(hostDir, { mode: 0o700 });
  chmodSync(hostDir, 0o700);
  hostFile = join(hostDir, "secret");
  writeFileSync(hostFile, "host secret\n", { mode: 0o600 });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("grantDirToAgent", () => {
  test("creates the directory and hands only it to the agent", () => {
    const ws = join(root, "ws");
    grantDirToAgent(ws, AGENT);
    expect(statSync(ws).isDirectory()).toBe(true);
    expect(statSync(ws).mode & 0o777).toBe(0o700);
    if (asRoot) expect(statSync(ws).uid).toBe(65534);
  });

  test("a symlink planted in the directory's place is refused; its target keeps owner and mode", () => {
    const before = snapshot(hostDir);
    const ws = join(root, "ws");
    symlinkSync(hostDir, ws);
    expect(refusal(() => grantDirToAgent(ws, AGENT))).toBe("symlink");
    expect(snapshot(hostDir)).toEqual(before);
  });

  test("a file in the directory's place is refused and left as it was", () => {
    const ws = join(root, "ws");
    writeFileSync(ws, "x", { mode: 0o600 });
    const before = snapshot(ws);
    expect(refusal(() => grantDirToAgent(ws, AGENT))).toBe("not-directory");
    expect(snapshot(ws)).toEqual(before);
  });

  test("links inside an existing directory are never followed (nothing below the top is touched)", () => {
    const ws = join(root, "ws");
    mkdirSync(ws);
    symlinkSync(hostDir, join(ws, "tmp"));
    symlinkSync(hostFile, join(ws, "settings.json"));
    linkSync(hostFile, join(ws, "hard"));
    const dirBefore = snapshot(hostDir);
    const fileBefore = snapshot(hostFile);
    grantDirToAgent(ws, AGENT);
    expect(snapshot(hostDir)).toEqual(dirBefore);
    expect(snapshot(hostFile)).toEqual(fileBefore);
  });
});

test("an agent user that is not numeric uid:gid is refused before anything is created", () => {
  expect(() => grantDirToAgent(join(root, "ws"), "nobody")).toThrow(/is not uid:gid/);
  expect(existsSync(join(root, "ws"))).toBe(false);
});

describe("grantSocketToAgent", () => {
  test("a bound socket is handed over; a symlink or a file in its place is refused", () => {
    const sock = join(root, "egress.sock");
    const server = Bun.listen({ unix: sock, socket: { data() {} } });
    try {
      grantSocketToAgent(sock, AGENT);
      if (asRoot) expect(lstatSync(sock).uid).toBe(65534);
    } finally {
      server.stop(true);
    }
    const link = join(root, "link.sock");
    symlinkSync(hostFile, link);
    const before = snapshot(hostFile);
    expect(refusal(() => grantSocketToAgent(link, AGENT))).toBe("symlink");
    writeFileSync(join(root, "plain.sock"), "");
    expect(refusal(() => grantSocketToAgent(join(root, "plain.sock"), AGENT))).toBe("not-regular-file");
    expect(snapshot(hostFile)).toEqual(before);
  });
});

describe("removeAgentTree", () => {
  test("removes the tree; symlinks, hard links and FIFOs go, what they point at stays", () => {
    const tree = join(root, "state");
    mkdirSync(join(tree, "a", "b"), { recursive: true });
    symlinkSync(hostDir, join(tree, "abs-dir-link"));
    symlinkSync("../../host", join(tree, "a", "rel-dir-link"));
    symlinkSync(hostFile, join(tree, "a", "b", "file-link"));
    linkSync(hostFile, join(tree, "a", "hard-link"));
    mkfifo(join(tree, "a", "b", "fifo"));
    writeFileSync(join(tree, "a", "b", "own"), "agent data");
    const dirBefore = snapshot(hostDir);
    removeAgentTree(tree);
    expect(existsSync(tree)).toBe(false);
    expect(snapshot(hostDir)).toEqual(dirBefore);
    expect(readFileSync(hostFile, "utf8")).toBe("host secret\n");
    expect(lstatSync(hostFile).nlink).toBe(1);
  });

  test("a single file or link in the tree's place is unlinked", () => {
    writeFileSync(join(root, "file"), "x");
    removeAgentTree(join(root, "file"));
    expect(existsSync(join(root, "file"))).toBe(false);
  });

  test("a tree that is itself a symlink loses the link only", () => {
    const tree = join(root, "state");
    symlinkSync(hostDir, tree);
    removeAgentTree(tree);
    expect(existsSync(tree)).toBe(false);
    expect(readFileSync(hostFile, "utf8")).toBe("host secret\n");
  });

  test("a missing tree is fine; one nested far deeper than the fd bound is removed all the same", () => {
    removeAgentTree(join(root, "missing"));
    const tree = join(root, "deep");
    mkdirSync(tree);
    // Deeper than PATH_MAX allows in one path: built relative to a moving cwd, as the agent could.
    const cwd = process.cwd();
    try {
      process.chdir(tree);
      for (let i = 0; i < MAX_TREE_DEPTH * 3; i++) {
        mkdirSync("dd");
        process.chdir("dd");
      }
      symlinkSync(hostDir, "bottom-link");
    } finally {
      process.chdir(cwd);
    }
    // Usage stops at the bound (the link below it is not counted) instead of exhausting fds or the stack.
    expect(treeUsage(tree)).toBe(0);
    removeAgentTree(tree);
    expect(existsSync(tree)).toBe(false);
    expect(readFileSync(hostFile, "utf8")).toBe("host secret\n");
  });
});

describe("treeUsage", () => {
  test("counts the tree's own bytes: a link to a big host file counts as a link, a FIFO does not block", () => {
    const big = join(hostDir, "big");
    writeFileSync(big, Buffer.alloc(1 << 20));
    const tree = join(root, "ws");
    mkdirSync(join(tree, "sub"), { recursive: true });
    writeFileSync(join(tree, "sub", "f"), "12345");
    symlinkSync(big, join(tree, "link"));
    symlinkSync(hostDir, join(tree, "dir-link"));
    mkfifo(join(tree, "fifo"));
    const linkBytes = lstatSync(join(tree, "link")).size + lstatSync(join(tree, "dir-link")).size;
    expect(treeUsage(tree)).toBe(5 + linkBytes);
    expect(treeUsage(join(root, "missing"))).toBe(0);
    expect(treeUsage(join(tree, "sub", "f"))).toBe(5);
  });

  test("a tree with more entries than the bound is counted up to the bound, not walked to the end", () => {
    const tree = join(root, "many");
    mkdirSync(tree);
    for (let i = 0; i < 20; i++) writeFileSync(join(tree, `f${i}`), "1234567890");
    expect(treeUsage(tree)).toBe(200);
    expect(treeUsage(tree, 5)).toBe(50);
  });
});

describe("readAgentFile", () => {
  test("reads a small regular file", () => {
    writeFileSync(join(root, "ok"), "fine");
    expect(readAgentFile(join(root, "ok"), 16).toString()).toBe("fine");
  });

  test("refuses a symlink, a hard link, a FIFO, a directory and an oversize file; host file unchanged", () => {
    const before = snapshot(hostFile);
    symlinkSync(hostFile, join(root, "sym"));
    expect(refusal(() => readAgentFile(join(root, "sym"), 1024))).toBe("symlink");
    linkSync(hostFile, join(root, "hard"));
    expect(refusal(() => readAgentFile(join(root, "hard"), 1024))).toBe("hard-link");
    rmSync(join(root, "hard"));
    mkfifo(join(root, "fifo"));
    expect(refusal(() => readAgentFile(join(root, "fifo"), 1024))).toBe("not-regular-file");
    mkdirSync(join(root, "dir"));
    expect(refusal(() => readAgentFile(join(root, "dir"), 1024))).toBe("not-regular-file");
    writeFileSync(join(root, "big"), Buffer.alloc(1025));
    expect(refusal(() => readAgentFile(join(root, "big"), 1024))).toBe("too-large");
    expect(snapshot(hostFile)).toEqual(before);
  });
});
