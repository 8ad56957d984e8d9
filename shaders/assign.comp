#version 450
// Grouping assignment over logits[B, M, N] (softmax over the M groups of each
// token, then each group's row normalised by its total + 1).
//   ASSIGN_COL_FWD  per token (b, n): y = softmax_m((logits + noise) * inv_tau), A -> out
//                   b0 out, b1 y, b2 logits, b3 noise
//   ASSIGN_ROW_FWD  per row (b, m), one workgroup: denom = sum_n out + 1, out /= denom
//                   b0 out, b1 denom
//   ASSIGN_ROW_BWD  per row: scratch = sum_n dout * out           b0 scratch, b1 dout, b2 out
//   ASSIGN_COL_BWD  per token: dlogits += inv_tau y (gA - sum_m gA y),
//                   gA = (dout - scratch) / denom
//                   b0 dlogits, b1 dout, b2 y, b3 scratch, b4 denom
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
  uint B, M, N; // row kernels: B = rows, N = row length
  float inv_tau;
  uint flags; // ASSIGN_COL_FWD: 1 = noise, 2 = hard
} pc;

void
main ()
{
  uint tid = gl_LocalInvocationID.x;
#if defined(ASSIGN_COL_FWD)
  uint n_tok = pc.B * pc.N;
  for (uint i = sv_gid (); i < n_tok; i += sv_gstride ()) {
    uint b = i / pc.N, n = i % pc.N;
    uint base = b * pc.M * pc.N + n;
    float mx = SV_NEG_BIG;
    for (uint m = 0u; m < pc.M; m++) {
      uint k = base + m * pc.N;
      float z = b2[pc.off[2] + k];
      if ((pc.flags & 1u) != 0u)
        z += b3[pc.off[3] + k];
      z *= pc.inv_tau;
      b1[pc.off[1] + k] = z;
      mx = max (mx, z);
    }
    float sum = 0.0;
    for (uint m = 0u; m < pc.M; m++) {
      uint k = pc.off[1] + base + m * pc.N;
      float e = exp (b1[k] - mx);
      b1[k] = e;
      sum += e;
    }
    float inv_sum = 1.0 / sum;
    uint best = 0u;
    float bestv = SV_NEG_BIG;
    for (uint m = 0u; m < pc.M; m++) {
      uint k = pc.off[1] + base + m * pc.N;
      float p = b1[k] * inv_sum;
      b1[k] = p;
      if (p > bestv) { // strict: ties go to the lowest m
        bestv = p;
        best = m;
      }
    }
    for (uint m = 0u; m < pc.M; m++) {
      uint k = base + m * pc.N;
      float a = (pc.flags & 2u) != 0u ? (m == best ? 1.0 : 0.0) : b1[pc.off[1] + k];
      b0[pc.off[0] + k] = a;
    }
  }
#elif defined(ASSIGN_ROW_FWD)
  for (uint r = sv_group (); r < pc.B; r += sv_ngroups ()) {
    uint ob = pc.off[0] + r * pc.N;
    float s = 0.0;
    for (uint n = tid; n < pc.N; n += WG)
      s += b0[ob + n];
    float d = wg_sum (s) + 1.0;
    for (uint n = tid; n < pc.N; n += WG)
      b0[ob + n] = b0[ob + n] / d;
    if (tid == 0u)
      b1[pc.off[1] + r] = d;
  }
#elif defined(ASSIGN_ROW_BWD)
  for (uint r = sv_group (); r < pc.B; r += sv_ngroups ()) {
    float s = 0.0;
    for (uint n = tid; n < pc.N; n += WG)
      s += b1[pc.off[1] + r * pc.N + n] * b2[pc.off[2] + r * pc.N + n];
    s = wg_sum (s);
    if (tid == 0u)
      b0[pc.off[0] + r] = s;
  }
#elif defined(ASSIGN_COL_BWD)
  uint n_tok = pc.B * pc.N;
  for (uint i = sv_gid (); i < n_tok; i += sv_gstride ()) {
    uint b = i / pc.N, n = i % pc.N;
    uint base = b * pc.M * pc.N + n;
    float dot = 0.0;
    for (uint m = 0u; m < pc.M; m++) {
      uint k = base + m * pc.N;
      float ga = (b1[pc.off[1] + k] - b3[pc.off[3] + b * pc.M + m]) / b4[pc.off[4] + b * pc.M + m];
      dot += ga * b2[pc.off[2] + k];
    }
    for (uint m = 0u; m < pc.M; m++) {
      uint k = base + m * pc.N;
      float ga = (b1[pc.off[1] + k] - b3[pc.off[3] + b * pc.M + m]) / b4[pc.off[4] + b * pc.M + m];
      b0[pc.off[0] + k] += pc.inv_tau * b2[pc.off[2] + k] * (ga - dot);
    }
  }
#else
#error no kernel selected
#endif
}
