/**
 * Runs the core's stop steps in order under one overall time budget. Each step is bounded on its own;
 * the budget bounds them together, so nothing a container, a plugin or a step that never settles does
 * can keep a stopping core alive. On overrun `onOverrun` gets the step still running (it exits the process).
 */
export function stopWithinBudget(
  steps: readonly { name: string; run: () => Promise<unknown> }[],
  budgetMs: number,
  onOverrun: (step: string) => void,
): Promise<void> {
  let current = steps[0]?.name ?? "nothing";
  let finished = false;
  const timer = setTimeout(() => {
    if (!finished) onOverrun(current);
  }, budgetMs);
  timer.unref();
  const run = async () => {
    for (const step of steps) {
      current = step.name;
      try {
        await step.run();
      } catch {
        // A failed step must not stop the later ones: the sockets and the audit log still need closing.
      }
    }
  };
  return run().finally(() => {
    finished = true;
    clearTimeout(timer);
  });
}

/** Slack on top of the container and plugin stop timeouts for the audit flush and the sockets. */
export const STOP_SLACK_MS = 10_000;
