import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureHome, HOME_LAYOUT, readHomeVersion, resolveHome } from "../../src/config/home.ts";
import { HomeError } from "../../src/config/home-error.ts";
import { CARAPACE_VERSION, HOME_LAYOUT_VERSION } from "../../src/config/version.ts";
import { tempHome } from "./temp-home.ts";

const mode = (path: string) => statSync(path).mode & 0o777;

describe("resolveHome", () => {
  test("defaults to ~/.carapace when CARAPACE_HOME is unset or empty", () => {
    expect(resolveHome({}, "/home/ann")).toBe("/home/ann/.carapace");
    expect(resolveHome({ CARAPACE_HOME: "" }, "/home/ann")).toBe("/home/ann/.carapace");
    expect(resolveHome({ CARAPACE_HOME: "  " }, "/home/ann")).toBe("/home/ann/.carapace");
  });

  test("expands ~ and ~/", () => {
    expect(resolveHome({ CARAPACE_HOME: "~" }, "/home/ann")).toBe("/home/ann");
    expect(resolveHome({ CARAPACE_HOME: "~/cp" }, "/home/ann")).toBe("/home/ann/cp");
    expect(resolveHome({ CARAPACE_HOME: "~/a/b/" }, "/home/ann")).toBe("/home/ann/a/b");
  });

  test("strips trailing slashes", () => {
    expect(resolveHome({ CARAPACE_HOME: "/srv/carapace///" }, "/home/ann")).toBe("/srv/carapace");
    expect(resolveHome({ CARAPACE_HOME: "/" }, "/home/ann")).toBe("/");
  });

  test("makes a relative path absolute", () => {
    expect(resolveHome({ CARAPACE_HOME: "rel/dir/" }, "/home/ann")).toBe(join(process.cwd(), "rel/dir"));
  });

  test("refuses the ~user form", () => {
    expect(() => resolveHome({ CARAPACE_HOME: "~bob/x" }, "/home/ann")).toThrow(HomeError);
    expect(() => resolveHome({ CARAPACE_HOME: "~bob/x" }, "/home/ann")).toThrow(/\[HOME\] Error: .*Fix: /);
  });
});

describe("ensureHome", () => {
  let t: ReturnType<typeof tempHome>;
  beforeEach(() => {
    t = tempHome();
  });
  afterEach(() => t.cleanup());

  test("creates every directory of the contract with its mode, despite the umask", () => {
    const previous = process.umask(0o077);
    try {
      const report = ensureHome(t.home);
      const dirs = HOME_LAYOUT.filter((e) => e.kind === "dir");
      expect(report.created).toEqual(dirs.map((e) => e.path));
      for (const entry of dirs) expect([entry.path, mode(join(t.home, entry.path))]).toEqual([entry.path, entry.mode]);
    } finally {
      process.umask(previous);
    }
    expect(mode(join(t.home, "credentials"))).toBe(0o700);
    expect(mode(join(t.home, "run/sockets"))).toBe(0o700);
    expect(mode(join(t.home, "bin"))).toBe(0o755);
  });

  test("writes the version file and is idempotent", () => {
    ensureHome(t.home, "9.9.9");
    expect(readFileSync(join(t.home, "version"), "utf8")).toBe(`carapace 9.9.9\nlayout ${HOME_LAYOUT_VERSION}\n`);
    expect(readHomeVersion(t.home)).toEqual({ carapace: "9.9.9", layout: HOME_LAYOUT_VERSION });
    const again = ensureHome(t.home);
    expect(again).toEqual({ created: [], modesRepaired: [] });
    expect(readHomeVersion(t.home)?.carapace).toBe(CARAPACE_VERSION);
  });

  test("repairs drifted modes of its directories but leaves credentials/ for the credential check", () => {
    ensureHome(t.home);
    chmodSync(join(t.home, "run"), 0o755);
    chmodSync(join(t.home, "data/audit"), 0o777);
    chmodSync(join(t.home, "credentials"), 0o755);
    const report = ensureHome(t.home);
    expect(report.modesRepaired).toEqual([
      { path: "data/audit", from: 0o777, to: 0o700 },
      { path: "run", from: 0o755, to: 0o700 },
    ]);
    expect(mode(join(t.home, "run"))).toBe(0o700);
    expect(mode(join(t.home, "credentials"))).toBe(0o755);
  });

  test("refuses a file where a directory belongs", () => {
    mkdirSync(t.home);
    writeFileSync(join(t.home, "run"), "");
    expect(() => ensureHome(t.home)).toThrow(/run exists but is not a directory/);
  });
});

describe("docs/HOME.md", () => {
  test("documents every entry of the contract with its mode", () => {
    const doc = readFileSync(join(import.meta.dir, "../../docs/HOME.md"), "utf8");
    for (const entry of HOME_LAYOUT) {
      if (entry.path === ".") continue;
      const name = entry.kind === "dir" ? `${entry.path}/` : entry.path;
      const octal = `0${entry.mode.toString(8)}`;
      expect(doc).toMatch(new RegExp(`\\| \`${name}\` \\| ${octal} \\|`));
    }
  });
});
