/**
 * Whether this process runs from a `bun build --compile` executable rather than from the sources:
 * every module of a compiled binary lives under the embedded /$bunfs file system.
 */
export const IS_COMPILED = import.meta.url.startsWith("file:///$bunfs/");
