# node-gyp build of Berth's own native addon (native/berth.c -> build/Release/berth.node).
# scripts/build-native.mjs runs it with the local Node headers, so no download is needed.
{
  "targets": [
    {
      "target_name": "berth",
      "sources": ["native/berth.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
