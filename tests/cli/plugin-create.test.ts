/** `carapace plugin create` answered on a terminal, through the compiled binary. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBinaries } from "../harness/binaries.ts";
import { tempHome } from "../harness/core.ts";
import { hasScript, onPty } from "../harness/pty.ts";

describe.skipIf(!hasScript)("interactive plugin create", () => {
  test("the answers typed at the questions end up in the plugin", async () => {
    const home = tempHome();
    const pty = onPty([ensureBinaries().carapace, "plugin", "create", "greeter"], {
      PATH: "/usr/bin:/bin",
      HOME: home,
      CARAPACE_HOME: home,
      TMPDIR: "/tmp",
    });
    await pty.waitFor("What does the plugin do");
    pty.type("Greets people by name.\r");
    await pty.waitFor("Tool names, comma-separated");
    pty.type("hello,bye\r");
    await pty.waitFor("created plugin greeter");
    expect(await pty.exited).toBe(0);
    const manifest = JSON.parse(readFileSync(join(home, "plugins/greeter/manifest.json"), "utf8"));
    expect(manifest.description).toBe("Greets people by name.");
    expect(manifest.provides.tools.map((t: { name: string }) => t.name)).toEqual(["greeter.hello", "greeter.bye"]);
  }, 60_000);

  test("Enter alone takes the default shown; Ctrl-C cancels and writes nothing", async () => {
    const home = tempHome();
    const env = { PATH: "/usr/bin:/bin", HOME: home, CARAPACE_HOME: home, TMPDIR: "/tmp" };
    const defaults = onPty([ensureBinaries().carapace, "plugin", "create", "plain"], env);
    await defaults.waitFor("What does the plugin do");
    defaults.type("\r");
    await defaults.waitFor("Tool names");
    defaults.type("\r");
    expect(await defaults.exited).toBe(0);
    const manifest = JSON.parse(readFileSync(join(home, "plugins/plain/manifest.json"), "utf8"));
    expect(manifest.description).toBe("The plain plugin.");
    expect(manifest.provides.tools[0].name).toBe("plain.run");

    const cancel = onPty([ensureBinaries().carapace, "plugin", "create", "gone"], env);
    await cancel.waitFor("What does the plugin do");
    cancel.type("\u0003");
    await cancel.waitFor("cancelled at the prompt");
    expect(await cancel.exited).toBe(1);
    expect(() => readFileSync(join(home, "plugins/gone/manifest.json"))).toThrow();
  }, 60_000);
});
