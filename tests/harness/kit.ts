/** The test kit in one import: factories, fakes and harnesses of tests/harness. */
export * from "./envelope-factory.ts";
export * from "./factories.ts";
export * from "./fake-transport.ts";
export * from "./manifest-factory.ts";
export * from "./session-factory.ts";
export * from "./sqlite-factory.ts";
