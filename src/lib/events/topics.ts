// Event topics Berth publishes, named as containerd names them.

export const Topics = {
  namespaceCreate: '/namespaces/create',
  namespaceUpdate: '/namespaces/update',
  namespaceDelete: '/namespaces/delete',
} as const

export type Topic = (typeof Topics)[keyof typeof Topics]
