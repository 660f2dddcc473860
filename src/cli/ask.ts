/**
 * Questions to the user, only ever on a terminal. Commands take an `Asker | null`: null means "no
 * questions" (--yes, or no terminal), and the command then uses each question's documented default.
 */
import { consola } from "consola";
import { CliError, EXIT } from "./errors.ts";
import { interactive } from "./output.ts";

export interface Asker {
  confirm(message: string, initial: boolean): Promise<boolean>;
  select<T extends string>(message: string, options: readonly T[], initial: T): Promise<T>;
}

function cancelled(component: string): CliError {
  return new CliError(
    component,
    "cancelled at the prompt; nothing more was done",
    "run the command again",
    EXIT.failure,
  );
}

export function askerFor(component: string, yes: boolean): Asker | null {
  if (yes || !interactive()) return null;
  return {
    async confirm(message, initial) {
      const answer = await consola.prompt(message, { type: "confirm", initial, cancel: "symbol" });
      if (typeof answer !== "boolean") throw cancelled(component);
      return answer;
    },
    async select(message, options, initial) {
      const answer = await consola.prompt(message, {
        type: "select",
        options: [...options],
        initial,
        cancel: "symbol",
      });
      if (typeof answer !== "string" || !options.includes(answer as (typeof options)[number]))
        throw cancelled(component);
      return answer as (typeof options)[number];
    },
  };
}
