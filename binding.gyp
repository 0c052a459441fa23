{
  "targets": [
    {
      "target_name": "enrolld_tpm",
      "sources": [
        "native/addon.cc",
        "native/tpm_context.cc",
        "native/command.cc",
        "native/commands.cc",
        "native/tls_engine.cc",
        "native/sd_notify.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": ["<!@(pkg-config --libs tss2-esys tss2-tctildr tss2-mu tss2-rc)"],
      "cflags": ["<!@(pkg-config --cflags tss2-esys tss2-tctildr tss2-mu tss2-rc)", "-D_FORTIFY_SOURCE=2", "-fstack-protector-strong"],
      "ldflags": ["-Wl,-z,relro", "-Wl,-z,now"]
    }
  ]
}
