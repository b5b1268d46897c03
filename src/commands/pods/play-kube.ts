import {Args} from '@oclif/core'
import {readFileSync} from 'node:fs'
import {RuntimeCommand} from '../../cli/runtime-command.js'
import {runFetch} from '../../cli/fetch-runner.js'
import {registryFlags, snapshotterFlag} from '../../cli/flags.js'
import {resolveSnapshotter} from '../../lib/config/index.js'
import {InvalidArgument} from '../../lib/errors/index.js'
import {playKube} from '../../lib/pods/kube.js'

export default class PodsPlayKube extends RuntimeCommand {
  static override summary = 'create and start a pod from a Kubernetes Pod manifest'
  static override description = `Read a Pod manifest (YAML or JSON; "-" for stdin), pull the images that are missing, create the pod
(its containers' hostPorts published on Berth's bridge network, or hostNetwork) and its containers,
and start them. What Berth cannot honour (volumes, init containers, probes, valueFrom, other kinds)
is refused with a message naming it. Prints the pod's id.`
  static override args = {file: Args.string({required: true, description: 'manifest file, or - for stdin'})}
  static override flags = {...registryFlags, snapshotter: snapshotterFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(PodsPlayKube)
    let text: string
    try {
      text = readFileSync(args.file === '-' ? 0 : args.file, 'utf8')
    } catch (err) {
      throw new InvalidArgument(`cannot read ${args.file}: ${(err as Error).message}`, {suffixKind: true})
    }
    const rt = await this.taskRuntime()
    const snapshotter = resolveSnapshotter(rt.store.config, flags.snapshotter)
    const pod = await playKube(rt, text, {
      snapshotter,
      pull: async (ref) => void (await runFetch(rt.store, rt.ns, ref, {...flags, quiet: true}, {snapshotter})),
    })
    this.out(`${pod.id}\n`)
  }
}
