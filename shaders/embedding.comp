#version 450
// Embedding lookup.
//   EMB_FWD  out[n, c] = table[ids[n], c] (0 for an id outside [0, V))   b0 out, b1 table, b2 ids
//   EMB_BWD  dtable[ids[n], c] += dout[n, c]                               b0 dtable, b1 dout, b2 ids
//            one invocation per (column, range of table rows) walks n in order: no
//            races and the same summation order as the CPU backend
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(std430, binding = 0) buffer Buf0 { float b0[]; };
layout(std430, binding = 1) buffer Buf1 { float b1[]; };
layout(std430, binding = 2) buffer Buf2 { int ids[]; };

layout(push_constant) uniform Push {
  uint off[8];
  uint N, V, C;
  uint chunks; // EMB_BWD: table rows split into this many ranges
} pc;

void
main ()
{
#if defined(EMB_FWD)
  uint n = pc.N * pc.C;
  for (uint i = sv_gid (); i < n; i += sv_gstride ()) {
    uint row = i / pc.C, c = i % pc.C;
    int id = ids[pc.off[2] + row];
    float v = 0.0;
    if (id >= 0 && uint (id) < pc.V)
      v = b1[pc.off[1] + uint (id) * pc.C + c];
    b0[pc.off[0] + i] = v;
  }
#elif defined(EMB_BWD)
  uint n = pc.C * pc.chunks;
  for (uint i = sv_gid (); i < n; i += sv_gstride ()) {
    uint c = i % pc.C, chunk = i / pc.C;
    uint q = pc.V / pc.chunks, rm = pc.V % pc.chunks;
    uint v0 = q * chunk + min (chunk, rm), v1 = v0 + q + (chunk < rm ? 1u : 0u);
    for (uint row = 0u; row < pc.N; row++) {
      int id = ids[pc.off[2] + row];
      if (id < 0 || uint (id) < v0 || uint (id) >= v1)
        continue;
      b0[pc.off[0] + uint (id) * pc.C + c] += b1[pc.off[1] + row * pc.C + c];
    }
  }
#else
#error no kernel selected
#endif
}
