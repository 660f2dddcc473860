import { CliError, EXIT, type ExitCode } from "../cli/errors.ts";

/** config.toml or a `config` command argument is wrong; the message names the key and what is valid. */
export class ConfigError extends CliError {
  override name = "ConfigError";
  /** Dotted key path the problem is at ("" for the whole file). */
  readonly key: string;
  constructor(key: string, what: string, fix: string, exitCode: ExitCode = EXIT.failure) {
    super("CONFIG", what, fix, exitCode);
    this.key = key;
  }
}
