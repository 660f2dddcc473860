/**
 * Questions to the user, only ever on a terminal. Commands take an `Asker | null`: null means "no
 * questions" (--yes, or no terminal), and the command then uses each question's documented default.
 * The prompts are @clack/prompts (consola's own prompt never returns an answer in the compiled binary).
 */
import { confirm, isCancel, password, select, text } from "@clack/prompts";
import { CliError, EXIT } from "./errors.ts";
import { interactive } from "./output.ts";

export interface Asker {
  confirm(message: string, initial: boolean): Promise<boolean>;
  select<T extends string>(message: string, options: readonly T[], initial: T): Promise<T>;
  /** A line of text; an empty answer takes `initial`. */
  text(message: string, initial: string): Promise<string>;
  /** A line that is not echoed (a credential). */
  secret(message: string): Promise<string>;
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
  const answered = <T>(answer: T | symbol): T => {
    if (isCancel(answer)) throw cancelled(component);
    return answer as T;
  };
  return {
    async confirm(message, initialValue) {
      return answered<boolean>(await confirm({ message, initialValue }));
    },
    async select<T extends string>(message: string, options: readonly T[], initialValue: T): Promise<T> {
      const choices = options.map((value) => ({ value, label: value }));
      return answered<T>(await select<T>({ message, options: choices as never, initialValue }));
    },
    async text(message, initial) {
      const answer = answered<string>(await text({ message, placeholder: initial, defaultValue: initial }));
      return answer.trim() === "" ? initial : answer.trim();
    },
    async secret(message) {
      return answered<string>(await password({ message, mask: "•" })).trim();
    },
  };
}
