/** Peak RSS of this process (sampled) and CPU seconds of a child process, for throughput runs. */
import { processCpuSeconds } from './backend';

export class RssSampler {
  private peak = process.memoryUsage().rss;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 250) {
    this.timer = setInterval(() => {
      this.peak = Math.max(this.peak, process.memoryUsage().rss);
    }, intervalMs);
    this.timer.unref();
  }

  stop(): number {
    clearInterval(this.timer);
    this.peak = Math.max(this.peak, process.memoryUsage().rss);
    return this.peak;
  }
}

/** CPU seconds a child used between `start()` and `stop()` (null when /proc is unavailable). */
export function cpuMeter(pid: number | undefined): { stop(): number | null } {
  const before = processCpuSeconds(pid);
  return {
    stop() {
      const after = processCpuSeconds(pid);
      return before === null || after === null ? null : after - before;
    },
  };
}

export const mib = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
