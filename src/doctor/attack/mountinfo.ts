/** /proc/self/mountinfo as the Read tool returns it (each line prefixed with its number and a tab). */

export interface MountEntry {
  /** The path on the source filesystem (the host path, for a bind mount of a host directory). */
  root: string;
  /** Where it is mounted inside the container. */
  target: string;
  fsType: string;
}

export function parseMountinfo(readOutput: string): MountEntry[] {
  return readOutput
    .split("\n")
    .map((line) => line.replace(/^\s*\d+\t/, ""))
    .filter((line) => line.includes(" - "))
    .map((line) => {
      const [left = "", right = ""] = line.split(" - ");
      const fields = left.split(" ");
      return { root: fields[3] ?? "", target: fields[4] ?? "", fsType: right.split(" ")[0] ?? "" };
    });
}
