/** Carapace's transport alone, in its own process: a reactor-driven ROUTER that echoes every message. */
import { RouterSocket } from "../../../src/transport/sockets.ts";

const endpoint = process.argv[2] as string;
const router = new RouterSocket(endpoint, (id, frames) => router.send(id, frames));
console.log("ready");
process.on("SIGTERM", () => {
  router.close();
  process.exit(0);
});
