// Public API of the runtime library: OCI runtime specs for containers (built from image config and
// ctr-style options), user resolution inside a rootfs, the per-start spec template, signals.
export {
  CPU_PERIOD,
  DEFAULT_CGROUP_PARENT,
  DEFAULT_INIT_PATH,
  buildSpec,
  cgroupsPathFor,
  effectiveUser,
  generateSpec,
  type SpecContext,
  type SpecOptions,
} from './spec.js'
export {
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_NOFILE,
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
  DEFAULT_ROOT_PATH,
  defaultDeviceRules,
  defaultMounts,
  defaultNamespaces,
} from './defaults.js'
export {CAPABILITIES, capabilitiesFromMask, normalizeCapability, resolveCapabilities, type CapabilityOptions} from './capabilities.js'
export {envValue, mergeEnv, parseEnvFile, validateEnvEntry} from './env.js'
export {parseMountFlag} from './mount-flag.js'
export {
  MAX_ACCOUNT_FILE_BYTES,
  parseGroup,
  parsePasswd,
  readRootFile,
  resolveInRoot,
  resolveUser,
  type GroupEntry,
  type PasswdEntry,
  type ResolvedUser,
} from './user.js'
export {defaultSpec, type DefaultSpec} from './default-spec.js'
export {
  devicesFromPath,
  parseProcLimits,
  parseStatusCapabilities,
  readHostDevices,
  readHostFacts,
  readHostFeatures,
  type HostFacts,
  type HostFeatures,
} from './host.js'
export {DEFAULT_STOP_SIGNAL, SIGNALS, STOP_SIGNAL_LABEL, parseSignal, signalName, stopSignal} from './signals.js'
export {BUNDLE_CONFIG_FILE, TEMPLATE_FILE, readTemplate, renderSpec, writeBundleSpec, writeTemplate} from './template.js'
export {
  OCI_VERSION,
  type Linux,
  type LinuxCapabilities,
  type LinuxDevice,
  type LinuxDeviceCgroup,
  type LinuxIDMapping,
  type LinuxNamespace,
  type LinuxSeccomp,
  type LinuxSeccompArg,
  type LinuxSyscall,
  type LinuxResources,
  type Mount,
  type NamespaceType,
  type PosixRlimit,
  type Process,
  type Root,
  type RuntimeSpec,
  type User,
} from './oci-spec.js'
export {
  cgroupParentFor,
  containerDir,
  containerExtras,
  containerRunDir,
  containerSpec,
  createContainer,
  refuseUnsupported,
  removeContainer,
  validateCreateArgs,
  type ContainerExtrasView,
  type CreateContainerOptions,
  type UnsupportedRequests,
} from './containers.js'
export {
  DEFAULT_RUNTIME,
  RUNC_RUNTIMES,
  containerNoPivot,
  containerRunc,
  findProgram,
  isRuncRuntime,
  resolveRuntime,
  runtimeRecord,
  shimBinaryName,
  type ResolvedRuntime,
  type RuncOptions,
  type RuntimeRequest,
} from './runtimes.js'
export {
  NAMESPACE_TYPES,
  ROOTFS_PROPAGATIONS,
  isCdiDeviceName,
  parseIdMapping,
  parseLogUri,
  parseNamespaceFlag,
  parseRlimitNofile,
  type LogDestination,
} from './flag-values.js'
export {openAppend, startLoggingProgram, type LoggingProgram, type TaskOutput} from './task-output.js'
export {defaultSeccompProfile, parseSeccompProfile, seccompArchitectures} from './seccomp.js'
export {REMAPPED_LABEL, releaseRemapped, remappedKey, remappedSnapshot, shiftOwners, toHostId} from './remap.js'
export {Runc, runcMessage, runcRoot} from './runc.js'
export {startConmon, type ConmonOptions, type ConmonStarted} from './conmon.js'
export {bootId, processAlive, processStartTime, readPid} from './proc.js'
export {
  deleteAllTasks,
  deleteTask,
  deleteTaskOfContainer,
  finishTask,
  getTask,
  killTask,
  listTasks,
  recordExit,
  refreshTask,
  runForeground,
  setTaskPaused,
  startDetached,
  taskPaths,
  taskRuntime,
  waitTask,
  superviseRunc,
  type SuperviseOptions,
  type ForegroundExit,
  type StartOptions,
  type TaskPaths,
  type TaskRuntime,
} from './tasks.js'
export {deleteExec, execDetached, execForeground, execPaths, getExec, killExec, recordExec, type ExecOptions} from './exec.js'
export {
  LineSplitter,
  parseLogLine,
  readLog,
  taskLog,
  type LogEntry,
  type LogStream,
  type ReadLogOptions,
  type ReadLogResult,
  type TaskLogOptions,
} from './logs.js'
export {formatMetricsJson, taskMetrics, type TaskMetrics} from './metrics.js'
export {attachTask, type AttachIo, type AttachResult} from './attach.js'
