/** Files imported `with { type: "file" }` resolve to a path (embedded in compiled binaries). */
declare module "*.so" {
  const path: string;
  export default path;
}

/** Markdown imported `with { type: "text" }` (skills embedded in the binary). */
declare module "*.md" {
  const text: string;
  export default text;
}
