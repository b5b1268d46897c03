import {Flags} from '@oclif/core'
import {reportError} from '../cli/base-command.js'
import {RuntimeCommand} from '../cli/runtime-command.js'
import {runFailureStatus} from '../cli/exit-codes.js'
import {containerArgs, containerFlags, containerPositionals, createOptionsFrom} from '../cli/container-flags.js'
import {networkFlags, networkSettingsFrom, podFlag} from '../cli/network-flags.js'
import {InvalidArgument} from '../lib/errors/index.js'
import {createContainer, deleteTaskOfContainer, type ForegroundExit, parseLogUri, removeContainer, runForeground, startDetached} from '../lib/runtime/index.js'

export default class Run extends RuntimeCommand {
  static override summary = 'run a container'
  static override description = `Create a container from a pulled image (or a host directory with --rootfs, or an OCI spec file
with --config, then only ID is given) and run its task. In the foreground ctr gives the process this
terminal's stdio, passes SIGINT and SIGTERM on to it, and exits with its status: 128+N when signal N
killed it; when the process did not run, 127 if its command was not found, 126 if it cannot be
executed (a directory, no execute permission) and 125 for any other failure of ctr (the container
then stays, as with ctr, unless --rm). A cleanup that fails after the process ran (--rm) is reported
on stderr and the exit status stays the process's. --detach returns once the task runs under conmon
(see ctr tasks logs, wait, attach). --rm removes the container and its snapshot after exit; its
overlay is then mounted volatile, as podman does for --rm: nothing in it is synced to disk, not
even by the process's fsync, and unmounting it does not wait for the file system's other writes.
Berth uses no FIFOs: --fifo-dir is accepted and unused.`
  static override examples = [
    '<%= config.bin %> run --rm docker.io/library/busybox:latest hello echo hi',
    '<%= config.bin %> run -d docker.io/library/redis:latest redis',
    '<%= config.bin %> run --rm -t docker.io/library/busybox:latest shell sh',
    '<%= config.bin %> run --rm --config spec.json job',
    '<%= config.bin %> run --rm --rootfs /srv/rootfs job /bin/true',
  ]
  static override usage = 'run [flags] IMAGE|ROOTFS ID [COMMAND] [ARG...]'
  static override strict = false // the command and its args
  static override commandAfterPositionals = containerPositionals
  static override args = containerArgs
  static override flags = {
    ...containerFlags,
    rm: Flags.boolean({summary: 'remove the container after running (not with --detach)'}),
    detach: Flags.boolean({char: 'd', summary: 'detach from the task after it has started'}),
    'null-io': Flags.boolean({summary: 'send all IO to /dev/null'}),
    'log-uri': Flags.string({summary: "send stdout and stderr to file:///path (appended) or to a logging program, binary:///path?k=v (containerd's protocol)"}),
    'fifo-dir': Flags.string({summary: 'accepted for ctr compatibility and unused: Berth has no IO FIFOs (pipes and conmon sockets)'}),
    'dump-config': Flags.string({summary: 'write the generated OCI spec to this file'}),
    // Networks and pods (src/cli/network-flags.ts).
    ...networkFlags,
    ...podFlag,
  }

  async run(): Promise<void> {
    try {
      await this.runContainer()
    } catch (err) {
      reportError(err, this.globals.debug)
      process.exitCode = runFailureStatus(err) // 125, or 126/127 when the command could not be executed
    }
  }

  private async runContainer(): Promise<void> {
    const {argv, flags} = await this.parse(Run)
    const create = createOptionsFrom('run', this.namespace(), await this.berthConfig(), argv as string[], flags)
    // Networks and pods: a separate block (src/cli/network-flags.ts).
    const network = networkSettingsFrom(flags)
    Object.assign(create, {...(network ? {network} : {}), ...(flags.pod !== undefined ? {pod: flags.pod} : {})})
    if (flags.rm && flags.detach) throw new InvalidArgument('flags --detach and --rm cannot be specified together', {suffixKind: true})
    if (flags.tty && flags['null-io']) throw new InvalidArgument('tty and null-io cannot be used together', {suffixKind: true})
    const log = flags['log-uri'] === undefined ? undefined : parseLogUri(flags['log-uri'])
    if (log !== undefined && flags.tty) throw new InvalidArgument("can't use log-uri with tty", {suffixKind: true})
    if (log !== undefined && flags['null-io']) throw new InvalidArgument('null-io and log-uri cannot be used together', {suffixKind: true})
    const rt = await this.taskRuntime()
    const {store, ns} = rt
    const id = create.id
    await createContainer(store, create)
    const options = {nullIo: flags['null-io'], pidFile: flags['pid-file'], volatile: flags.rm, ...(log !== undefined ? {log} : {})}
    if (flags.detach) {
      await startDetached(rt, id, options)
      return
    }
    let result: ForegroundExit
    try {
      result = await runForeground(rt, id, options)
    } catch (err) {
      if (flags.rm) {
        await deleteTaskOfContainer(rt, id, {force: true}).catch(() => undefined) // one a failed start left
        removeContainer(store, ns, id)
      }
      throw err
    }
    // The process ran: ctr exits with its status; a cleanup that fails is said, never exited with.
    let cleanupError = result.cleanupError
    if (flags.rm) {
      try {
        if (cleanupError !== undefined) await deleteTaskOfContainer(rt, id, {force: true}) // the task its failed cleanup left
        removeContainer(store, ns, id)
      } catch (err) {
        cleanupError ??= err
      }
    }
    if (cleanupError !== undefined) reportError(cleanupError, this.globals.debug)
    process.exitCode = result.exitStatus
  }
}
