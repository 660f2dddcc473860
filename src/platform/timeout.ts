/** Runs `work` with a deadline; "timeout" when it did not settle in time (the work itself keeps running). */
export async function withTimeout<T>(work: () => Promise<T> | T, ms: number): Promise<{ value: T } | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  try {
    const run = Promise.resolve().then(work);
    run.catch(() => {});
    return await Promise.race([run.then((value) => ({ value })), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
