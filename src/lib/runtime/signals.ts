// Linux signal names and numbers (x86-64/arm64 numbering, glibc's SIGRTMIN of 34) for `tasks kill` and
// an image's StopSignal; names are accepted with or without `SIG`, in any case, as containerd does.
import type {ImageConfig} from '../oci/index.js'
import {InvalidArgument} from '../errors/index.js'

/** The container label holding the stop signal (containerd's WithImageStopSignal). */
export const STOP_SIGNAL_LABEL = 'io.containerd.image.config.stop-signal'

/** The stop signal when neither the image nor the user names one (containerd's default). */
export const DEFAULT_STOP_SIGNAL = 'SIGTERM'

const SIGRTMIN = 34
const SIGRTMAX = 64

/** Standard signal numbers by name without the `SIG` prefix (aliases included). */
export const SIGNALS: Readonly<Record<string, number>> = Object.freeze({
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  IOT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  POLL: 29,
  PWR: 30,
  SYS: 31,
  UNUSED: 31,
  RTMIN: SIGRTMIN,
  RTMAX: SIGRTMAX,
})

const CANONICAL = new Map<number, string>()
for (const [name, n] of Object.entries(SIGNALS)) if (!CANONICAL.has(n)) CANONICAL.set(n, name)

/**
 * The number of a signal given as a number, a decimal string, or a name (`SIGTERM`, `term`, `SIGRTMIN+3`,
 * `RTMAX-1`).
 * @throws InvalidArgument (`unknown signal "X"`) for anything else, including numbers outside 1–64.
 */
export function parseSignal(signal: string | number): number {
  const unknown = () => new InvalidArgument(`unknown signal ${JSON.stringify(String(signal))}`)
  if (typeof signal === 'number' || /^\d+$/.test(signal)) {
    const n = Number(signal)
    if (!Number.isInteger(n) || n < 1 || n > SIGRTMAX) throw unknown()
    return n
  }
  const name = signal.toUpperCase().replace(/^SIG/, '')
  const known = SIGNALS[name]
  if (known !== undefined) return known
  const rt = /^RT(MIN|MAX)([+-])(\d{1,2})$/.exec(name)
  if (rt) {
    const offset = Number(rt[3])
    const n = rt[1] === 'MIN' ? (rt[2] === '+' ? SIGRTMIN + offset : -1) : rt[2] === '-' ? SIGRTMAX - offset : -1
    if (n >= SIGRTMIN && n <= SIGRTMAX) return n
  }
  throw unknown()
}

/** The conventional name of a signal number (`15` → `SIGTERM`, `37` → `SIGRTMIN+3`); other numbers as digits. */
export function signalName(n: number): string {
  const known = CANONICAL.get(n)
  if (known !== undefined && n < SIGRTMIN) return `SIG${known}`
  if (n === SIGRTMIN) return 'SIGRTMIN'
  if (n > SIGRTMIN && n <= SIGRTMAX) return `SIGRTMIN+${n - SIGRTMIN}`
  return String(n)
}

/**
 * The stop signal of an image, as containerd stores it in {@link STOP_SIGNAL_LABEL}: the config's
 * `StopSignal` text when set (validated), else `SIGTERM`.
 * @throws InvalidArgument when the image names an unknown signal.
 */
export function stopSignal(image?: Pick<ImageConfig, 'config'> | null): string {
  const declared = image?.config?.StopSignal
  if (declared === undefined || declared === '') return DEFAULT_STOP_SIGNAL
  parseSignal(declared)
  return declared
}
