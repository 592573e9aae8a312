# Builds the ENet addon. ENet itself comes from the pinned npm package
# `enet.c` (a zpl-c single header): src/enet-impl.c compiles its
# implementation, nothing from it is copied into this repository.
{
  'targets': [
    {
      'target_name': 'netpeer_enet',
      'sources': [
        'src/addon.cc',
        'src/enet-host.cc',
        'src/enet-impl.c',
        'src/impairment.c',
        'src/receive-batch.c',
        'src/send-batch.c',
      ],
      'include_dirs': [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node -p \"require('path').dirname(require.resolve('enet.c/package.json'))\")/include",
      ],
      'defines': [
        # Pinned so one build loads in every Node/Electron with Node-API >= 8.
        'NAPI_VERSION=8',
        'NAPI_DISABLE_CPP_EXCEPTIONS',
        'NODE_ADDON_API_DISABLE_DEPRECATED',
      ],
      # Node's common.gypi already gives -O3 -Wall -Wextra -Wno-unused-parameter
      # and -fno-exceptions; these make our requirements explicit anyway.
      'cflags': ['-O3', '-fvisibility=hidden'],
      'cflags_cc': ['-fno-exceptions'],
      # ENet's own code is C99 with GNU extensions (it builds warning-free
      # under Node's flags, so no warning is silenced).
      'cflags_c': ['-std=gnu99'],
      'conditions': [
        ['OS=="mac"', {
          'xcode_settings': {
            'GCC_ENABLE_CPP_EXCEPTIONS': 'NO',
            'GCC_SYMBOLS_PRIVATE_EXTERN': 'YES',
            'GCC_OPTIMIZATION_LEVEL': '3',
            'CLANG_CXX_LIBRARY': 'libc++',
            'MACOSX_DEPLOYMENT_TARGET': '10.15',
          },
        }],
        ['OS=="win"', {
          'libraries': ['ws2_32.lib', 'winmm.lib'],
          'msvs_settings': {
            'VCCLCompilerTool': { 'ExceptionHandling': 0 },
          },
        }],
      ],
    },
  ],
}
