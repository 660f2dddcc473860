/**
 * Fetches one release file into memory over https only, with a size cap. Each redirect hop is checked
 * before it is followed, so nothing is ever requested in the clear. fetch honours https_proxy/HTTPS_PROXY
 * and NO_PROXY; extra CAs come from NODE_EXTRA_CA_CERTS.
 */
import { ReleaseError } from "./errors.ts";

export const MAX_ARTIFACT_BYTES = 512 * 1024 * 1024;

/** The body, chunk by chunk, telling `onBytes` how much has arrived (for a progress line). */
async function readBody(response: Response, onBytes: (received: number) => void): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let received = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    chunks.push(chunk);
    received += chunk.length;
    onBytes(received);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

const MAX_REDIRECTS = 5;

/** Follows redirects by hand so a hop to anything but https is refused before a request goes out. */
async function fetchFollowingHttpsOnly(url: string): Promise<Response> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    let response: Response;
    try {
      response = await fetch(current, { redirect: "manual", signal: AbortSignal.timeout(300_000) });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ReleaseError(
        `downloading ${url} failed (${reason})`,
        "check the network, proxy variables and the base URL",
      );
    }
    const location = response.headers.get("location");
    if (response.status < 300 || response.status > 399 || location === null) return response;
    const next = new URL(location, current).href;
    if (!next.startsWith("https://")) {
      throw new ReleaseError(`${url} redirected to ${next}, which is not https`, "use a mirror that serves https only");
    }
    current = next;
  }
  throw new ReleaseError(`${url} redirected more than ${MAX_REDIRECTS} times`, "check the base URL");
}

export async function fetchReleaseFile(
  url: string,
  maxBytes = MAX_ARTIFACT_BYTES,
  onBytes?: (received: number, total: number) => void,
): Promise<Uint8Array> {
  if (!url.startsWith("https://")) {
    throw new ReleaseError(`refusing to download ${url} over anything but https`, "use an https:// base URL");
  }
  const response = await fetchFollowingHttpsOnly(url);
  if (!response.ok) {
    throw new ReleaseError(
      `downloading ${url} failed with HTTP ${response.status}`,
      "check the version and the base URL",
    );
  }
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw new ReleaseError(`${url} is larger than ${maxBytes} bytes`, "check the base URL");
  let body: Uint8Array;
  try {
    body =
      onBytes === undefined || response.body === null
        ? new Uint8Array(await response.arrayBuffer())
        : await readBody(response, (received) => onBytes(received, declared));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ReleaseError(`downloading ${url} was cut off (${reason})`, "try again; nothing was changed");
  }
  if (body.length > maxBytes) throw new ReleaseError(`${url} is larger than ${maxBytes} bytes`, "check the base URL");
  return body;
}
