// Why a container's process could not be executed, decided once where it is known: by Berth's own
// look-up in the rootfs before runc runs, or from runc's `exec: "<cmd>": ...` error when runc finds
// it. `ctr run` turns the reason into podman's and docker's statuses (127 not found, 126 cannot be
// executed); every other command sees an ordinary failed precondition.
import {FailedPrecondition, nameErrorClasses} from '../errors/index.js'

/** `not found`: no such file, or not on $PATH; `cannot invoke`: a directory, or not executable. */
export type ExecFailureReason = 'not found' | 'cannot invoke'

/** The process's executable could not be executed; a failed precondition with its reason. */
export class ExecFailed extends FailedPrecondition {
  readonly execFailure: ExecFailureReason
  constructor(message: string, reason: ExecFailureReason, options?: {cause?: unknown}) {
    super(message, options)
    this.execFailure = reason
  }
}
nameErrorClasses({ExecFailed})

/** The reason of an `ExecFailed` (a property, not instanceof: bundle copies share no classes), or undefined. */
export function execFailureReason(err: unknown): ExecFailureReason | undefined {
  const reason = (err as {execFailure?: unknown} | null)?.execFailure
  return reason === 'not found' || reason === 'cannot invoke' ? reason : undefined
}

/**
 * The reason in runc's message, for exactly the errors of its exec look-up (Go's exec.LookPath):
 * `exec: "x": executable file not found in $PATH`, `exec: "/x": stat /x: no such file or directory`,
 * `exec: "/x": permission denied`, `exec: "/x": is a directory`. Undefined for anything else.
 */
export function runcExecFailure(message: string): ExecFailureReason | undefined {
  const m = /exec: "(?:[^"\\]|\\.)*": (.*)$/m.exec(message)
  if (!m) return undefined
  const why = m[1]
  if (/executable file not found in \$PATH|no such file or directory/.test(why)) return 'not found'
  if (/permission denied|is a directory/.test(why)) return 'cannot invoke'
  return undefined
}

/** The error of a runtime that failed to start the process: `ExecFailed` when runc's exec look-up failed. */
export function runtimeStartError(message: string): FailedPrecondition {
  const reason = runcExecFailure(message)
  return reason ? new ExecFailed(message, reason) : new FailedPrecondition(message)
}
