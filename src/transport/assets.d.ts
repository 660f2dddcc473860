/** Files imported `with { type: "file" }` resolve to a path (embedded in compiled binaries). */
declare module "*.so" {
  const path: string;
  export default path;
}
