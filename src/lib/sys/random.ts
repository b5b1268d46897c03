// Random bytes and a short path hash without node:crypto: loading that module costs a command
// 2-3 ms of start-up, and the commands that run containers need nothing else from it.
import {closeSync, openSync, readSync} from 'node:fs'

let pool = Buffer.alloc(0)

/** `n` bytes from the kernel's CSPRNG (/dev/urandom), read 256 at a time. */
export function randomBytes(n: number): Buffer {
  if (pool.length < n) {
    const fresh = Buffer.alloc(Math.max(256, n))
    const fd = openSync('/dev/urandom', 'r')
    try {
      for (let got = 0; got < fresh.length; ) got += readSync(fd, fresh, got, fresh.length - got, null)
    } finally {
      closeSync(fd)
    }
    pool = fresh
  }
  const out = Buffer.from(pool.subarray(0, n))
  pool = pool.subarray(n)
  return out
}

/** FNV-1a (32 bits) of the UTF-8 bytes of `text`, as 8 hex digits: to tell names apart, not for security. */
export function fnv1a32(text: string): string {
  let h = 0x811c9dc5
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h.toString(16).padStart(8, '0')
}
