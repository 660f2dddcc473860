/** The agent container security suite (security-suite.ts) on Podman, against a pre-started container. */
import { testAgentImage } from "./agent-image.ts";
import { realPodman, reportSkip } from "./podman-env.ts";
import { agentContainerSecuritySuite } from "./security-suite.ts";

const image = await testAgentImage();

agentContainerSecuritySuite(
  {
    runtimeName: "podman",
    image: image.tag,
    skipReason: image.skipReason,
    runtime: realPodman,
    reportSkip,
    rawInspect: async (name) => await new Response(Bun.spawn(["podman", "container", "inspect", name]).stdout).text(),
  },
  { prestarted: true },
);
