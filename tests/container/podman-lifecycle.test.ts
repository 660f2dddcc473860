/** The lifecycle suite (lifecycle-suite.ts) on real Podman. */
import { lifecycleSuite } from "./lifecycle-suite.ts";
import { podmanSkipReason, realPodman, reportSkip } from "./podman-env.ts";

lifecycleSuite({
  runtimeName: "podman",
  skipReason: podmanSkipReason,
  reportSkip,
  runtime: realPodman,
  hostArgs: ["podman"],
  hostEnv: process.env,
});
