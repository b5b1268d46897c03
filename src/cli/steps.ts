// Renders a checkpoint's steps (pause, dump, write blobs, record, resume) on stderr: with listr2 on
// a terminal, one plain line per finished step in a pipe, nothing when quiet.
//
// Invariants: listr2 is imported only here and only on the terminal path, so it loads only when a
// checkpoint command draws on a TTY (other commands' start-up never sees it). The lib reports each
// step's start/done/skip in order; a step left open when the operation fails is shown failed.
import type {CheckpointStep, CheckpointStepEvent} from '../lib/checkpoint/index.js'
import {stderrIsTerminal, stderrWriter} from './stdout.js'

const TITLES: Readonly<Record<CheckpointStep, string>> = {
  pause: 'pause the task',
  dump: 'dump with CRIU',
  write: 'write blobs',
  record: 'record the image',
  resume: 'resume the task',
}
const ORDER: readonly CheckpointStep[] = ['pause', 'dump', 'write', 'record', 'resume']

/** A display for a checkpoint's steps. */
export interface StepRenderer {
  readonly onStep: (event: CheckpointStepEvent) => void
  /** Wait for the display to finish drawing (`failed`: the operation threw). */
  finish(failed?: unknown): Promise<void>
}

/** Pick the renderer for stderr. */
export async function createStepRenderer(options: {quiet?: boolean; stream?: NodeJS.WriteStream}): Promise<StepRenderer> {
  if (options.quiet) return {onStep: () => {}, finish: async () => {}} // before making process.stderr
  if (options.stream === undefined) return stderrIsTerminal() ? terminalSteps(process.stderr) : plainSteps(stderrWriter)
  if (!options.stream.isTTY) return plainSteps(options.stream)
  return terminalSteps(options.stream)
}

function plainSteps(stream: {write(text: string): unknown}): StepRenderer {
  const started = new Map<CheckpointStep, number>()
  return {
    onStep(e) {
      if (e.status === 'start') started.set(e.step, Date.now())
      else if (e.status === 'done') stream.write(`${TITLES[e.step]}: done ${((Date.now() - (started.get(e.step) ?? Date.now())) / 1000).toFixed(1)}s\n`)
    },
    async finish() {},
  }
}

/** One deferred outcome per step: listr2's task for the step waits on it. */
interface Pending {
  promise: Promise<'done' | 'skip'>
  settle: (outcome: 'done' | 'skip') => void
  fail: (err: unknown) => void
  settled: boolean
}

async function terminalSteps(stream: NodeJS.WriteStream): Promise<StepRenderer> {
  const {Listr, ListrLogger, ProcessOutput} = await import('listr2')
  // listr2 draws on stdout by default; progress belongs on stderr (stdout carries the image name).
  const logger = new ListrLogger({useIcons: true, toStderr: [], processOutput: new ProcessOutput(stream, stream)})
  const pending = new Map<CheckpointStep, Pending>()
  for (const step of ORDER) {
    let settle!: Pending['settle']
    let fail!: Pending['fail']
    const promise = new Promise<'done' | 'skip'>((resolve, reject) => {
      settle = resolve
      fail = reject
    })
    promise.catch(() => {}) // listr2 reports it; never an unhandled rejection
    pending.set(step, {promise, settle, fail, settled: false})
  }
  const list = new Listr(
    ORDER.map((step) => ({
      title: TITLES[step],
      task: async (_ctx: unknown, task: {skip: (message?: string) => void}) => {
        if ((await pending.get(step)!.promise) === 'skip') task.skip(`${TITLES[step]} (not needed)`)
      },
    })),
    {concurrent: false, exitOnError: true, registerSignalListeners: false, renderer: 'default', rendererOptions: {logger, showErrorMessage: false}},
  )
  const running = list.run().catch(() => {})
  return {
    onStep(e) {
      const p = pending.get(e.step)!
      if (e.status === 'start' || p.settled) return
      p.settled = true
      p.settle(e.status)
    },
    async finish(failed) {
      for (const p of pending.values()) {
        if (p.settled) continue
        p.settled = true
        if (failed !== undefined) p.fail(new Error('failed'))
        else p.settle('skip')
      }
      await running
    },
  }
}

/**
 * Runs `operation` with a step display on stderr, waiting for the display to finish drawing
 * before the result (or the error) goes on.
 */
export async function runWithSteps<T>(options: {quiet?: boolean}, operation: (onStep: (e: CheckpointStepEvent) => void) => Promise<T>): Promise<T> {
  const renderer = await createStepRenderer(options)
  let result: T
  try {
    result = await operation(renderer.onStep)
  } catch (err) {
    await renderer.finish(err)
    throw err
  }
  await renderer.finish()
  return result
}
