/** `@carapace/testing`: the plugin author's test kit (docs/PLUGIN_AUTHORING.md, "Testing"). */
export { createTestContext, loadTestManifest } from "./context.ts";
export { fakeCoreServices, fakeCredentialStore } from "./fake-services.ts";
export { type InvokeOptions, invokeTool } from "./invoke.ts";
export { assertNoSecretLeak, findSecretLeaks } from "./secret-leak.ts";
export type {
  FakeCoreServices,
  FakeCredentialStore,
  FakeServicesOptions,
  InvokeOutcome,
  RecordedCall,
  TestContext,
  TestContextOptions,
  TestError,
  TestManifest,
} from "./types.ts";
