import { expect, test } from "bun:test";
import { join } from "node:path";
import { buildSbom, shippedPackages } from "../../build/release/sbom.ts";

test("the SBOM lists the runtime dependencies with purls and registry hashes, libzmq and bun", () => {
  const names = shippedPackages().map((p) => p.name);
  for (const dep of ["ajv", "citty", "consola", "smol-toml", "zeromq", "fast-deep-equal"]) expect(names).toContain(dep);
  expect(names).not.toContain("typescript");
  expect(names).not.toContain("node-addon-api");
  const libzmq = join(import.meta.dir, "../../node_modules/zeromq/build/linux/x64/node/glibc-127-Release/addon.node");
  const sbom = buildSbom({
    version: "0.1.0",
    bunVersion: Bun.version,
    libzmq: [{ path: libzmq, target: "linux-x64" }],
  }) as {
    bomFormat: string;
    specVersion: string;
    components: { name: string; purl?: string; hashes?: { alg: string; content: string }[] }[];
  };
  expect(sbom.bomFormat).toBe("CycloneDX");
  expect(sbom.specVersion).toBe("1.5");
  const ajv = sbom.components.find((c) => c.name === "ajv");
  expect(ajv?.purl).toMatch(/^pkg:npm\/ajv@\d+\.\d+\.\d+$/);
  expect(ajv?.hashes?.[0]?.alg).toBe("SHA-512");
  expect(ajv?.hashes?.[0]?.content).toMatch(/^[0-9a-f]{128}$/);
  expect(sbom.components.find((c) => c.name === "libzmq")?.hashes?.[0]?.content).toMatch(/^[0-9a-f]{64}$/);
  expect(sbom.components.find((c) => c.name === "bun")?.purl).toBe(`pkg:npm/bun@${Bun.version}`);
});
