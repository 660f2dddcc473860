/**
 * The agent container security suite (security-suite.ts) on a real Docker engine: the test run's own
 * dockerd (docker-env.ts), with the agent test image copied over from Podman.
 */
import { testAgentImage } from "./agent-image.ts";
import { dockerClient, dockerEngine, loadImageFromPodman, realDocker, reportDockerSkip } from "./docker-env.ts";
import { agentContainerSecuritySuite } from "./security-suite.ts";

const image = await testAgentImage();
const docker = await dockerEngine();
const skipReason = image.skipReason ?? docker.skipReason ?? loadImageFromPodman(docker, image.tag);

agentContainerSecuritySuite({
  runtimeName: "docker",
  image: image.tag,
  skipReason,
  runtime: () => realDocker(docker),
  reportSkip: reportDockerSkip,
  rawInspect: async (name) =>
    await new Response(Bun.spawn([dockerClient(), "container", "inspect", name], { env: docker.env }).stdout).text(),
});
