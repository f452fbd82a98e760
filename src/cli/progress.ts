// A progress bar on stderr for runs longer than a second, when stderr is a terminal.

export class Progress {
  private readonly start = Date.now();
  private shown = false;

  constructor(
    private readonly label: string,
    private readonly enabled = process.stderr.isTTY === true,
  ) {}

  update(fraction: number): void {
    if (!this.enabled || Date.now() - this.start < 1000) return;
    const width = 30;
    const done = Math.round(Math.min(1, fraction) * width);
    process.stderr.write(`\r${this.label} [${'#'.repeat(done)}${' '.repeat(width - done)}] ${Math.round(fraction * 100)}%`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
  }
}
