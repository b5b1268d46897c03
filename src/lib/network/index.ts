// Public API of the network library: CNI networks (Berth's default bridge and users' configs),
// namespaces pinned at files, attachments of containers and pods, port mappings, and the sweep
// that releases what a killed process left behind.
export {cniAdd, cniDel, parseNetConf, type CniCall, type NetConfList} from './cni.js'
export {cniPaths, DEFAULT_NETWORK, defaultBridge, defaultNetConf, loadDefaultNetwork, resolveNetwork, type CniPaths} from './networks.js'
export {ensureMasquerade, MASQUERADE_KEY, masqueradeOf, type Masquerade} from './masquerade.js'
export {isPinned, pinNamespaces, pinsUnder, unpin, type PinFiles} from './pins.js'
export {formatPortMapping, parsePortMapping} from './ports.js'
export {
  attachContainerNetwork,
  attachNetworks,
  bootId,
  checkNetworks,
  containerIps,
  containerNetnsPath,
  detachNetworks,
  hasContainerNetwork,
  podDir,
  podIsUp,
  pinContainerNetns,
  podPinPaths,
  setUpPodSandbox,
  storeCniPaths,
  sweepNetworks,
  tearDownContainerNetwork,
  tearDownPodSandbox,
  type NetOwner,
  type NetSweepReport,
  type StoredNetworkSettings,
} from './attach.js'
