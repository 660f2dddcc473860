/**
 * A group's name, the one rule for config.toml's [groups.*] tables, sessions, audit log names and
 * every CLI or control argument that names a group. It is also a path segment (group databases,
 * audit files), hence lowercase, short, and never starting with `-` or `_`.
 */
export const GROUP_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** The same rule as a JSON Schema pattern (config.toml's schema). */
export const GROUP_NAME_PATTERN = GROUP_NAME.source;

/** The rule in words, for a Fix: line. */
export const GROUP_NAME_HINT = "1-32 characters from lowercase a-z, 0-9, _ and -, starting with a letter or digit";

export function isGroupName(name: unknown): name is string {
  return typeof name === "string" && GROUP_NAME.test(name);
}
