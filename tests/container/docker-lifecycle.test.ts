/** The lifecycle suite (lifecycle-suite.ts) on the test run's own dockerd (docker-env.ts). */
import { dockerClient, dockerEngine, loadImageFromPodman, realDocker, reportDockerSkip } from "./docker-env.ts";
import { lifecycleSuite } from "./lifecycle-suite.ts";
import { BASE_IMAGE } from "./podman-env.ts";

const docker = await dockerEngine();

lifecycleSuite({
  runtimeName: "docker",
  skipReason: docker.skipReason ?? loadImageFromPodman(docker, BASE_IMAGE),
  reportSkip: reportDockerSkip,
  runtime: () => realDocker(docker),
  hostArgs: ["docker", dockerClient()],
  hostEnv: docker.env,
});
