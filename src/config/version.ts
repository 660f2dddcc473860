import pkg from "../../package.json" with { type: "json" };

/** The carapace release this binary was built from (bundled into the compiled executable). */
export const CARAPACE_VERSION: string = pkg.version;

/** Version of the $CARAPACE_HOME layout; raised when a release moves or reshapes something in it. */
export const HOME_LAYOUT_VERSION = 1;
