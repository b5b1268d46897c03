// berth-exit: conmon's exit command for a detached task, without a Node start-up.
//
// Every detached task's exit used to start `ctr tasks cleanup`: a whole Node process (about 25 ms
// of CPU before it does anything, and loading SQLite into Node costs as much again) for one row,
// one event, an unmount and a few rmdirs. This program does exactly that work, and nothing else,
// in the same order and under the same lock as the TypeScript path (src/lib/runtime/
// task-reconcile.ts: recordExit, finishTask, teardown; src/lib/runtime/runc.ts: deleteExited):
//
//   1. the exit conmon wrote (exits/<id>: the status; its mtime is the exit time), or 255 "unknown";
//      a task stopped by `checkpoint --exit` (the `checkpointed` marker) exited cleanly (0);
//   2. in one immediate transaction: the task row goes to stopped, and /tasks/oom and /tasks/exit
//      are appended to the event log with the payloads of src/lib/events/topics.ts (only for a
//      task that announced itself, pid > 0), trimming the log as event-log.ts does;
//   3. under the task lock (<state>/locks/task.<ns>.<id>), for this instance only: runc's state of
//      the exited container (its cgroup directories, then its state directory) and the rootfs
//      mounts go.
//
// ctr gives this command only to tasks whose teardown is this plain (no network of their own, no
// user namespace, runc with cgroupfs, a PID namespace of its own, no poststop hooks or RDT). Any
// surprise on the way (a state.json it cannot read, a busy cgroup, an SQLite error) hands over to
// the full `ctr tasks cleanup`, given after `--`, which redoes whatever is left: every step is
// idempotent there.
//
// usage: berth-exit DB TASK_DIR RUNC_DIR LOCK_FILE NAMESPACE ID INSTANCE MAX_ROWS MAX_AGE_SECONDS -- CTR...
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sqlite3.h"

#define UNKNOWN_EXIT_STATUS 255
#define BUSY_TIMEOUT_MS 60000 /* src/lib/store/database.ts */
#define TRIM_EVERY 512        /* src/lib/store/event-log.ts */

static char **fallback_argv;

/** Hand over to `ctr tasks cleanup` (which finishes whatever is left); never returns. */
static void fall_back(const char *why) {
  if (getenv("BERTH_EXIT_DEBUG")) fprintf(stderr, "berth-exit: %s: handing over to ctr\n", why);
  if (fallback_argv && fallback_argv[0]) execv(fallback_argv[0], fallback_argv);
  fprintf(stderr, "berth-exit: %s, and ctr cannot be run: %s\n", why, strerror(errno));
  _exit(1);
}

static int64_t now_micros(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

/** Go's RFC 3339 with nanoseconds, trailing zeros of the fraction trimmed (src/lib/events/time.ts). */
static void rfc3339_nano(int64_t seconds, int64_t nanos, char *out, size_t size) {
  time_t t = (time_t)seconds;
  struct tm tm;
  gmtime_r(&t, &tm);
  char date[32];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  if (nanos == 0) {
    snprintf(out, size, "%sZ", date);
    return;
  }
  char fraction[16];
  snprintf(fraction, sizeof fraction, "%09lld", (long long)nanos);
  for (int i = 8; i > 0 && fraction[i] == '0'; i--) fraction[i] = '\0';
  snprintf(out, size, "%s.%sZ", date, fraction);
}

/** A JSON string literal of `s` (ids are plain, but nothing is assumed). */
static void json_string(const char *s, char *out, size_t size) {
  size_t n = 0;
  if (size < 3) return;
  out[n++] = '"';
  for (; *s && n + 8 < size; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      out[n++] = '\\';
      out[n++] = (char)c;
    } else if (c < 0x20) {
      n += (size_t)snprintf(out + n, size - n, "\\u%04x", c);
    } else {
      out[n++] = (char)c;
    }
  }
  out[n++] = '"';
  out[n] = '\0';
}

struct task_exit {
  int status;
  int known;
  int oom;
  int64_t exited_at_us;
  char exited_at[64]; /* RFC 3339, from the exit file's nanoseconds when there is one */
};

/** What conmon recorded (src/lib/runtime/task-reconcile.ts: conmonExit, unknownExit). */
static void read_exit(const char *task_dir, const char *id, struct task_exit *e) {
  char path[4096];
  snprintf(path, sizeof path, "%s/exits/%s", task_dir, id);
  char text[64] = "";
  struct stat st;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  int have = 0;
  if (fd >= 0) {
    ssize_t r = read(fd, text, sizeof text - 1);
    if (r > 0 && fstat(fd, &st) == 0) {
      text[r] = '\0';
      have = 1;
    }
    close(fd);
  }
  char *start = text;
  while (*start == ' ' || *start == '\n' || *start == '\t' || *start == '\r') start++;
  if (have && *start != '\0') {
    char *end;
    errno = 0;
    long code = strtol(start, &end, 10);
    while (*end == ' ' || *end == '\n' || *end == '\t' || *end == '\r') end++;
    e->known = errno == 0 && *end == '\0' && end != start;
    e->status = e->known ? (int)code : UNKNOWN_EXIT_STATUS;
    e->exited_at_us = (int64_t)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000;
    rfc3339_nano(st.st_mtim.tv_sec, st.st_mtim.tv_nsec, e->exited_at, sizeof e->exited_at);
    snprintf(path, sizeof path, "%s/checkpointed", task_dir);
    if (exists(path)) {
      // CRIU stopped it (conmon saw SIGKILL) after a complete dump: a deliberate, clean stop.
      e->status = 0;
      e->known = 1;
      e->oom = 0;
      return;
    }
  } else {
    e->status = UNKNOWN_EXIT_STATUS;
    e->known = 0;
    e->exited_at_us = now_micros();
    rfc3339_nano(e->exited_at_us / 1000000, (e->exited_at_us % 1000000) * 1000, e->exited_at, sizeof e->exited_at);
  }
  snprintf(path, sizeof path, "%s/oom", task_dir);
  e->oom = exists(path);
}

static sqlite3 *db;

static void db_fail(const char *what) {
  char why[512];
  snprintf(why, sizeof why, "%s: %s", what, db ? sqlite3_errmsg(db) : "no database");
  if (db) {
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    db = NULL;
  }
  fall_back(why);
}

static sqlite3_stmt *prepare(const char *sql) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) db_fail("prepare");
  return st;
}

static void append_event(const char *ns, const char *topic, const char *payload, int64_t max_rows, int64_t max_age_s) {
  sqlite3_stmt *st = prepare("INSERT INTO events (ts_us, namespace, topic, payload) VALUES (?, ?, ?, ?)");
  sqlite3_bind_int64(st, 1, now_micros());
  sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, topic, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, payload, -1, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_DONE) db_fail("append event");
  sqlite3_finalize(st);
  int64_t seq = sqlite3_last_insert_rowid(db);
  if (seq % TRIM_EVERY != 0) return;
  // Beyond the retention limits, whichever keeps less (event-log.ts: trimEvents).
  st = prepare("DELETE FROM events WHERE seq <= ? OR ts_us < ?");
  sqlite3_bind_int64(st, 1, seq - max_rows);
  sqlite3_bind_int64(st, 2, now_micros() - max_age_s * 1000000);
  if (sqlite3_step(st) != SQLITE_DONE) db_fail("trim events");
  sqlite3_finalize(st);
}

enum row_state { ROW_GONE, ROW_OTHER_INSTANCE, ROW_STOPPED, ROW_UNFINISHED };

/** The task row of (ns, id) as this exit sees it; its pid when unfinished. */
static enum row_state task_row(const char *ns, const char *id, const char *instance, int64_t *pid) {
  sqlite3_stmt *st = prepare("SELECT instance, status, pid FROM tasks WHERE namespace = ? AND container_id = ?");
  sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  enum row_state state = ROW_GONE;
  if (rc == SQLITE_ROW) {
    const char *inst = (const char *)sqlite3_column_text(st, 0);
    const char *status = (const char *)sqlite3_column_text(st, 1);
    if (!inst || strcmp(inst, instance) != 0) {
      state = ROW_OTHER_INSTANCE;
    } else if (status && (!strcmp(status, "created") || !strcmp(status, "running") || !strcmp(status, "paused"))) {
      state = ROW_UNFINISHED;
      *pid = sqlite3_column_int64(st, 2);
    } else {
      state = ROW_STOPPED;
    }
  } else if (rc != SQLITE_DONE) {
    db_fail("read task");
  }
  sqlite3_finalize(st);
  return state;
}

/** Step 2: the stopped row and its events, in one transaction (tasks.ts: exited). */
static void record_exit(const char *ns, const char *id, const char *instance, const struct task_exit *e, int64_t max_rows, int64_t max_age_s) {
  // Task records are committed without an fsync (tasks.ts: commit), as ctr does.
  if (sqlite3_exec(db, "PRAGMA synchronous = NORMAL; BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) db_fail("begin");
  int64_t pid = 0;
  if (task_row(ns, id, instance, &pid) != ROW_UNFINISHED) {
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return;
  }
  sqlite3_stmt *st = prepare(
      "UPDATE tasks SET status = 'stopped', exit_status = ?, exited_at = ?, exit_known = ?, oom = ?, updated_at = ? WHERE namespace = ? AND "
      "container_id = ?");
  sqlite3_bind_int(st, 1, e->status);
  sqlite3_bind_int64(st, 2, e->exited_at_us);
  sqlite3_bind_int(st, 3, e->known);
  sqlite3_bind_int(st, 4, e->oom);
  sqlite3_bind_int64(st, 5, now_micros());
  sqlite3_bind_text(st, 6, ns, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 7, id, -1, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_DONE) db_fail("record exit");
  sqlite3_finalize(st);
  // A start killed before its process existed never published /tasks/create: nor its exit.
  if (pid > 0) {
    char quoted[1024], payload[2048];
    json_string(id, quoted, sizeof quoted);
    if (e->oom) {
      snprintf(payload, sizeof payload, "{\"container_id\":%s}", quoted);
      append_event(ns, "/tasks/oom", payload, max_rows, max_age_s);
    }
    snprintf(payload, sizeof payload, "{\"container_id\":%s,\"id\":%s,\"pid\":%lld,\"exit_status\":%d,\"exited_at\":\"%s\"}", quoted, quoted,
             (long long)pid, e->status, e->exited_at);
    append_event(ns, "/tasks/exit", payload, max_rows, max_age_s);
  }
  if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) db_fail("commit");
}

/**
 * The cgroup directories runc's state.json names (`"cgroup_paths":{"name":"/sys/fs/cgroup/…",…}`),
 * removed. Returns 0 when all are gone, -1 when runc has to do it (state not as expected, a
 * directory still busy).
 */
static int remove_cgroups(const char *runc_dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/state.json", runc_dir);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size > (16 << 20)) {
    close(fd);
    return -1;
  }
  char *json = malloc((size_t)st.st_size + 1);
  ssize_t got = json ? read(fd, json, (size_t)st.st_size) : -1;
  close(fd);
  if (got != st.st_size) {
    free(json);
    return -1;
  }
  json[got] = '\0';
  // The one object runc writes with this key; its values are absolute paths (no escapes expected:
  // one is a surprise, and runc handles it).
  const char *p = strstr(json, "\"cgroup_paths\":{");
  if (!p || strstr(p + 1, "\"cgroup_paths\":")) {
    free(json);
    return -1;
  }
  p += strlen("\"cgroup_paths\":{");
  int result = 0;
  while (result == 0 && *p != '}') {
    // "key":"value"
    if (*p != '"') { result = -1; break; }
    const char *key_end = strchr(p + 1, '"');
    if (!key_end || key_end[1] != ':' || key_end[2] != '"') { result = -1; break; }
    const char *value = key_end + 3;
    const char *value_end = strchr(value, '"');
    if (!value_end || memchr(p, '\\', (size_t)(value_end - p))) { result = -1; break; }
    size_t len = (size_t)(value_end - value);
    if (len >= sizeof path || strncmp(value, "/sys/fs/cgroup/", 15) != 0) { result = -1; break; }
    memcpy(path, value, len);
    path[len] = '\0';
    if (strstr(path, "/../") || (len >= 3 && strcmp(path + len - 3, "/..") == 0)) { result = -1; break; }
    if (rmdir(path) != 0 && errno != ENOENT) result = -1; // busy: runc retries and reports
    p = value_end + 1;
    if (*p == ',') p++;
  }
  free(json);
  return result;
}

/** Whether runc's state directory of the container holds files only (state.json, what runc leaves). */
static int flat_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT;
  struct dirent *ent;
  int flat = 1;
  while (flat && (ent = readdir(d)) != NULL) {
    if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..")) continue;
    if (ent->d_type != DT_REG && ent->d_type != DT_FIFO && ent->d_type != DT_LNK) flat = 0;
  }
  closedir(d);
  return flat;
}

/** runc's state directory of a flat_dir(), removed. */
static int remove_flat_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? 0 : -1;
  int dfd = dirfd(d);
  struct dirent *ent;
  int result = 0;
  while ((ent = readdir(d)) != NULL) {
    if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..")) continue;
    if (unlinkat(dfd, ent->d_name, 0) != 0 && errno != ENOENT) result = -1;
  }
  closedir(d);
  if (result == 0 && rmdir(dir) != 0 && errno != ENOENT) result = -1;
  return result;
}

/** Every mount stacked on the rootfs mountpoint (SnapshotService.unmountAll). 0, or -1 for ctr to report. */
static int unmount_all(const char *target) {
  for (int i = 0; i < 64; i++) {
    if (umount2(target, 0) == 0) continue;
    return errno == EINVAL || errno == ENOENT ? 0 : -1; // EINVAL: nothing mounted there any more
  }
  return 0;
}

int main(int argc, char **argv) {
  int sep = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--")) {
      sep = i;
      break;
    }
  }
  if (sep == 0) {
    fprintf(stderr, "usage: berth-exit DB TASK_DIR RUNC_DIR LOCK_FILE NAMESPACE ID INSTANCE MAX_ROWS MAX_AGE_SECONDS -- CTR...\n");
    return 2;
  }
  fallback_argv = argv + sep + 1;
  if (sep != 10) fall_back("wrong arguments");
  const char *db_path = argv[1], *task_dir = argv[2], *runc_dir = argv[3], *lock_file = argv[4];
  const char *ns = argv[5], *id = argv[6], *instance = argv[7];
  int64_t max_rows = strtoll(argv[8], NULL, 10), max_age_s = strtoll(argv[9], NULL, 10);

  struct task_exit e = {0};
  read_exit(task_dir, id, &e);

  if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) db_fail("open");
  sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
  record_exit(ns, id, instance, &e, max_rows, max_age_s);

  // Step 3 (finishTask): under the task lock, and only while this run is still the task's.
  int lock = open(lock_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0 || flock(lock, LOCK_EX) != 0) {
    sqlite3_close(db); // the exit is recorded: only the teardown is left to ctr
    db = NULL;
    fall_back("cannot take the task lock");
  }
  int64_t pid = 0;
  enum row_state state = task_row(ns, id, instance, &pid);
  sqlite3_close(db);
  db = NULL;
  if (state == ROW_GONE || state == ROW_OTHER_INSTANCE) return 0;
  // Anything unexpected is left whole for runc (through ctr) to remove.
  if (!flat_dir(runc_dir) || remove_cgroups(runc_dir) != 0 || remove_flat_dir(runc_dir) != 0) {
    close(lock); // the fallback takes it again
    fall_back("runc state not removable here");
  }
  char rootfs[4096];
  snprintf(rootfs, sizeof rootfs, "%s/rootfs", task_dir);
  int unmounted = unmount_all(rootfs);
  close(lock);
  if (unmounted != 0) fall_back("rootfs not unmountable");
  return 0;
}
