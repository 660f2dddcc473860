/**
 * Gives memory back once a burst of work is over. JavaScriptCore collects when it judges it worth it,
 * which after a load can be never: the heap a load grew stays resident while the core sits idle. Here a
 * full, synchronous collection runs once the core has been quiet for `quietMs` after calls or a session
 * closing, so freed pages go back to the allocator (and from it to the system). Nothing runs while idle:
 * the one timer is armed by activity, pushed back by more activity, and does not keep the process alive.
 */
export class MemoryReturn {
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Collections run so far (for `carapace status` and the tests). */
  collections = 0;

  constructor(
    private readonly quietMs = 2_000,
    private readonly collect: () => void = () => Bun.gc(true),
  ) {}

  /** A call ended or a session closed: collect once things have been quiet for a while. */
  activity(): void {
    if (this.timer) {
      this.timer.refresh();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.collections++;
      this.collect();
    }, this.quietMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
