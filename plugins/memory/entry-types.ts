/** Entry types. The first three shape the agent's behaviour and are shown under a warning. */
export const ENTRY_TYPES = ["preference", "instruction", "correction", "fact", "context"] as const;
export type EntryType = (typeof ENTRY_TYPES)[number];

const BEHAVIORAL_TYPES: ReadonlySet<EntryType> = new Set<EntryType>(["preference", "instruction", "correction"]);

/** The one place `behavioral` comes from: the type. Never from arguments (the schema mirrors this). */
export function isBehavioral(type: EntryType): boolean {
  return BEHAVIORAL_TYPES.has(type);
}

export function isEntryType(value: unknown): value is EntryType {
  return typeof value === "string" && (ENTRY_TYPES as readonly string[]).includes(value);
}

/** Storage limits shared by the manifest schema, argument checks and the database constraints. */
export const ENTRY_LIMITS = {
  maxContentChars: 2_000,
  maxTags: 10,
  maxTagChars: 48,
  maxQueryChars: 500,
  maxSearchResults: 50,
  defaultSearchResults: 10,
  maxChainLength: 10,
} as const;
