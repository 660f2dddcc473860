/** An HTTP listener on every host address: a container without network must never reach it. */
import { networkInterfaces } from "node:os";

export interface HostListener {
  /** An http URL of the listener at a non-loopback address of this host (the container's loopback is its own). */
  url: string;
  /** `METHOD /path` of each request received. */
  hits: string[];
  close(): Promise<void>;
}

function hostAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}

export function startHostListener(): HostListener {
  const hits: string[] = [];
  const server = Bun.serve({
    hostname: "0.0.0.0",
    port: 0,
    fetch(req) {
      hits.push(`${req.method} ${new URL(req.url).pathname}`);
      return new Response("reached the host\n");
    },
  });
  return {
    url: `http://${hostAddress()}:${server.port}/`,
    hits,
    close: async () => {
      await server.stop(true);
    },
  };
}
