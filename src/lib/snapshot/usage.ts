// Disk usage of a snapshot directory, the mount table, and fsync of a whole file system.
import {spawn} from 'node:child_process'
import {lstatSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {Internal} from '../errors/index.js'

/** containerd's snapshots.Usage: allocated bytes (512-byte blocks) and distinct inodes. */
export interface Usage {
  size: number
  inodes: number
}

/** Walk `dir` without following symlinks, counting each inode once (hardlinks), as `du` does. */
export function diskUsage(dir: string): Usage {
  const seen = new Set<string>()
  let size = 0
  const visit = (path: string) => {
    let st
    try {
      st = lstatSync(path, {bigint: true})
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw err
    }
    const key = `${st.dev}:${st.ino}`
    if (!seen.has(key)) {
      seen.add(key)
      size += Number(st.blocks) * 512
    }
    if (st.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name))
  }
  visit(dir)
  return {size, inodes: seen.size}
}

export {mountsUsing, readMountTable as readMounts, type MountInfo} from '../store/index.js'

/** Flush the file system holding `path` to disk (`sync -f`, i.e. syncfs(2)). */
export function syncFileSystem(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sync', ['-f', path], {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Internal(`sync ${JSON.stringify(path)}: ${stderr.trim() || `exit ${code}`}`))))
  })
}

