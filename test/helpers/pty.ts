// Runs a command on a real pseudo-terminal (python3's pty module) of a given size, so tests see
// what a user's terminal gets: escape sequences, redraws, the exit status. The test can resize the
// terminal (the kernel sends SIGWINCH) and type Ctrl-C (the line discipline sends SIGINT to the
// foreground process group) while the command runs.
import {spawn} from 'node:child_process'

const DRIVER = String.raw`
import fcntl, json, os, pty, select, signal, struct, sys, termios
rows, cols = int(sys.argv[1]), int(sys.argv[2])
argv = sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    os.execvp(argv[0], argv)
ctl = sys.stdin.fileno()
watch = [fd, ctl]
pending = b''
while True:
    ready, _, _ = select.select(watch, [], [])
    if fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if not data:
            break
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    if ctl in ready:
        data = os.read(ctl, 1024)
        if not data:
            watch.remove(ctl)
            continue
        pending += data
        while b'\n' in pending:
            line, pending = pending.split(b'\n', 1)
            words = line.decode().split()
            if words[0] == 'resize':
                fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', int(words[1]), int(words[2]), 0, 0))
            elif words[0] == 'intr':
                os.write(fd, b'\x03')
            elif words[0] == 'kill':
                os.kill(pid, getattr(signal, words[1]))
_, status = os.waitpid(pid, 0)
sys.stderr.write(json.dumps({'code': os.waitstatus_to_exitcode(status)}))
`

export interface PtyRun {
  /** Everything the terminal received so far. */
  output(): string
  /** Resolves once the output contains `text`. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>
  resize(rows: number, columns: number): void
  /** Type Ctrl-C. */
  interrupt(): void
  /** Send a signal to the command itself. */
  kill(signal: 'SIGTERM' | 'SIGHUP'): void
  /** The exit code (negative: killed by that signal) and the whole output. */
  done: Promise<{code: number; output: string}>
}

/** Run `argv` on a `rows`x`columns` terminal with `env`. */
export function runOnPty(argv: readonly string[], options: {rows?: number; columns: number; env?: NodeJS.ProcessEnv}): PtyRun {
  const child = spawn('python3', ['-c', DRIVER, String(options.rows ?? 24), String(options.columns), ...argv], {
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  const waiters: (() => void)[] = []
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
    for (const w of [...waiters]) w()
  })
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const done = new Promise<{code: number; output: string}>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', () => {
      try {
        resolve({code: (JSON.parse(err) as {code: number}).code, output: out})
      } catch {
        reject(new Error(`pty driver failed: ${err}`))
      }
    })
  })
  return {
    output: () => out,
    waitFor(text, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const matches = () => (typeof text === 'string' ? out.includes(text) : text.test(out))
        if (matches()) return resolve()
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${String(text)}; output so far:\n${JSON.stringify(out)}`)), timeoutMs)
        const check = () => {
          if (!matches()) return
          clearTimeout(timer)
          waiters.splice(waiters.indexOf(check), 1)
          resolve()
        }
        waiters.push(check)
        void done.then(() => check())
      })
    },
    resize: (rows, columns) => child.stdin.write(`resize ${rows} ${columns}\n`),
    interrupt: () => child.stdin.write('intr\n'),
    kill: (signal) => child.stdin.write(`kill ${signal}\n`),
    done,
  }
}
