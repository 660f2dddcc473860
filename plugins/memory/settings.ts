import { type BriefLimits, DEFAULT_BRIEF_LIMITS } from "./brief.ts";
import { DEFAULT_QUOTAS, type QuotaLimits } from "./quotas.ts";

/** The plugin's config section (see manifest config_schema), with defaults for anything unset. */
export interface MemorySettings {
  quotas: QuotaLimits;
  brief: BriefLimits;
  purgeSupersededAfterDays: number;
}

export const DEFAULT_PURGE_DAYS = 30;

function boundedInt(value: unknown, fallback: number, max: number): number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= max ? value : fallback;
}

export function readSettings(config: Readonly<Record<string, unknown>>): MemorySettings {
  return {
    quotas: {
      stores: boundedInt(config.store_quota, DEFAULT_QUOTAS.stores, 10_000),
      supersedes: boundedInt(config.supersede_quota, DEFAULT_QUOTAS.supersedes, 10_000),
      deletes: boundedInt(config.delete_quota, DEFAULT_QUOTAS.deletes, 10_000),
    },
    brief: {
      maxEntries: boundedInt(config.brief_max_entries, DEFAULT_BRIEF_LIMITS.maxEntries, 500),
      maxChars: boundedInt(config.brief_max_chars, DEFAULT_BRIEF_LIMITS.maxChars, 100_000),
    },
    purgeSupersededAfterDays: boundedInt(config.purge_superseded_after_days, DEFAULT_PURGE_DAYS, 36_500),
  };
}
