// A claim on the terminal for a live display: hides the cursor and turns line wrapping off, and
// guarantees both come back on every way the process can end (release, an error, process.exit from
// --timeout, SIGINT, SIGTERM, SIGHUP). Invariant: while a claim is held, this module owns those
// three signals; a signal restores the terminal, stops this process's children and exits 128+N.
import {writeSync} from 'node:fs'
import {constants} from 'node:os'
import {childPids} from './deadline.js'

/** DECTCEM off (hide cursor) and DECAWM off (no autowrap). */
export const TERMINAL_CLAIM = '\u001b[?25l\u001b[?7l'
/** Show the cursor and wrap lines again: what every exit path writes last. */
export const TERMINAL_RESTORE = '\u001b[?25h\u001b[?7h'

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

export interface TerminalClaim {
  /** Restore the terminal and drop the handlers; later calls do nothing. */
  release(): void
}

/** Claim `stream` (a terminal) for a redrawn display. */
export function claimTerminal(stream: NodeJS.WriteStream): TerminalClaim {
  let held = true
  const restore = () => {
    if (!held) return
    held = false
    // Synchronous: from an 'exit' listener nothing asynchronous runs any more.
    try {
      writeSync((stream as {fd?: number}).fd ?? 2, TERMINAL_RESTORE)
    } catch {
      // the terminal went away (SIGHUP): nothing left to restore
    }
  }
  const onSignal = (signal: NodeJS.Signals) => {
    restore()
    // Ctrl-C reaches the whole foreground process group; SIGTERM and SIGHUP only this process:
    // pass them on so no runc, zstd or flock outlives the ctr that started it.
    if (signal !== 'SIGINT') {
      for (const pid of childPids()) {
        try {
          process.kill(pid, 'SIGTERM')
        } catch {
          // already gone
        }
      }
    }
    process.exit(128 + (constants.signals[signal] ?? 0))
  }
  process.on('exit', restore)
  for (const s of SIGNALS) process.on(s, onSignal)
  stream.write(TERMINAL_CLAIM)
  return {
    release() {
      restore()
      process.removeListener('exit', restore)
      for (const s of SIGNALS) process.removeListener(s, onSignal)
    },
  }
}
