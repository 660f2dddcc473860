import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeCredential } from "../../../src/config/credentials.ts";
import {
  loadKnownSecrets,
  scrubKnownSecrets,
  setKnownSecrets,
  watchKnownSecrets,
} from "../../../src/core/response/known-secrets.ts";
import { sanitize, scrubString } from "../../../src/core/response/sanitize.ts";

const SECRET = "Zq8vN2pL/x7+WkR4tY=9hB";

afterEach(() => setKnownSecrets([]));

describe("stored secrets", () => {
  test("base64 copies are found at every byte alignment inside a longer blob", () => {
    setKnownSecrets([SECRET]);
    for (const prefix of ["", "a", "ab", "abc", "long prefix: "]) {
      for (const encoding of ["base64", "base64url"] as const) {
        const blob = Buffer.from(`${prefix}${SECRET} and more text after it`).toString(encoding);
        expect(scrubKnownSecrets(blob)).toContain("[REDACTED:stored_secret]");
      }
    }
  });

  test("a credential stored with its HTTP scheme (Bearer <token>): the token alone is redacted too", () => {
    setKnownSecrets([`Bearer ${SECRET}`]);
    expect(scrubKnownSecrets(`the token is ${SECRET}.`)).toBe("the token is [REDACTED:stored_secret].");
    expect(scrubKnownSecrets("a Bearer of news")).toBe("a Bearer of news");
  });

  test("hex in either case, URL and JSON escapes, and the value itself", () => {
    setKnownSecrets([SECRET]);
    const hex = Buffer.from(SECRET).toString("hex");
    for (const form of [SECRET, hex, hex.toUpperCase(), encodeURIComponent(SECRET)])
      expect(scrubKnownSecrets(`before ${form} after`)).toBe("before [REDACTED:stored_secret] after");
  });

  test("fullwidth and zero-width-split copies are caught after normalization", () => {
    setKnownSecrets([SECRET]);
    const fullwidth = [...SECRET].map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join("");
    expect(scrubString(`x ${fullwidth} y`)).toEqual({ text: "x [REDACTED:stored_secret] y", changed: true });
    expect(scrubString([...SECRET].join("\u200b")).changed).toBe(true);
    expect(scrubString("ｆｕｌｌｗｉｄｔｈ but harmless")).toEqual({
      text: "ｆｕｌｌｗｉｄｔｈ but harmless",
      changed: false,
    });
  });

  test("a secret used as a key is replaced; two such keys stay two", () => {
    setKnownSecrets([SECRET]);
    const out = sanitize({ [SECRET]: 1, [`${SECRET}!`]: 2 });
    expect(Object.values(out.value as object).sort()).toEqual([1, 2]);
    expect(JSON.stringify(out.value)).not.toContain(SECRET);
    expect(out.paths.length).toBe(2);
  });

  test("split across strings or by spaces: the pieces are redacted, other strings kept", () => {
    setKnownSecrets([SECRET]);
    const value = JSON.parse(`{"__proto__": "${SECRET.slice(0, 5)}", "b": ["${SECRET.slice(5)}", "fine"]}`);
    const out = sanitize(value);
    expect(JSON.stringify(out.value)).toBe(
      '{"__proto__":"[REDACTED:stored_secret]","b":["[REDACTED:stored_secret]","fine"]}',
    );
    expect(Object.getPrototypeOf(out.value)).toBe(Object.prototype);
    expect(out.paths).toEqual(["/__proto__", "/b/0"]);
    expect(scrubString(`say ${SECRET.slice(0, 6)} ${SECRET.slice(6)}`).text).toBe("[REDACTED:stored_secret]");
    expect(scrubString("two words").changed).toBe(false);
    expect(sanitize(["one", "two"]).paths).toEqual([]);
  });

  test("short values are never treated as secrets; no secrets, no change", () => {
    setKnownSecrets(["abc", "  "]);
    expect(scrubKnownSecrets("abc abc")).toBe("abc abc");
  });

  test("loaded from the credential store, and again when it changes", async () => {
    const home = mkdtempSync("/tmp/cp-known-");
    try {
      writeCredential(home, "one", `${SECRET}\n`);
      loadKnownSecrets(home);
      expect(scrubKnownSecrets(SECRET)).toBe("[REDACTED:stored_secret]");
      const stop = watchKnownSecrets(home, 20);
      try {
        await Bun.sleep(30);
        writeCredential(home, "two", "Mw3Rj8Kd5Tn1Vb6Qx0Hs");
        for (let i = 0; i < 1000 && scrubKnownSecrets("Mw3Rj8Kd5Tn1Vb6Qx0Hs") !== "[REDACTED:stored_secret]"; i++)
          await Bun.sleep(20);
        expect(scrubKnownSecrets("Mw3Rj8Kd5Tn1Vb6Qx0Hs")).toBe("[REDACTED:stored_secret]");
      } finally {
        stop();
      }
      loadKnownSecrets(join(home, "missing"));
      expect(scrubKnownSecrets(SECRET)).toBe(SECRET);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test("URL-encoded assignments are redacted by the patterns", () => {
    expect(scrubString("a%26api_key%3DQx7Lm2Pz9Wv4Rt8Ys1Ku%26b").text).toBe("a%26api_key%3D[REDACTED:api_key]");
  });
});
