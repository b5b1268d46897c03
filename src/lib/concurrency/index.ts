// Bounded concurrency for async jobs: the download pool of a pull and the extraction pool of
// an unpack use the same gate.

/** Runs at most `limit` jobs at once, starting waiting jobs in the order they were submitted. */
export class Gate {
  private active = 0
  private readonly waiting: Array<() => void> = []

  constructor(private readonly limit: number) {}

  /** Run `fn` once a slot is free; settles as `fn` settles. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.active++
        fn()
          .then(resolve, reject)
          .finally(() => {
            this.active--
            this.waiting.shift()?.()
          })
      }
      if (this.active < this.limit) start()
      else this.waiting.push(start)
    })
  }
}
