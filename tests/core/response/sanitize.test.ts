import { describe, expect, test } from "bun:test";
import { isSecretKey, MAX_SANITIZE_DEPTH, sanitize, sanitizeText } from "../../../src/core/response/sanitize.ts";

// Fake credentials assembled at run time so no scanner mistakes this file for a leak.
const j = (...parts: string[]) => parts.join("");
const SECRETS = {
  bearer: j("eyJhbGciOiJIUzI1NiJ9", ".eyJzdWIiOiIxMjM0In0", ".dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
  anthropic: j("sk-ant-", "api03-", "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"),
  openaiProject: j("sk-proj-", "Abc123def456ghi789jkl012mno345"),
  openaiPlain: j("sk-", "Xy12Ab34Cd56Ef78Gh90Ij12Kl34Mn56"),
  stripeSecret: j("sk_", "live_", "51HxYzAbCdEfGhIjKlMn0123"),
  stripePublic: j("pk_", "test_", "51HxYzAbCdEfGhIjKlMn0123"),
  ghp: j("ghp_", "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"),
  gho: j("gho_", "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"),
  ghs: j("ghs_", "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"),
  githubPat: j("github_pat_", "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"),
  slackBot: j("xoxb-", "1234567890-0987654321-AbCdEfGhIjKl"),
  slackUser: j("xoxp-", "1234567890-0987654321-AbCdEfGhIjKl"),
  slackApp: j("xapp-", "1-A0123456789-0123456789-abcdef"),
  google: j("AIza", "SyA1234567890abcdefghijklmnopqrstuv"),
  awsId: j("AKIA", "IOSFODNN7EXAMPLE"),
  awsTempId: j("ASIA", "IOSFODNN7EXAMPLE"),
  awsSecret: j("wJalrXUtnFEMI/K7MDENG/", "bPxRfiCYEXAMPLEKEY"),
  dbPassword: "s3cr3t-Pa55word",
  apiKey: "a1b2c3d4e5f6a7b8",
  pemBody: "MIIEowIBAAKCAQEA7bq1\nqZ9XbYk0sB6pL3cT1vW2\nyK8mN4oP5qR6s==",
};

function assertScrubbed(input: string, secret: string, kind: string): string {
  const out = sanitizeText(input);
  expect(out).not.toContain(secret);
  expect(out).toContain(`[REDACTED:${kind}]`);
  return out;
}

describe("sanitizeText: each credential pattern", () => {
  test("bearer tokens, keeping the scheme word", () => {
    const out = assertScrubbed(`Authorization: Bearer ${SECRETS.bearer}`, SECRETS.bearer, "bearer");
    expect(out).toBe("Authorization: Bearer [REDACTED:bearer]");
    assertScrubbed(`curl -H "authorization: bearer ${SECRETS.bearer}"`, SECRETS.bearer, "bearer");
  });

  test("basic auth header values", () => {
    const cred = btoa("alice:wonderland-pass");
    assertScrubbed(`Authorization: Basic ${cred}`, cred, "basic_auth");
  });

  test("sk- keys: Anthropic, OpenAI project and plain", () => {
    assertScrubbed(`key is ${SECRETS.anthropic}.`, SECRETS.anthropic, "sk_key");
    assertScrubbed(SECRETS.openaiProject, SECRETS.openaiProject, "sk_key");
    assertScrubbed(`ANTHROPIC_API_KEY=${SECRETS.openaiPlain}`, SECRETS.openaiPlain, "sk_key");
  });

  test("Stripe-style sk_live_/pk_test_ keys", () => {
    assertScrubbed(`stripe ${SECRETS.stripeSecret}`, SECRETS.stripeSecret, "stripe_key");
    assertScrubbed(`stripe ${SECRETS.stripePublic}`, SECRETS.stripePublic, "stripe_key");
  });

  test("GitHub tokens of every prefix", () => {
    for (const t of [SECRETS.ghp, SECRETS.gho, SECRETS.ghs, SECRETS.githubPat]) {
      assertScrubbed(`token: ${t}`, t, "github_token");
      assertScrubbed(`push with ${t} now`, t, "github_token");
    }
  });

  test("Slack bot, user and app tokens", () => {
    for (const t of [SECRETS.slackBot, SECRETS.slackUser, SECRETS.slackApp])
      assertScrubbed(`slack ${t}`, t, "slack_token");
  });

  test("Google API keys", () => {
    assertScrubbed(`https://maps.googleapis.com/x?q=1&k=${SECRETS.google}`, SECRETS.google, "google_api_key");
  });

  test("AWS access key ids and secret access keys", () => {
    assertScrubbed(`id ${SECRETS.awsId}`, SECRETS.awsId, "aws_access_key_id");
    assertScrubbed(`id ${SECRETS.awsTempId}`, SECRETS.awsTempId, "aws_access_key_id");
    assertScrubbed(`aws_secret_access_key = ${SECRETS.awsSecret}`, SECRETS.awsSecret, "aws_secret");
    assertScrubbed(`{"aws_secret_access_key": "${SECRETS.awsSecret}"}`, SECRETS.awsSecret, "aws_secret");
  });

  test("connection-string URIs keep scheme, user and host", () => {
    const out = assertScrubbed(
      `DATABASE_URL=postgres://admin:${SECRETS.dbPassword}@db.internal:5432/app`,
      SECRETS.dbPassword,
      "uri_password",
    );
    expect(out).toContain("postgres://admin:[REDACTED:uri_password]@db.internal:5432/app");
    assertScrubbed(`redis://:${SECRETS.dbPassword}@cache:6379`, SECRETS.dbPassword, "uri_password");
    assertScrubbed(`mongodb+srv://u:${SECRETS.dbPassword}@cluster0.x.net`, SECRETS.dbPassword, "uri_password");
  });

  test("X-API-Key headers and api_key/apikey/access_token assignments", () => {
    assertScrubbed(`X-API-Key: ${SECRETS.apiKey}`, SECRETS.apiKey, "api_key");
    assertScrubbed(`x-api-key=${SECRETS.apiKey}`, SECRETS.apiKey, "api_key");
    const url = `https://h/p?api_key=${SECRETS.apiKey}&apikey=${SECRETS.apiKey}x&access_token=${SECRETS.apiKey}y&page=2`;
    const out = sanitizeText(url);
    expect(out).toBe(
      "https://h/p?api_key=[REDACTED:api_key]&apikey=[REDACTED:api_key]&access_token=[REDACTED:token]&page=2",
    );
    assertScrubbed(`{"api_key":"${SECRETS.apiKey}"}`, SECRETS.apiKey, "api_key");
    assertScrubbed(`password=${SECRETS.dbPassword}`, SECRETS.dbPassword, "password");
  });

  test("PEM private keys, with and without an END marker", () => {
    for (const label of ["", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED "]) {
      const pem = `-----BEGIN ${label}PRIVATE KEY-----\n${SECRETS.pemBody}\n-----END ${label}PRIVATE KEY-----`;
      const out = assertScrubbed(`before\n${pem}\nafter`, SECRETS.pemBody, "private_key");
      expect(out).toBe("before\n[REDACTED:private_key]\nafter");
    }
    const cut = `-----BEGIN PRIVATE KEY-----\n${SECRETS.pemBody}`;
    expect(sanitizeText(`x ${cut}`)).toBe("x [REDACTED:private_key]");
  });

  test("public keys and certificates are left alone", () => {
    const cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
    expect(sanitizeText(cert)).toBe(cert);
  });

  test("several credentials in one string are all removed", () => {
    const text = `a ${SECRETS.ghp} b ${SECRETS.awsId} c Bearer ${SECRETS.bearer} d ${SECRETS.anthropic}`;
    const out = sanitizeText(text);
    for (const s of [SECRETS.ghp, SECRETS.awsId, SECRETS.bearer, SECRETS.anthropic]) expect(out).not.toContain(s);
  });
});

describe("sanitizeText: no false positives on ordinary text", () => {
  const ordinary = [
    "task-123",
    "skip",
    "ask-the-user",
    "sk-learn is a library",
    "sk-learn-tutorial-for-absolute-beginners",
    "123e4567-e89b-12d3-a456-426614174000",
    "https://example.com/path?page=2&sort=asc",
    "ssh://git@github.com/org/repo.git",
    "The bearer of bad news arrived.",
    "primary key constraint failed on column key_id",
    "tokens used: 1523, max_tokens=4096",
    "Basic usage: run carapace start",
    "AKIA is a prefix, AKIAshort is not a key",
    "email me at bob@example.com",
    "ghp_short",
    "The password field is required",
    "",
    "short",
  ];
  for (const text of ordinary) {
    test(JSON.stringify(text), () => {
      expect(sanitizeText(text)).toBe(text);
      expect(sanitize(text).paths).toEqual([]);
    });
  }
});

describe("sanitize: deep copies and paths", () => {
  test("records JSON pointers of touched strings and never the values", () => {
    const input = {
      ok: "fine",
      nested: { list: ["plain", `Bearer ${SECRETS.bearer}`, { "a/b": SECRETS.ghp, "t~x": SECRETS.google }] },
      count: 3,
      flag: true,
      none: null,
    };
    const { value, paths } = sanitize(input);
    expect(paths).toEqual(["/nested/list/1", "/nested/list/2/a~1b", "/nested/list/2/t~0x"]);
    const text = JSON.stringify(value);
    for (const s of [SECRETS.bearer, SECRETS.ghp, SECRETS.google]) {
      expect(text).not.toContain(s);
      expect(paths.join()).not.toContain(s);
    }
    expect(value).toEqual({
      ok: "fine",
      nested: {
        list: [
          "plain",
          "Bearer [REDACTED:bearer]",
          { "a/b": "[REDACTED:github_token]", "t~x": "[REDACTED:google_api_key]" },
        ],
      },
      count: 3,
      flag: true,
      none: null,
    });
    expect(input.nested.list[1]).toBe(`Bearer ${SECRETS.bearer}`);
  });

  test("values under secret-named keys are redacted whole, counters and cursors are not", () => {
    const { value, paths } = sanitize({
      password: "hunter2",
      db: { client_secret: "abc", apiKey: "k", "X-Api-Key": "k2", Authorization: "Basic abc" },
      github_token: "whatever",
      credentials: { user: "bob", pin: "1234" },
      max_tokens: 100,
      token_count: "12",
      next_page_token: "CAESBgoEGgIIAQ",
      empty_password: "",
    });
    expect(value).toEqual({
      password: "[REDACTED:secret_field]",
      db: {
        client_secret: "[REDACTED:secret_field]",
        apiKey: "[REDACTED:secret_field]",
        "X-Api-Key": "[REDACTED:secret_field]",
        Authorization: "[REDACTED:secret_field]",
      },
      github_token: "[REDACTED:secret_field]",
      credentials: { user: "[REDACTED:secret_field]", pin: "[REDACTED:secret_field]" },
      max_tokens: 100,
      token_count: "12",
      next_page_token: "CAESBgoEGgIIAQ",
      empty_password: "",
    });
    expect(paths).toEqual([
      "/password",
      "/db/client_secret",
      "/db/apiKey",
      "/db/X-Api-Key",
      "/db/Authorization",
      "/github_token",
      "/credentials/user",
      "/credentials/pin",
    ]);
  });

  test("secret key names", () => {
    for (const k of [
      "password",
      "db_password",
      "apiKey",
      "API_KEY",
      "secret",
      "refresh-token",
      "private_key",
      "cookie",
    ]) {
      expect(isSecretKey(k)).toBe(true);
    }
    for (const k of ["name", "tokens", "max_tokens", "token_count", "page_token", "keyword", "secretary_name"]) {
      expect(isSecretKey(k)).toBe(false);
    }
  });

  test("a top-level string reports the root pointer", () => {
    expect(sanitize(`Bearer ${SECRETS.bearer}`)).toEqual({ value: "Bearer [REDACTED:bearer]", paths: [""] });
  });

  test("__proto__ keys stay data and never change the copy's prototype", () => {
    const parsed = JSON.parse(`{"__proto__": {"polluted": "Bearer ${SECRETS.bearer}"}, "a": 1}`);
    const { value, paths } = sanitize(parsed);
    const copy = value as Record<string, unknown>;
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(["__proto__", "a"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(paths).toEqual(["/__proto__/polluted"]);
    expect(JSON.stringify(copy)).toBe('{"__proto__":{"polluted":"Bearer [REDACTED:bearer]"},"a":1}');
  });

  test("cycles are cut instead of followed", () => {
    const a: Record<string, unknown> = { name: "a" };
    a.self = a;
    a.list = [a];
    const { value, paths } = sanitize(a);
    expect(value).toEqual({ name: "a", self: "[REDACTED:cycle]", list: ["[REDACTED:cycle]"] });
    expect(paths).toEqual(["/self", "/list/0"]);
  });

  test("shared (non-cyclic) references are copied, not treated as cycles", () => {
    const shared = { v: 1 };
    expect(sanitize({ a: shared, b: shared }).value).toEqual({ a: { v: 1 }, b: { v: 1 } });
  });

  test("nesting deeper than the bound is cut without a stack overflow", () => {
    let deep: unknown = "leaf";
    for (let i = 0; i < 10_000; i++) deep = [deep];
    const { value, paths } = sanitize(deep);
    expect(paths).toHaveLength(1);
    expect(paths[0]?.split("/").length).toBe(MAX_SANITIZE_DEPTH + 1);
    expect(JSON.stringify(value)).toContain("[REDACTED:too_deep]");
  });

  test("dates become their JSON form, functions and undefined are dropped like JSON.stringify", () => {
    const { value } = sanitize({ when: new Date(0), fn: () => 1, u: undefined, n: 1 });
    expect(value).toEqual({ when: "1970-01-01T00:00:00.000Z", n: 1 });
  });
});

describe("sanitize: linear time on adversarial input", () => {
  // No timing asserts: the patterns use bounded quantifiers; these inputs would take minutes with a
  // backtracking blow-up, so the suite's timeout is the guard.
  const MiB = 1 << 20;
  const adversarial: Record<string, string> = {
    bearerFlood: "Bearer ".repeat(MiB / 7),
    bearerSpaces: `Bearer${" ".repeat(MiB)}`,
    skFlood: "sk-".repeat(MiB / 3),
    skLong: `sk-${"a".repeat(MiB)}`,
    uriFlood: "a://u:".repeat(MiB / 6),
    uriLongScheme: `${"a".repeat(MiB)}://u:p@h`,
    assignmentFlood: "api_key:  ".repeat(MiB / 10),
    pemBeginFlood: "-----BEGIN PRIVATE KEY-----".repeat(MiB / 27),
    pemNoEnd: `-----BEGIN ${"A".repeat(MiB)}`,
    mixed: "Bearer sk-ghp_xoxb-AIzaAKIA://api_key=-----BEGIN ".repeat(MiB / 48),
  };
  for (const [name, text] of Object.entries(adversarial)) {
    test(name, () => {
      const out = sanitizeText(text);
      expect(out.length).toBeGreaterThan(0);
    });
  }

  test("a large ordinary document passes through unchanged", () => {
    const doc = { items: Array.from({ length: 5000 }, (_, i) => ({ id: `task-${i}`, title: `Item number ${i}` })) };
    const { value, paths } = sanitize(doc);
    expect(paths).toEqual([]);
    expect(value).toEqual(doc);
  });
});
