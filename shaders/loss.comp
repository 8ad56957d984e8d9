#version 450
// Losses.  The scalar results are reduced in two fixed-order stages (partial
// sums here, then SUM_FINAL in reduce.comp), so they are deterministic.
//   XENT_FWD     per row: probs = softmax(logits), rowloss[r] = sum_j t (lse - x)
//                b0 probs, b1 rowloss, b2 logits, b3 targets
//   XENT_BWD     per row: dlogits += dloss / N * (p * sum t - t)
//                b0 dlogits, b1 dloss, b2 probs, b3 targets
//   MSE_PARTIAL  partial[group] = sum (a - b)^2 over the group's grid-stride share
//                b0 partial, b1 a, b2 b
//   MSE_BWD      g = 2 dloss (a - b) / n; da += g; db -= g
//                b0 da, b1 db, b2 dloss, b3 a, b4 b
#extension GL_GOOGLE_include_directive : require
#define SV_WG_REDUCE
#include "common.glsl"

layout(std430, binding = 0) buffer Buf0 { float b0[]; };
layout(std430, binding = 1) buffer Buf1 { float b1[]; };
layout(std430, binding = 2) buffer Buf2 { float b2[]; };
layout(std430, binding = 3) buffer Buf3 { float b3[]; };
layout(std430, binding = 4) buffer Buf4 { float b4[]; };

layout(push_constant) uniform Push {
  uint off[8];
  uint N, C; // MSE: N = element count
  uint flags; // MSE_BWD: 1 = da, 2 = db
} pc;

void
main ()
{
  uint tid = gl_LocalInvocationID.x;
#if defined(XENT_FWD)
  for (uint r = sv_group (); r < pc.N; r += sv_ngroups ()) {
    uint xb = pc.off[2] + r * pc.C, tb = pc.off[3] + r * pc.C, pb = pc.off[0] + r * pc.C;
    float mx = SV_NEG_BIG;
    for (uint c = tid; c < pc.C; c += WG)
      mx = max (mx, b2[xb + c]);
    mx = wg_max (mx);
    float s = 0.0;
    for (uint c = tid; c < pc.C; c += WG)
      s += exp (b2[xb + c] - mx);
    s = wg_sum (s);
    float inv = 1.0 / s, lse = mx + log (s);
    float row = 0.0;
    for (uint c = tid; c < pc.C; c += WG) {
      float x = b2[xb + c], t = b3[tb + c];
      b0[pb + c] = exp (x - mx) * inv;
      if (t != 0.0)
        row += t * (lse - x);
    }
    row = wg_sum (row);
    if (tid == 0u)
      b1[pc.off[1] + r] = row;
  }
#elif defined(XENT_BWD)
  float scale = b1[pc.off[1]] / float (pc.N);
  for (uint r = sv_group (); r < pc.N; r += sv_ngroups ()) {
    uint tb = pc.off[3] + r * pc.C, pb = pc.off[2] + r * pc.C, gb = pc.off[0] + r * pc.C;
    float ts = 0.0;
    for (uint c = tid; c < pc.C; c += WG)
      ts += b3[tb + c];
    ts = wg_sum (ts);
    for (uint c = tid; c < pc.C; c += WG)
      b0[gb + c] += scale * (b2[pb + c] * ts - b3[tb + c]);
  }
#elif defined(MSE_PARTIAL)
  float s = 0.0;
  for (uint i = sv_gid (); i < pc.N; i += sv_gstride ()) {
    float d = b1[pc.off[1] + i] - b2[pc.off[2] + i];
    s += d * d;
  }
  s = wg_sum (s);
  if (tid == 0u)
    b0[pc.off[0] + sv_group ()] = s;
#elif defined(MSE_BWD)
  float scale = 2.0 * b2[pc.off[2]] / float (pc.N);
  for (uint i = sv_gid (); i < pc.N; i += sv_gstride ()) {
    float g = scale * (b3[pc.off[3] + i] - b4[pc.off[4] + i]);
    if ((pc.flags & 1u) != 0u)
      b0[pc.off[0] + i] += g;
    if ((pc.flags & 2u) != 0u)
      b1[pc.off[1] + i] -= g;
  }
#else
#error no kernel selected
#endif
}
