/** Build artifacts embedded as text (build/sdk-dts.ts writes them to build/.generated/). */
declare module "*.txt" {
  const text: string;
  export default text;
}
