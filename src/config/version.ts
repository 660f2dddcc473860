import pkg from "../../package.json" with { type: "json" };

/** Set by `bun build --define` when build/release/release.ts is given --release-version. */
declare const __CARAPACE_BUILD_VERSION__: string | undefined;

/** The carapace release this binary was built from (bundled into the compiled executable). */
export const CARAPACE_VERSION: string =
  typeof __CARAPACE_BUILD_VERSION__ === "string" ? __CARAPACE_BUILD_VERSION__ : pkg.version;

/** Version of the $CARAPACE_HOME layout; raised when a release moves or reshapes something in it. */
export const HOME_LAYOUT_VERSION = 1;
