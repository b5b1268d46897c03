// berth.node: the few Linux system calls Node has no API for (mknod, xattrs on the link itself,
// mount/umount2, flock, utimensat with nanoseconds), exposed through N-API.
//
// Invariants: every function is a thin, synchronous wrapper around one system call (mount may
// also chdir around it, see below); nothing follows a symlink unless the system call itself
// does; strings with an embedded NUL are refused rather than silently truncated; a failed call
// throws an Error carrying `errno` (negative, as libuv reports it), `syscall` and `path`, which
// src/lib/sys/index.ts turns into a Node-style error with `code`.
//
// Also: connecting to a SOCK_SEQPACKET unix socket (conmon's attach socket; libuv cannot) and
// shutdown(2) of the descriptor that returns; the file-range calls the checkpoint path needs
// (fallocate, copy_file_range — also as async work off the main thread —, sync_file_range,
// posix_fadvise); inotify on a directory, read without blocking (so the checkpoint can hash the
// dump's memory file once CRIU has closed it, while CRIU still works); bringing a link up inside a network namespace (setns in a thread of its own,
// so the process's namespace never changes); and pinning new net/ipc/uts namespaces at files
// (a few system calls in a thread of their own, where util-linux unshare and ip cost two processes).
#define _GNU_SOURCE
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

// Largest xattr value the kernel accepts (XATTR_SIZE_MAX) and name list (XATTR_LIST_MAX).
#define MAX_XATTR_SIZE 65536

// Bail out of a function on an N-API failure (an exception is already pending or the
// arguments were wrong); the caller sees a JavaScript exception.
#define NAPI_OK(call)                                                    \
  do {                                                                   \
    if ((call) != napi_ok) {                                             \
      throw_napi_failure(env);                                           \
      return NULL;                                                       \
    }                                                                    \
  } while (0)

static void throw_napi_failure(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  napi_throw_type_error(env, NULL, info && info->error_message ? info->error_message : "invalid arguments");
}

// Throws `Error("<syscall> failed")` with errno/syscall/path properties; the TypeScript wrapper
// rewrites the message and adds `code` (it has libuv's errno names at hand).
static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path) {
  napi_value msg, error, value;
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &msg) != napi_ok) return NULL;
  if (napi_create_error(env, NULL, msg, &error) != napi_ok) return NULL;
  if (napi_create_int32(env, -err, &value) == napi_ok) napi_set_named_property(env, error, "errno", value);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &value) == napi_ok) napi_set_named_property(env, error, "syscall", value);
  if (path != NULL && napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &value) == napi_ok) napi_set_named_property(env, error, "path", value);
  napi_throw(env, error);
  return NULL;
}

// Copies argument `v` (a string) into a fresh malloc'd, NUL-terminated UTF-8 buffer. Returns
// NULL with a pending exception when it is not a string or contains a NUL byte.
static char *get_string(napi_env env, napi_value v, const char *what) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    char message[96];
    snprintf(message, sizeof message, "%s must be a string", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return NULL;
  }
  char *s = malloc(len + 1);
  if (s == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  if (strlen(s) != len) {
    char message[96];
    snprintf(message, sizeof message, "%s must not contain NUL bytes", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", message);
    free(s);
    return NULL;
  }
  return s;
}

// Like get_string, but undefined and null give NULL without an exception (*ok stays true).
static char *get_optional_string(napi_env env, napi_value v, const char *what, bool *ok) {
  napi_valuetype type;
  *ok = napi_typeof(env, v, &type) == napi_ok;
  if (!*ok) return NULL;
  if (type == napi_undefined || type == napi_null) return NULL;
  char *s = get_string(env, v, what);
  *ok = s != NULL;
  return s;
}

static bool get_u32(napi_env env, napi_value v, uint32_t *out) {
  return napi_get_value_uint32(env, v, out) == napi_ok;
}

static bool get_i64(napi_env env, napi_value v, int64_t *out) {
  return napi_get_value_int64(env, v, out) == napi_ok;
}

// Fetches exactly `n` arguments (missing ones are undefined).
static bool get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  return true;
}

// mknod(path, mode, major, minor): mode carries the file type (S_IFCHR, S_IFBLK, S_IFIFO) and
// permission bits, both subject to the umask. mknod never follows a symlink at `path`: an
// existing entry there makes it fail with EEXIST.
static napi_value js_mknod(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint32_t mode, major, minor;
  if (!get_args(env, info, 4, argv)) return NULL;
  char *path = get_string(env, argv[0], "path");
  if (path == NULL) return NULL;
  if (!get_u32(env, argv[1], &mode) || !get_u32(env, argv[2], &major) || !get_u32(env, argv[3], &minor)) {
    free(path);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "mode, major and minor must be numbers");
    return NULL;
  }
  if (mknod(path, (mode_t)mode, makedev(major, minor)) != 0) throw_errno(env, errno, "mknod", path);
  free(path);
  return NULL;
}

// lsetxattr(path, name, value: Buffer): sets an attribute on the entry itself (a symlink is not
// followed), creating or replacing it.
static napi_value js_lsetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  char *path = get_string(env, argv[0], "path");
  if (path == NULL) return NULL;
  char *name = get_string(env, argv[1], "name");
  if (name == NULL) {
    free(path);
    return NULL;
  }
  void *data = NULL;
  size_t size = 0;
  bool is_buffer = false;
  napi_is_buffer(env, argv[2], &is_buffer);
  if (!is_buffer || napi_get_buffer_info(env, argv[2], &data, &size) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "value must be a Buffer");
  } else if (lsetxattr(path, name, size ? data : "", size, 0) != 0) {
    throw_errno(env, errno, "lsetxattr", path);
  }
  free(name);
  free(path);
  return NULL;
}

// lgetxattr(path, name): the value as a new Buffer, or undefined when the entry has no such
// attribute (ENODATA). Retries when the value grows between the size probe and the read.
static napi_value js_lgetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[2], result = NULL;
  if (!get_args(env, info, 2, argv)) return NULL;
  char *path = get_string(env, argv[0], "path");
  if (path == NULL) return NULL;
  char *name = get_string(env, argv[1], "name");
  if (name == NULL) {
    free(path);
    return NULL;
  }
  char *buf = malloc(MAX_XATTR_SIZE);
  ssize_t n = buf == NULL ? (errno = ENOMEM, -1) : lgetxattr(path, name, buf, MAX_XATTR_SIZE);
  if (n >= 0) {
    napi_create_buffer_copy(env, (size_t)n, buf, NULL, &result);
  } else if (errno == ENODATA) {
    napi_get_undefined(env, &result);
  } else {
    throw_errno(env, errno, "lgetxattr", path);
  }
  free(buf);
  free(name);
  free(path);
  return result;
}

// llistxattr(path): attribute names of the entry itself, as an array of strings.
static napi_value js_llistxattr(napi_env env, napi_callback_info info) {
  napi_value argv[1], result = NULL;
  if (!get_args(env, info, 1, argv)) return NULL;
  char *path = get_string(env, argv[0], "path");
  if (path == NULL) return NULL;
  char *buf = malloc(MAX_XATTR_SIZE);
  ssize_t n = buf == NULL ? (errno = ENOMEM, -1) : llistxattr(path, buf, MAX_XATTR_SIZE);
  if (n < 0) {
    throw_errno(env, errno, "llistxattr", path);
  } else if (napi_create_array(env, &result) == napi_ok) {
    // The list is a sequence of NUL-terminated names.
    uint32_t index = 0;
    for (ssize_t off = 0; off < n;) {
      size_t len = strnlen(buf + off, (size_t)(n - off));
      napi_value name;
      if (len > 0 && napi_create_string_utf8(env, buf + off, len, &name) == napi_ok) napi_set_element(env, result, index++, name);
      off += (ssize_t)len + 1;
    }
  }
  free(buf);
  free(path);
  return result;
}

// lremovexattr(path, name): removes one attribute of the entry itself.
static napi_value js_lremovexattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  char *path = get_string(env, argv[0], "path");
  if (path == NULL) return NULL;
  char *name = get_string(env, argv[1], "name");
  if (name != NULL && lremovexattr(path, name) != 0) throw_errno(env, errno, "lremovexattr", path);
  free(name);
  free(path);
  return NULL;
}

// mount(source, target, fstype, flags, data, cwd?): mount(2). source, fstype and data may be
// null. With `cwd`, the process changes to that directory for the duration of the call and
// returns to its previous directory afterwards (through a descriptor, so a renamed or
// long-named cwd is restored exactly): overlayfs resolves relative lowerdir= paths against the
// caller's cwd, which keeps option strings of many layers under the one-page limit. The cwd is
// process-wide, so callers must not rely on relative paths in other threads meanwhile.
static napi_value js_mount(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  uint32_t flags = 0;
  bool ok = true;
  int saved = -1, rc, err;
  char *source = NULL, *target = NULL, *fstype = NULL, *data = NULL, *cwd = NULL;
  if (!get_args(env, info, 6, argv)) return NULL;
  if (!(source = get_optional_string(env, argv[0], "source", &ok), ok)) goto out;
  if ((target = get_string(env, argv[1], "target")) == NULL) goto out;
  if (!(fstype = get_optional_string(env, argv[2], "fstype", &ok), ok)) goto out;
  if (!get_u32(env, argv[3], &flags)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "flags must be a number");
    goto out;
  }
  if (!(data = get_optional_string(env, argv[4], "data", &ok), ok)) goto out;
  if (!(cwd = get_optional_string(env, argv[5], "cwd", &ok), ok)) goto out;

  if (cwd != NULL) {
    saved = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (saved < 0) {
      throw_errno(env, errno, "open", ".");
      goto out;
    }
    if (chdir(cwd) != 0) {
      throw_errno(env, errno, "chdir", cwd);
      close(saved);
      goto out;
    }
  }
  rc = mount(source, target, fstype, (unsigned long)flags, data);
  err = errno;
  if (saved >= 0) {
    // Going back cannot reasonably fail (we hold the directory open); if it does, say so
    // rather than leave the process somewhere unexpected without notice.
    int back = fchdir(saved);
    int back_err = errno;
    close(saved);
    if (back != 0) {
      throw_errno(env, back_err, "fchdir", NULL);
      goto out;
    }
  }
  if (rc != 0) throw_errno(env, err, "mount", target);
out:
  free(source);
  free(target);
  free(fstype);
  free(data);
  free(cwd);
  return NULL;
}

// umount(target, flags): umount2(2), e.g. with MNT_DETACH.
static napi_value js_umount(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t flags = 0;
  if (!get_args(env, info, 2, argv)) return NULL;
  char *target = get_string(env, argv[0], "target");
  if (target == NULL) return NULL;
  napi_valuetype type;
  if (napi_typeof(env, argv[1], &type) == napi_ok && type != napi_undefined && !get_u32(env, argv[1], &flags)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "flags must be a number");
  } else if (umount2(target, (int)flags) != 0) {
    throw_errno(env, errno, "umount2", target);
  }
  free(target);
  return NULL;
}

// flock(fd, operation): flock(2). Blocks the calling thread unless LOCK_NB is given; with
// LOCK_NB a held lock fails with EWOULDBLOCK (EAGAIN).
static napi_value js_flock(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd, op;
  if (!get_args(env, info, 2, argv)) return NULL;
  NAPI_OK(napi_get_value_int32(env, argv[0], &fd));
  NAPI_OK(napi_get_value_int32(env, argv[1], &op));
  int rc;
  do rc = flock(fd, op);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) throw_errno(env, errno, "flock", NULL);
  return NULL;
}

// Reads the four numbers (atime sec, nsec, mtime sec, nsec) starting at argv[first].
static bool get_times(napi_env env, napi_value *argv, struct timespec ts[2]) {
  int64_t v[4];
  for (int i = 0; i < 4; i++) {
    if (!get_i64(env, argv[i], &v[i])) {
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "times must be numbers");
      return false;
    }
  }
  if (v[1] < 0 || v[1] > 999999999 || v[3] < 0 || v[3] > 999999999) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "nanoseconds must be in [0, 999999999]");
    return false;
  }
  ts[0].tv_sec = (time_t)v[0];
  ts[0].tv_nsec = (long)v[1];
  ts[1].tv_sec = (time_t)v[2];
  ts[1].tv_nsec = (long)v[3];
  return true;
}

// lutimens(path, atimeSec, atimeNsec, mtimeSec, mtimeNsec): utimensat(2) with
// AT_SYMLINK_NOFOLLOW, exact to the nanosecond (Node's utimes takes a double of seconds).
static napi_value js_lutimens(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  struct timespec ts[2];
  if (!get_args(env, info, 5, argv)) return NULL;
  char *path = get_string(env, argv[0], "path");
  if (path == NULL) return NULL;
  if (get_times(env, argv + 1, ts) && utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) != 0) throw_errno(env, errno, "utimensat", path);
  free(path);
  return NULL;
}

// futimens(fd, atimeSec, atimeNsec, mtimeSec, mtimeNsec): futimens(3) on an open descriptor.
static napi_value js_futimens(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  struct timespec ts[2];
  int32_t fd;
  if (!get_args(env, info, 5, argv)) return NULL;
  NAPI_OK(napi_get_value_int32(env, argv[0], &fd));
  if (get_times(env, argv + 1, ts) && futimens(fd, ts) != 0) throw_errno(env, errno, "futimens", NULL);
  return NULL;
}

// createEmpty(path, mode, uid, gid, sec, nsec, what): an empty regular file at `path` with its
// metadata, in one call where the layer applier would make four (open, times, close, and the
// chown/chmod it needs): open(2) with O_CREAT|O_EXCL|O_NOFOLLOW (never follows, never reuses),
// then fchown when `what & 1`, fchmod(mode) when `what & 2`, futimens (atime = mtime), close.
// In that order, the applier's (chown clears setuid/setgid: chmod comes after it).
static napi_value js_create_empty(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  uint32_t mode, uid, gid, what;
  int64_t sec, nsec;
  if (!get_args(env, info, 7, argv)) return NULL;
  if (!get_u32(env, argv[1], &mode) || !get_u32(env, argv[2], &uid) || !get_u32(env, argv[3], &gid) || !get_i64(env, argv[4], &sec) ||
      !get_i64(env, argv[5], &nsec) || !get_u32(env, argv[6], &what)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "createEmpty(path, mode, uid, gid, sec, nsec, what) takes numbers");
    return NULL;
  }
  char *path = get_string(env, argv[0], "path");
  if (path == NULL) return NULL;
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777);
  if (fd < 0) {
    throw_errno(env, errno, "open", path);
    free(path);
    return NULL;
  }
  const char *failed = NULL;
  struct timespec ts[2] = {{.tv_sec = sec, .tv_nsec = nsec}, {.tv_sec = sec, .tv_nsec = nsec}};
  if ((what & 1) && fchown(fd, uid, gid) != 0) failed = "fchown";
  else if ((what & 2) && fchmod(fd, mode & 07777) != 0) failed = "fchmod";
  else if (futimens(fd, ts) != 0) failed = "futimens";
  int err = errno;
  close(fd);
  if (failed != NULL) throw_errno(env, err, failed, path);
  free(path);
  return NULL;
}

// seqpacketConnect(path): a blocking, close-on-exec AF_UNIX SOCK_SEQPACKET socket connected to
// `path`; returns its descriptor. A path too long for sun_path (108 bytes) is reached through its
// directory: the directory is opened (O_PATH) and the socket addressed as
// /proc/self/fd/<dirfd>/<name>, conmon's own trick for its attach socket.
static napi_value js_seqpacket_connect(napi_env env, napi_callback_info info) {
  napi_value argv[1], result = NULL;
  struct sockaddr_un addr;
  int dirfd = -1, fd = -1, rc;
  if (!get_args(env, info, 1, argv)) return NULL;
  char *path = get_string(env, argv[0], "path");
  if (path == NULL) return NULL;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (strlen(path) < sizeof addr.sun_path) {
    memcpy(addr.sun_path, path, strlen(path));
  } else {
    char *slash = strrchr(path, '/');
    const char *name = slash == NULL ? path : slash + 1;
    if (slash != NULL) *slash = '\0';
    const char *dir = slash == NULL ? "." : (slash == path ? "/" : path);
    dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (slash != NULL) *slash = '/';
    if (dirfd < 0) {
      throw_errno(env, errno, "open", path);
      goto out;
    }
    if (snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dirfd, name) >= (int)sizeof addr.sun_path) {
      throw_errno(env, ENAMETOOLONG, "connect", path);
      goto out;
    }
  }
  fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, errno, "socket", path);
    goto out;
  }
  do rc = connect(fd, (struct sockaddr *)&addr, sizeof addr);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    throw_errno(env, errno, "connect", path);
    close(fd);
    goto out;
  }
  if (napi_create_int32(env, fd, &result) != napi_ok) {
    close(fd);
    result = NULL;
  }
out:
  if (dirfd >= 0) close(dirfd);
  free(path);
  return result;
}

// shutdown(fd, how): shutdown(2) with SHUT_RD, SHUT_WR or SHUT_RDWR; a blocked read on the
// socket then returns end-of-file.
static napi_value js_shutdown(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd, how;
  if (!get_args(env, info, 2, argv)) return NULL;
  NAPI_OK(napi_get_value_int32(env, argv[0], &fd));
  NAPI_OK(napi_get_value_int32(env, argv[1], &how));
  if (shutdown(fd, how) != 0) throw_errno(env, errno, "shutdown", NULL);
  return NULL;
}

// fallocate(fd, mode, offset, length): fallocate(2), e.g. FALLOC_FL_INSERT_RANGE to open a hole of
// `length` bytes at `offset` that moves the rest of the file up without copying it.
static napi_value js_fallocate(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd, mode;
  int64_t offset, length;
  if (!get_args(env, info, 4, argv)) return NULL;
  NAPI_OK(napi_get_value_int32(env, argv[0], &fd));
  NAPI_OK(napi_get_value_int32(env, argv[1], &mode));
  NAPI_OK(napi_get_value_int64(env, argv[2], &offset));
  NAPI_OK(napi_get_value_int64(env, argv[3], &length));
  int rc;
  do rc = fallocate(fd, mode, offset, length);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) throw_errno(env, errno, "fallocate", NULL);
  return NULL;
}

// Copies `length` bytes from in_fd at in_off to out_fd at out_off with copy_file_range(2), looping
// over short copies. Returns the bytes copied (less than `length` only at the source's end), or -1
// with errno set.
static int64_t copy_range(int in_fd, int64_t in_off, int out_fd, int64_t out_off, int64_t length) {
  int64_t done = 0;
  while (done < length) {
    loff_t a = in_off + done, b = out_off + done;
    ssize_t n = copy_file_range(in_fd, &a, out_fd, &b, (size_t)(length - done), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    done += n;
  }
  return done;
}

struct copy_args {
  int in_fd, out_fd;
  int64_t in_off, out_off, length, copied;
  int err;
};

static bool get_copy_args(napi_env env, napi_value *argv, struct copy_args *c) {
  memset(c, 0, sizeof *c);
  return napi_get_value_int32(env, argv[0], &c->in_fd) == napi_ok && napi_get_value_int64(env, argv[1], &c->in_off) == napi_ok &&
         napi_get_value_int32(env, argv[2], &c->out_fd) == napi_ok && napi_get_value_int64(env, argv[3], &c->out_off) == napi_ok &&
         napi_get_value_int64(env, argv[4], &c->length) == napi_ok;
}

// copyFileRange(inFd, inOffset, outFd, outOffset, length): bytes copied (in-kernel, no user copy).
static napi_value js_copy_file_range(napi_env env, napi_callback_info info) {
  napi_value argv[5], result;
  struct copy_args c;
  if (!get_args(env, info, 5, argv)) return NULL;
  if (!get_copy_args(env, argv, &c)) {
    throw_napi_failure(env);
    return NULL;
  }
  int64_t n = copy_range(c.in_fd, c.in_off, c.out_fd, c.out_off, c.length);
  if (n < 0) return throw_errno(env, errno, "copy_file_range", NULL);
  NAPI_OK(napi_create_int64(env, n, &result));
  return result;
}

// The async form: the copy runs on libuv's thread pool; the promise resolves with the bytes copied.
struct copy_work {
  struct copy_args args;
  napi_async_work work;
  napi_deferred deferred;
};

static void copy_execute(napi_env env, void *data) {
  struct copy_work *w = data;
  int64_t n = copy_range(w->args.in_fd, w->args.in_off, w->args.out_fd, w->args.out_off, w->args.length);
  if (n < 0) w->args.err = errno;
  else w->args.copied = n;
}

static void copy_complete(napi_env env, napi_status status, void *data) {
  struct copy_work *w = data;
  napi_value value;
  if (status == napi_ok && w->args.err == 0) {
    napi_create_int64(env, w->args.copied, &value);
    napi_resolve_deferred(env, w->deferred, value);
  } else {
    napi_value msg, key;
    int err = status == napi_ok ? w->args.err : ECANCELED;
    napi_create_string_utf8(env, "copy_file_range", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &value);
    napi_create_int32(env, -err, &key);
    napi_set_named_property(env, value, "errno", key);
    napi_set_named_property(env, value, "syscall", msg);
    napi_reject_deferred(env, w->deferred, value);
  }
  napi_delete_async_work(env, w->work);
  free(w);
}

static napi_value js_copy_file_range_async(napi_env env, napi_callback_info info) {
  napi_value argv[5], promise, name;
  if (!get_args(env, info, 5, argv)) return NULL;
  struct copy_work *w = calloc(1, sizeof *w);
  if (w == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  if (!get_copy_args(env, argv, &w->args) || napi_create_promise(env, &w->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "berth.copyFileRange", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, copy_execute, copy_complete, w, &w->work) != napi_ok) {
    free(w);
    throw_napi_failure(env);
    return NULL;
  }
  if (napi_queue_async_work(env, w->work) != napi_ok) {
    napi_delete_async_work(env, w->work);
    free(w);
    throw_napi_failure(env);
    return NULL;
  }
  return promise;
}

// syncFileRange(fd, offset, nbytes, flags): sync_file_range(2) (SYNC_FILE_RANGE_WRITE starts
// writeback without waiting, so a later fsync finds less to do).
static napi_value js_sync_file_range(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd;
  uint32_t flags;
  int64_t offset, nbytes;
  if (!get_args(env, info, 4, argv)) return NULL;
  NAPI_OK(napi_get_value_int32(env, argv[0], &fd));
  NAPI_OK(napi_get_value_int64(env, argv[1], &offset));
  NAPI_OK(napi_get_value_int64(env, argv[2], &nbytes));
  NAPI_OK(napi_get_value_uint32(env, argv[3], &flags));
  int rc;
  do rc = sync_file_range(fd, offset, nbytes, flags);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) throw_errno(env, errno, "sync_file_range", NULL);
  return NULL;
}

// fadvise(fd, offset, length, advice): posix_fadvise(2), which returns the error instead of setting errno.
static napi_value js_fadvise(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd, advice;
  int64_t offset, length;
  if (!get_args(env, info, 4, argv)) return NULL;
  NAPI_OK(napi_get_value_int32(env, argv[0], &fd));
  NAPI_OK(napi_get_value_int64(env, argv[1], &offset));
  NAPI_OK(napi_get_value_int64(env, argv[2], &length));
  NAPI_OK(napi_get_value_int32(env, argv[3], &advice));
  int rc = posix_fadvise(fd, offset, length, advice);
  if (rc != 0) throw_errno(env, rc, "posix_fadvise", NULL);
  return NULL;
}

// inotifyWatch(dir, mask): a non-blocking inotify descriptor watching directory `dir` for the
// events in `mask`. The caller closes it (fs.closeSync).
static napi_value js_inotify_watch(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t mask;
  if (!get_args(env, info, 2, argv)) return NULL;
  char *dir = get_string(env, argv[0], "dir");
  if (!dir) return NULL;
  if (napi_get_value_uint32(env, argv[1], &mask) != napi_ok) {
    free(dir);
    throw_napi_failure(env);
    return NULL;
  }
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    throw_errno(env, errno, "inotify_init1", dir);
    free(dir);
    return NULL;
  }
  if (inotify_add_watch(fd, dir, mask | IN_ONLYDIR) < 0) {
    int err = errno;
    close(fd);
    throw_errno(env, err, "inotify_add_watch", dir);
    free(dir);
    return NULL;
  }
  free(dir);
  napi_value out;
  NAPI_OK(napi_create_int32(env, fd, &out));
  return out;
}

// inotifyRead(fd): the events queued on inotify descriptor `fd`, as a flat array
// [mask, name, mask, name, ...] (name '' for the directory itself or IN_Q_OVERFLOW); empty when
// none is queued (EAGAIN).
static napi_value js_inotify_read(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv)) return NULL;
  NAPI_OK(napi_get_value_int32(env, argv[0], &fd));
  napi_value out;
  NAPI_OK(napi_create_array(env, &out));
  uint32_t count = 0;
  char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) return throw_errno(env, errno, "read", NULL);
    if (n == 0) break;
    for (char *p = buf; p < buf + n;) {
      const struct inotify_event *e = (const struct inotify_event *)p;
      napi_value mask, name;
      NAPI_OK(napi_create_uint32(env, e->mask, &mask));
      NAPI_OK(napi_create_string_utf8(env, e->len > 0 ? e->name : "", NAPI_AUTO_LENGTH, &name));
      NAPI_OK(napi_set_element(env, out, count++, mask));
      NAPI_OK(napi_set_element(env, out, count++, name));
      p += sizeof(struct inotify_event) + e->len;
    }
  }
  return out;
}

// linkUp(nsPath, name): set IFF_UP on link `name` in the network namespace at `nsPath` (a pin or
// /proc/<pid>/ns/net). setns(2) changes the calling thread only, so it runs in a thread made for
// it, which ends afterwards: no other thread of the process ever sees the other namespace.
struct link_up {
  int ns_fd;
  const char *name;
  int err;
  const char *syscall;
};

// Sets IFF_UP on link `name` of the calling thread's network namespace (one already up is left
// alone). Shared by linkUp (after setns) and pinNamespaces (`lo` of a new namespace).
// @returns 0, or an errno with the failing call in *syscall.
static int set_link_up(const char *name, const char **syscall) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) {
    *syscall = "socket";
    return errno;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  int err = 0;
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) != 0) {
    err = errno;
  } else if (!(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(sock, SIOCSIFFLAGS, &ifr) != 0) err = errno;
  }
  if (err != 0) *syscall = "ioctl";
  close(sock);
  return err;
}

static void *link_up_thread(void *data) {
  struct link_up *l = data;
  if (setns(l->ns_fd, CLONE_NEWNET) != 0) {
    l->err = errno;
    l->syscall = "setns";
    return NULL;
  }
  l->err = set_link_up(l->name, &l->syscall);
  return NULL;
}

static napi_value js_link_up(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  char *path = get_string(env, argv[0], "nsPath");
  if (path == NULL) return NULL;
  char *name = get_string(env, argv[1], "name");
  if (name == NULL) {
    free(path);
    return NULL;
  }
  struct link_up l = {.ns_fd = -1, .name = name, .err = 0, .syscall = NULL};
  if (strlen(name) >= IFNAMSIZ) {
    l.err = EINVAL;
    l.syscall = "ioctl";
  } else if ((l.ns_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
    l.err = errno;
    l.syscall = "open";
  } else {
    pthread_t thread;
    int rc = pthread_create(&thread, NULL, link_up_thread, &l);
    if (rc != 0) {
      l.err = rc;
      l.syscall = "pthread_create";
    } else {
      pthread_join(thread, NULL);
    }
  }
  if (l.ns_fd >= 0) close(l.ns_fd);
  if (l.err != 0) throw_errno(env, l.err, l.syscall, path);
  free(path);
  free(name);
  return NULL;
}

// pinNamespaces(net, ipc, uts, hostname): new namespaces of the kinds whose pin file is given
// (null: not made), pinned by bind-mounting their nsfs handles onto those files (which must
// exist). Done in a thread of its own: unshare(2) of net, ipc and uts moves only the calling
// thread, so Node's threads stay where they are, and the namespaces live on in the mounts once the
// thread is gone. In the new uts namespace `hostname` is set; in the new net namespace `lo` is
// brought up (what CNI's loopback plugin does). On failure the mounts made are undone.
struct pin_job {
  const char *files[3]; // net, ipc, uts
  const char *hostname;
  int err;
  const char *syscall;
  const char *path;
};

static const char *const pin_kinds[3] = {"net", "ipc", "uts"};
static const int pin_flags[3] = {CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS};

static void *pin_thread(void *arg) {
  struct pin_job *job = arg;
  int flags = 0, mounted = 0;
  for (int i = 0; i < 3; i++)
    if (job->files[i] != NULL) flags |= pin_flags[i];
  if (unshare(flags) != 0) {
    job->err = errno, job->syscall = "unshare";
    return NULL;
  }
  if (job->files[2] != NULL && job->hostname != NULL && sethostname(job->hostname, strlen(job->hostname)) != 0) {
    job->err = errno, job->syscall = "sethostname";
    return NULL;
  }
  if (job->files[0] != NULL && (job->err = set_link_up("lo", &job->syscall)) != 0) {
    job->path = "lo";
    return NULL;
  }
  for (int i = 0; i < 3; i++) {
    if (job->files[i] == NULL) continue;
    char source[64];
    snprintf(source, sizeof source, "/proc/thread-self/ns/%s", pin_kinds[i]);
    if (mount(source, job->files[i], NULL, MS_BIND, NULL) != 0) {
      job->err = errno, job->syscall = "mount", job->path = job->files[i];
      for (int j = 0; j < i; j++)
        if (mounted & (1 << j)) umount2(job->files[j], MNT_DETACH);
      return NULL;
    }
    mounted |= 1 << i;
  }
  return NULL;
}

static napi_value js_pin_namespaces(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  bool ok = true;
  char *strings[4] = {NULL, NULL, NULL, NULL};
  const char *what[4] = {"net", "ipc", "uts", "hostname"};
  if (!get_args(env, info, 4, argv)) return NULL;
  for (int i = 0; i < 4 && ok; i++) strings[i] = get_optional_string(env, argv[i], what[i], &ok);
  if (ok) {
    struct pin_job job = {.files = {strings[0], strings[1], strings[2]}, .hostname = strings[3], .err = 0, .syscall = NULL, .path = NULL};
    pthread_t thread;
    int rc = pthread_create(&thread, NULL, pin_thread, &job);
    if (rc != 0) job.err = rc, job.syscall = "pthread_create";
    else pthread_join(thread, NULL);
    if (job.err != 0) throw_errno(env, job.err, job.syscall, job.path);
  }
  for (int i = 0; i < 4; i++) free(strings[i]);
  return NULL;
}

static void set_number(napi_env env, napi_value obj, const char *name, double value) {
  napi_value v;
  if (napi_create_double(env, value, &v) == napi_ok) napi_set_named_property(env, obj, name, v);
}

// realtimeMicros(): CLOCK_REALTIME in unix microseconds. Node's one wall clock finer than
// Date.now() is performance.timeOrigin + performance.now(), and the first use of `performance`
// loads perf_hooks: about 1 ms of every command that records an event.
static napi_value js_realtime_micros(napi_env env, napi_callback_info info) {
  (void)info;
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
    throw_errno(env, errno, "clock_gettime", NULL);
    return NULL;
  }
  napi_value out;
  NAPI_OK(napi_create_double(env, (double)ts.tv_sec * 1e6 + (double)(ts.tv_nsec / 1000), &out));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  const napi_property_descriptor functions[] = {
      {"mknod", NULL, js_mknod, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lsetxattr", NULL, js_lsetxattr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lgetxattr", NULL, js_lgetxattr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"llistxattr", NULL, js_llistxattr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lremovexattr", NULL, js_lremovexattr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mount", NULL, js_mount, NULL, NULL, NULL, napi_enumerable, NULL},
      {"umount", NULL, js_umount, NULL, NULL, NULL, napi_enumerable, NULL},
      {"flock", NULL, js_flock, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lutimens", NULL, js_lutimens, NULL, NULL, NULL, napi_enumerable, NULL},
      {"futimens", NULL, js_futimens, NULL, NULL, NULL, napi_enumerable, NULL},
      {"createEmpty", NULL, js_create_empty, NULL, NULL, NULL, napi_enumerable, NULL},
      {"seqpacketConnect", NULL, js_seqpacket_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"shutdown", NULL, js_shutdown, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fallocate", NULL, js_fallocate, NULL, NULL, NULL, napi_enumerable, NULL},
      {"copyFileRange", NULL, js_copy_file_range, NULL, NULL, NULL, napi_enumerable, NULL},
      {"copyFileRangeAsync", NULL, js_copy_file_range_async, NULL, NULL, NULL, napi_enumerable, NULL},
      {"syncFileRange", NULL, js_sync_file_range, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fadvise", NULL, js_fadvise, NULL, NULL, NULL, napi_enumerable, NULL},
      {"inotifyWatch", NULL, js_inotify_watch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"inotifyRead", NULL, js_inotify_read, NULL, NULL, NULL, napi_enumerable, NULL},
      {"linkUp", NULL, js_link_up, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pinNamespaces", NULL, js_pin_namespaces, NULL, NULL, NULL, napi_enumerable, NULL},
      {"realtimeMicros", NULL, js_realtime_micros, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions) != napi_ok) return NULL;

  // The constants callers combine, with this platform's values.
  napi_value constants;
  if (napi_create_object(env, &constants) != napi_ok) return NULL;
  set_number(env, constants, "S_IFCHR", S_IFCHR);
  set_number(env, constants, "S_IFBLK", S_IFBLK);
  set_number(env, constants, "S_IFIFO", S_IFIFO);
  set_number(env, constants, "MS_RDONLY", MS_RDONLY);
  set_number(env, constants, "MS_NOSUID", MS_NOSUID);
  set_number(env, constants, "MS_NODEV", MS_NODEV);
  set_number(env, constants, "MS_NOEXEC", MS_NOEXEC);
  set_number(env, constants, "MS_REMOUNT", MS_REMOUNT);
  set_number(env, constants, "MS_BIND", MS_BIND);
  set_number(env, constants, "MS_REC", MS_REC);
  set_number(env, constants, "MS_PRIVATE", MS_PRIVATE);
  set_number(env, constants, "MNT_FORCE", MNT_FORCE);
  set_number(env, constants, "MNT_DETACH", MNT_DETACH);
  set_number(env, constants, "MNT_EXPIRE", MNT_EXPIRE);
  set_number(env, constants, "UMOUNT_NOFOLLOW", UMOUNT_NOFOLLOW);
  set_number(env, constants, "LOCK_SH", LOCK_SH);
  set_number(env, constants, "LOCK_EX", LOCK_EX);
  set_number(env, constants, "LOCK_NB", LOCK_NB);
  set_number(env, constants, "LOCK_UN", LOCK_UN);
  set_number(env, constants, "SHUT_RD", SHUT_RD);
  set_number(env, constants, "SHUT_WR", SHUT_WR);
  set_number(env, constants, "SHUT_RDWR", SHUT_RDWR);
  set_number(env, constants, "FALLOC_FL_INSERT_RANGE", FALLOC_FL_INSERT_RANGE);
  set_number(env, constants, "SYNC_FILE_RANGE_WAIT_BEFORE", SYNC_FILE_RANGE_WAIT_BEFORE);
  set_number(env, constants, "SYNC_FILE_RANGE_WRITE", SYNC_FILE_RANGE_WRITE);
  set_number(env, constants, "SYNC_FILE_RANGE_WAIT_AFTER", SYNC_FILE_RANGE_WAIT_AFTER);
  set_number(env, constants, "POSIX_FADV_SEQUENTIAL", POSIX_FADV_SEQUENTIAL);
  set_number(env, constants, "POSIX_FADV_WILLNEED", POSIX_FADV_WILLNEED);
  set_number(env, constants, "POSIX_FADV_DONTNEED", POSIX_FADV_DONTNEED);
  set_number(env, constants, "IN_MODIFY", IN_MODIFY);
  set_number(env, constants, "IN_ATTRIB", IN_ATTRIB);
  set_number(env, constants, "IN_CLOSE_WRITE", IN_CLOSE_WRITE);
  set_number(env, constants, "IN_MOVED_FROM", IN_MOVED_FROM);
  set_number(env, constants, "IN_MOVED_TO", IN_MOVED_TO);
  set_number(env, constants, "IN_CREATE", IN_CREATE);
  set_number(env, constants, "IN_DELETE", IN_DELETE);
  set_number(env, constants, "IN_Q_OVERFLOW", IN_Q_OVERFLOW);
  napi_set_named_property(env, exports, "constants", constants);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
