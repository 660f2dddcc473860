// Text assets of the agent image, embedded into the compiled `carapace` so `carapace image build`
// works from a single binary.
declare module "*/Containerfile" {
  const text: string;
  export default text;
}
declare module "*.sh" {
  const text: string;
  export default text;
}
declare module "*.bash" {
  const text: string;
  export default text;
}
