import { EXIT, type ExitCode, UserError } from "../errors/user-error.ts";

/** config.toml or a `config` command argument is wrong; the message names the key and what is valid. */
export class ConfigError extends UserError {
  override name = "ConfigError";
  /** Dotted key path the problem is at ("" for the whole file). */
  readonly key: string;
  constructor(key: string, what: string, fix: string, exitCode: ExitCode = EXIT.failure) {
    super("CONFIG", what, fix, exitCode);
    this.key = key;
  }
}
