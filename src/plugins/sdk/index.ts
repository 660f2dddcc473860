/** `@carapace/sdk`: what plugins import. Served from the core's own module at run time. */
export { ToolError } from "./tool-error.ts";
export type {
  AuditFilter,
  AuditRecordView,
  BriefContext,
  ButtonPress,
  ChannelDelivery,
  CoreServices,
  DeliveryReceipt,
  PluginHandler,
  SessionInfoView,
  ToolCatalogEntry,
  ToolContext,
} from "./types.ts";
