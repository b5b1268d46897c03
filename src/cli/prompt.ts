// Reading a password from the terminal without echo, for `--user name` without `:password`.

/** Ask for a password on stderr with echo off. Returns undefined when stdin is not a terminal. */
export async function promptPassword(question = 'Password: '): Promise<string | undefined> {
  const stdin = process.stdin
  if (!stdin.isTTY) return undefined
  process.stderr.write(question)
  stdin.setRawMode(true)
  stdin.resume()
  let value = ''
  try {
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        for (const ch of d.toString('utf8')) {
          if (ch === '\r' || ch === '\n' || ch === '\u0004') {
            stdin.removeListener('data', onData)
            return resolve()
          }
          if (ch === '\u0003') {
            stdin.removeListener('data', onData)
            return reject(new Error('interrupted'))
          }
          if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1)
          else value += ch
        }
      }
      stdin.on('data', onData)
    })
  } finally {
    stdin.setRawMode(false)
    stdin.pause()
    process.stderr.write('\n')
  }
  return value
}

/** Complete `--user`: `name` alone gets a prompted password when a terminal is there. */
export async function resolveUser(user: string | undefined): Promise<string | undefined> {
  if (user === undefined || user.includes(':')) return user
  const password = await promptPassword()
  return password === undefined ? user : `${user}:${password}`
}
