# node-gyp build of Berth's native parts: the addon (native/berth.c -> build/Release/berth.node)
# and conmon's exit command for plain detached tasks (native/exit-recorder.c -> berth-exit), which
# links the SQLite that better-sqlite3 ships, compiled once here as a static library.
# scripts/build-native.mjs runs it with the local Node headers, so no download is needed.
{
  "targets": [
    {
      "target_name": "berth",
      "sources": ["native/berth.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    },
    {
      "target_name": "berth_sqlite",
      "type": "static_library",
      "sources": ["node_modules/better-sqlite3/deps/sqlite3/sqlite3.c"],
      "cflags": ["-O2", "-w"],
      "defines": [
        "SQLITE_THREADSAFE=0",
        "SQLITE_OMIT_LOAD_EXTENSION",
        "SQLITE_DEFAULT_MEMSTATUS=0",
        "SQLITE_OMIT_DEPRECATED",
        "SQLITE_OMIT_SHARED_CACHE"
      ]
    },
    {
      "target_name": "berth-exit",
      "type": "executable",
      "dependencies": ["berth_sqlite"],
      "sources": ["native/exit-recorder.c"],
      "include_dirs": ["node_modules/better-sqlite3/deps/sqlite3"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "libraries": ["-lm"]
    }
  ]
}
