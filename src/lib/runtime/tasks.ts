// Tasks: a container's running instance. No daemon keeps them; the record in the database is the
// last known state, and every command that looks at a task first reconciles it with what the
// machine says (the monitor's exit file, /proc, the boot id).
//
// Two monitors (DESIGN §7):
//  - detached tasks (`tasks start -d`, `run -d`) run under conmon, which outlives ctr, writes the
//    exit status and runs `ctr tasks cleanup` to record it;
//  - a foreground task's ctr is its monitor: it runs `runc run` with the terminal's stdio (runc
//    forwards signals and proxies a tty itself) and records the exit. If that ctr is killed, the
//    next command finds the process gone and records the exit as unknown (255).
//
// Each run of a task has a random `instance`; records, cleanups and exit commands name it, so a
// late cleanup of an earlier run never touches a newer one. A per-task lock orders start, cleanup
// and delete.
//
// One file per job (as youki keeps one per operation); this module only gathers their public API:
//  - task-runtime.ts   the runtime context, a task's paths, the start options, the task lock;
//  - task-reconcile.ts reconcile a record with the machine, record exits, clean up after one;
//  - task-prepare.ts   record and bundle a new task (both start paths), or undo it;
//  - task-start.ts     start detached under conmon;
//  - task-foreground.ts supervise a foreground task (and runc for a foreground exec);
//  - task-stop.ts      signal, wait, pause/resume and delete.
export {taskPaths, taskRuntime, type StartOptions, type TaskPaths, type TaskRuntime} from './task-runtime.js'
export {finishTask, getTask, listTasks, recordExit, refreshTask, taskIsStale} from './task-reconcile.js'
export {startDetached} from './task-start.js'
export {runForeground, superviseRunc, type ForegroundExit, type SuperviseOptions} from './task-foreground.js'
export {deleteAllTasks, deleteTask, deleteTaskOfContainer, killTask, setTaskPaused, waitTask} from './task-stop.js'
