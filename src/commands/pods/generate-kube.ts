import {Args} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {getPod} from '../../lib/pods/index.js'
import {kubePod, toYaml} from '../../lib/pods/kube.js'

export default class PodsGenerateKube extends CtrCommand {
  static override summary = 'print a pod as a Kubernetes Pod manifest'
  static override description = `Print the pod as Kubernetes Pod YAML (v1): name, namespace (--k8s-namespace) and labels, hostname or
hostNetwork, and per container its name, image, command, env, working directory, tty and resource
limits (memory, cpu) from its spec; the pod's published ports go on its first container as hostPorts.
Only fields of the official schema are written.`
  static override args = {pod: Args.string({required: true, description: 'pod id, name or id prefix'})}

  async run(): Promise<void> {
    const {args} = await this.parse(PodsGenerateKube)
    const store = await this.store()
    const ns = this.namespace()
    this.out(toYaml(kubePod(store, ns, getPod(store, ns, args.pod))))
  }
}
