// Step timing of checkpoint and restore, printed to stderr when BERTH_CHECKPOINT_TIMING=1 (see
// docs/checkpoint.md): how the bench's ratio is split between CRIU, the store and Berth itself.
// Invariant: without the variable it records nothing and prints nothing.

/** Marks steps; `done()` prints `checkpoint-timing <what>: step=ms ... total=ms` once. */
export interface StepTimer {
  /** The step that just ended (measured from the previous mark). */
  mark(step: string): void
  /** Print the marks. */
  done(): void
}

const silent: StepTimer = {mark: () => undefined, done: () => undefined}

/** A timer for `what` (checkpoint, restore), or one that does nothing when timing is off. */
export function stepTimer(what: string): StepTimer {
  if (process.env['BERTH_CHECKPOINT_TIMING'] !== '1') return silent
  const start = performance.now()
  let last = start
  const marks: string[] = []
  let printed = false
  return {
    mark(step) {
      const now = performance.now()
      marks.push(`${step}=${(now - last).toFixed(0)}`)
      last = now
    },
    done() {
      if (printed) return
      printed = true
      process.stderr.write(
        `checkpoint-timing ${what}: ${marks.join(' ')} total=${(performance.now() - start).toFixed(0)} (process ${performance.now().toFixed(0)})\n`,
      )
    },
  }
}
