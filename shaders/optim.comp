#version 450
// Optimiser updates on the device (svilm-core/sv-optim.c has the formulas and
// the host path they must match).
//
//   OPTIM_SSQ_PARTIAL  b0 partial[2 * groups], b1 grad[n]: each workgroup's share
//     of sum grad^2 as a double-float (hi, lo); squares rounded to float (all
//     positive: relative error <= 2^-24 in all), sums compensated.
//   OPTIM_SSQ_FINAL    b0 out[2], b1 partial[2 * groups]; one workgroup: the
//     double-float total.  The host adds hi + lo in double.
//   OPTIM_SGD          b0 x, b1 grad, b2 momentum buffer
//   OPTIM_ADAMW        b0 x, b1 grad, b2 exp_avg, b3 exp_avg_sq
//     one invocation per element, the host's operations in the host's order and
//     unfused (`precise`), so SGD gives the host's bits and AdamW differs only by
//     the rounding of sqrt and the division.
#extension GL_GOOGLE_include_directive : require
#define SV_DD
#include "common.glsl"

layout(std430, binding = 0) buffer Buf0 { float b0[]; };
layout(std430, binding = 1) buffer Buf1 { float b1[]; };
layout(std430, binding = 2) buffer Buf2 { float b2[]; };
layout(std430, binding = 3) buffer Buf3 { float b3[]; };

#if defined(OPTIM_SSQ_PARTIAL) || defined(OPTIM_SSQ_FINAL)

layout(push_constant) uniform Push {
  uint off[8];
  uint n; // elements (partial) or partial pairs (final)
} pc;

shared vec2 red[WG];

// the workgroup's double-float sum, fixed tree order (deterministic)
vec2
wg_sum_dd (vec2 v)
{
  uint t = gl_LocalInvocationID.x;
  red[t] = v;
  barrier ();
  for (uint s = WG / 2u; s > 0u; s >>= 1u) {
    if (t < s)
      red[t] = dd_add (red[t], red[t + s]);
    barrier ();
  }
  return red[0];
}

void
main ()
{
  vec2 acc = vec2 (0.0);
#if defined(OPTIM_SSQ_PARTIAL)
  for (uint e = sv_gid (); e < pc.n; e += sv_gstride ()) {
    precise float g = b1[pc.off[1] + e];
    precise float sq = g * g;
    acc = dd_add (acc, vec2 (sq, 0.0));
  }
  vec2 s = wg_sum_dd (acc);
  if (gl_LocalInvocationID.x == 0u) {
    b0[pc.off[0] + 2u * sv_group ()] = s.x;
    b0[pc.off[0] + 2u * sv_group () + 1u] = s.y;
  }
#else
  for (uint i = gl_LocalInvocationID.x; i < pc.n; i += WG)
    acc = dd_add (acc, vec2 (b1[pc.off[1] + 2u * i], b1[pc.off[1] + 2u * i + 1u]));
  vec2 s = wg_sum_dd (acc);
  if (gl_LocalInvocationID.x == 0u) {
    b0[pc.off[0]] = s.x;
    b0[pc.off[0] + 1u] = s.y;
  }
#endif
}

#elif defined(OPTIM_SGD)

layout(push_constant) uniform Push {
  uint off[8];
  uint n;
  float lr, gscale, wd, mom;
  uint first;
} pc;

void
main ()
{
  for (uint e = sv_gid (); e < pc.n; e += sv_gstride ()) {
    // g' = g * gscale + wd * p;  buf = mom * buf + g' (g' at first);  p -= lr * buf
    precise float x = b0[pc.off[0] + e];
    precise float g = b1[pc.off[1] + e] * pc.gscale;
    if (pc.wd != 0.0)
      g = g + pc.wd * x;
    precise float buf = pc.first != 0u ? g : pc.mom * b2[pc.off[2] + e] + g;
    b2[pc.off[2] + e] = buf;
    precise float nx = x - pc.lr * buf;
    b0[pc.off[0] + e] = nx;
  }
}

#elif defined(OPTIM_ADAMW)

layout(push_constant) uniform Push {
  uint off[8];
  uint n;
  float gscale, wd_mul, beta1, omb1, beta2, omb2, eps, step_size, bc2_sqrt;
} pc;

void
main ()
{
  for (uint e = sv_gid (); e < pc.n; e += sv_gstride ()) {
    // p *= wd_mul;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
    // p -= step_size * m / (sqrt(v) / bc2_sqrt + eps)
    precise float g = b1[pc.off[1] + e] * pc.gscale;
    precise float p = b0[pc.off[0] + e] * pc.wd_mul;
    precise float m = b2[pc.off[2] + e] * pc.beta1 + g * pc.omb1;
    precise float v = b3[pc.off[3] + e] * pc.beta2 + pc.omb2 * g * g;
    b2[pc.off[2] + e] = m;
    b3[pc.off[3] + e] = v;
    precise float denom = sqrt (v) / pc.bc2_sqrt + pc.eps;
    precise float nx = p - pc.step_size * (m / denom);
    b0[pc.off[0] + e] = nx;
  }
}

#else
#error no kernel selected
#endif
