/**
 * Fetches one release file into memory over https only (redirects included), with a size cap. fetch
 * honours https_proxy/HTTPS_PROXY and NO_PROXY; extra CAs come from NODE_EXTRA_CA_CERTS.
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

export async function fetchReleaseFile(
  url: string,
  maxBytes = MAX_ARTIFACT_BYTES,
  onBytes?: (received: number, total: number) => void,
): Promise<Uint8Array> {
  if (!url.startsWith("https://")) {
    throw new ReleaseError(`refusing to download ${url} over anything but https`, "use an https:// base URL");
  }
  let response: Response;
  try {
    response = await fetch(url, { redirect: "follow", signal: AbortSignal.timeout(300_000) });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ReleaseError(
      `downloading ${url} failed (${reason})`,
      "check the network, proxy variables and the base URL",
    );
  }
  if (response.url && !response.url.startsWith("https://")) {
    throw new ReleaseError(
      `${url} redirected to ${response.url}, which is not https`,
      "use a mirror that serves https only",
    );
  }
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
