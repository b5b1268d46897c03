// Disk usage of a snapshot directory, the mount table, and fsync of a whole file system.
import {spawn} from 'node:child_process'
import {Internal} from '../errors/index.js'
import {treeUsage, type TreeUsage} from '../sys/tree.js'

/** containerd's snapshots.Usage: allocated bytes (512-byte blocks) and distinct inodes. */
export type Usage = TreeUsage

/**
 * Walk `dir` without following symlinks, counting each inode once (hardlinks), as `du` does; at
 * any depth (what a container wrote is untrusted), without recursion.
 */
export function diskUsage(dir: string): Usage {
  return treeUsage(dir)
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
