#version 450
// Layout kernels, one invocation per element.
//   TRANSPOSE  out[a,c,r,e] = inp[a,r,c,e] (or +=)     b0 out, b1 inp
//              (the backward is the same map with R and C exchanged)
//   PATCHIFY   patches[tok, k] <-> video[b,t,y,x,c]   b0 patches, b1 video
//              dir 0: patches = video; dir 1: video += patches (tubelets never overlap)
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(std430, binding = 0) buffer Buf0 { float b0[]; };
layout(std430, binding = 1) buffer Buf1 { float b1[]; };

#if defined(TRANSPOSE)
layout(push_constant) uniform Push {
  uint off[8];
  uint A, R, C, E;
  uint accumulate;
} pc;
#else
layout(push_constant) uniform Push {
  uint off[8];
  uint B, T, H, W, Cin, pt, p;
  uint dir;
} pc;
#endif

void
main ()
{
#if defined(TRANSPOSE)
  uint n = pc.A * pc.R * pc.C * pc.E;
  for (uint i = sv_gid (); i < n; i += sv_gstride ()) {
    // i indexes out [A, C, R, E]
    uint e = i % pc.E, t = i / pc.E;
    uint r = t % pc.R;
    t /= pc.R;
    uint c = t % pc.C, a = t / pc.C;
    float v = b1[pc.off[1] + ((a * pc.R + r) * pc.C + c) * pc.E + e];
    if (pc.accumulate != 0u)
      v += b0[pc.off[0] + i];
    b0[pc.off[0] + i] = v;
  }
#elif defined(PATCHIFY)
  uint Tp = pc.T / pc.pt, Hp = pc.H / pc.p, Wp = pc.W / pc.p;
  uint K = pc.pt * pc.p * pc.p * pc.Cin;
  uint n = pc.B * Tp * Hp * Wp * K;
  for (uint i = sv_gid (); i < n; i += sv_gstride ()) {
    uint tok = i / K, k = i % K;
    uint c = k % pc.Cin, t = k / pc.Cin;
    uint dx = t % pc.p;
    t /= pc.p;
    uint dy = t % pc.p, dt = t / pc.p;
    uint xq = tok % Wp;
    t = tok / Wp;
    uint yq = t % Hp;
    t /= Hp;
    uint tq = t % Tp, b = t / Tp;
    uint vi = ((((b * pc.T + tq * pc.pt + dt) * pc.H + yq * pc.p + dy) * pc.W + xq * pc.p + dx) *
               pc.Cin) +
              c;
    if (pc.dir == 0u)
      b0[pc.off[0] + i] = b1[pc.off[1] + vi];
    else
      b1[pc.off[1] + vi] += b0[pc.off[0] + i];
  }
#else
#error no kernel selected
#endif
}
