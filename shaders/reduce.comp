#version 450
// Reductions.
//   COLSUM        out[c] = alpha * sum_r in[r, c] (+ beta out[c])     b0 out, b1 in
//                 (a workgroup owns 32 columns, WG/32 lanes walk the rows in order)
//   MEAN_FWD_WG   one workgroup per output: mean over the reduced axes   b0 out, b1 inp
//   MEAN_FWD_SER  one invocation per output (few elements per mean)     b0 out, b1 inp
//   MEAN_BWD      one invocation per input: dinp += dout[kept] * inv     b0 dinp, b1 dout
//   SUM_FINAL     out[0] = scale * sum in[0..n), one workgroup           b0 out, b1 in
// The mean kernels see the shape "collapsed" (size-1 axes dropped, neighbouring
// axes that are both kept or both reduced merged), outer axis first: gs[0..ng),
// bit g of redmask set when group g is reduced.
#extension GL_GOOGLE_include_directive : require
#define SV_WG_REDUCE
#include "common.glsl"

layout(std430, binding = 0) buffer Buf0 { float b0[]; };
layout(std430, binding = 1) buffer Buf1 { float b1[]; };

#if defined(COLSUM) || defined(SUM_FINAL)
layout(push_constant) uniform Push {
  uint off[8];
  uint N, C;
  float alpha, beta;
} pc;
#else
layout(push_constant) uniform Push {
  uint off[8];
  uint ng, redmask, out_n, count;
  float inv;
  uint gs[5];
} pc;

// offset in inp of kept index o and reduced index ri
uint
mean_offset (uint o, uint ri)
{
  uint off = 0u, stride = 1u;
  for (uint k = 0u; k < pc.ng; k++) {
    uint g = pc.ng - 1u - k, sz = pc.gs[g], idx;
    if (((pc.redmask >> g) & 1u) != 0u) {
      idx = ri % sz;
      ri /= sz;
    } else {
      idx = o % sz;
      o /= sz;
    }
    off += idx * stride;
    stride *= sz;
  }
  return off;
}
#endif

#ifdef COLSUM
const uint COLS = 32u;
shared float sacc[WG];
#endif

void
main ()
{
  uint tid = gl_LocalInvocationID.x;
#if defined(COLSUM)
  uint lanes = WG / COLS, col = tid % COLS, lane = tid / COLS;
  uint nblk = (pc.C + COLS - 1u) / COLS;
  for (uint blk = sv_group (); blk < nblk; blk += sv_ngroups ()) {
    uint c = blk * COLS + col;
    float s = 0.0;
    if (c < pc.C)
      for (uint n = lane; n < pc.N; n += lanes)
        s += b1[pc.off[1] + n * pc.C + c];
    sacc[tid] = s;
    barrier ();
    if (lane == 0u && c < pc.C) {
      for (uint l = 1u; l < lanes; l++)
        s += sacc[l * COLS + col];
      float v = pc.alpha * s;
      if (pc.beta != 0.0)
        v += pc.beta * b0[pc.off[0] + c];
      b0[pc.off[0] + c] = v;
    }
    barrier ();
  }
#elif defined(SUM_FINAL)
  if (sv_group () == 0u) {
    float s = 0.0;
    for (uint i = tid; i < pc.N; i += WG)
      s += b1[pc.off[1] + i];
    s = wg_sum (s);
    if (tid == 0u)
      b0[pc.off[0]] = pc.alpha * s;
  }
#elif defined(MEAN_FWD_WG)
  for (uint o = sv_group (); o < pc.out_n; o += sv_ngroups ()) {
    float s = 0.0;
    for (uint ri = tid; ri < pc.count; ri += WG)
      s += b1[pc.off[1] + mean_offset (o, ri)];
    s = wg_sum (s);
    if (tid == 0u)
      b0[pc.off[0] + o] = s * pc.inv;
  }
#elif defined(MEAN_FWD_SER)
  for (uint o = sv_gid (); o < pc.out_n; o += sv_gstride ()) {
    float s = 0.0;
    for (uint ri = 0u; ri < pc.count; ri++)
      s += b1[pc.off[1] + mean_offset (o, ri)];
    b0[pc.off[0] + o] = s * pc.inv;
  }
#elif defined(MEAN_BWD)
  uint n = pc.out_n * pc.count;
  for (uint i = sv_gid (); i < n; i += sv_gstride ()) {
    // kept index of input element i
    uint rem = i, o = 0u, mul = 1u;
    for (uint k = 0u; k < pc.ng; k++) {
      uint g = pc.ng - 1u - k, sz = pc.gs[g];
      uint idx = rem % sz;
      rem /= sz;
      if (((pc.redmask >> g) & 1u) == 0u) {
        o += idx * mul;
        mul *= sz;
      }
    }
    b0[pc.off[0] + i] += b1[pc.off[1] + o] * pc.inv;
  }
#else
#error no kernel selected
#endif
}
