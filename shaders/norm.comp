#version 450
// Row normalisations, one workgroup per row of C (sums in a fixed tree order).
//   LN_FWD       b0 out, b1 mean, b2 rstd, b3 inp, b4 weight, b5 bias   (out may alias inp)
//   LN_BWD_DX    b0 dinp, b1 dout, b2 inp, b3 weight, b4 mean, b5 rstd
//   LN_BWD_DWDB  b0 dweight, b1 dbias, b2 dout, b3 inp, b4 mean, b5 rstd
//                (column kernel: a workgroup owns 32 columns, WG/32 lanes walk the rows)
//   L2_FWD       b0 out, b1 norm, b2 inp                               (out may alias inp)
//   L2_BWD       b0 dinp, b1 dout, b2 out, b3 norm
#extension GL_GOOGLE_include_directive : require
#define SV_WG_REDUCE
#include "common.glsl"

layout(std430, binding = 0) buffer Buf0 { float b0[]; };
layout(std430, binding = 1) buffer Buf1 { float b1[]; };
layout(std430, binding = 2) buffer Buf2 { float b2[]; };
layout(std430, binding = 3) buffer Buf3 { float b3[]; };
layout(std430, binding = 4) buffer Buf4 { float b4[]; };
layout(std430, binding = 5) buffer Buf5 { float b5[]; };

layout(push_constant) uniform Push {
  uint off[8];
  uint N, C;
  float eps;
  uint flags; // LN_FWD: 1 = bias; LN_BWD_DWDB: 1 = dweight, 2 = dbias; L2_BWD: 1 = dinp
} pc;

#ifdef LN_BWD_DWDB
const uint COLS = 32u;
shared float sw[WG];
shared float sb[WG];
#endif

void
main ()
{
  uint tid = gl_LocalInvocationID.x;
#if defined(LN_BWD_DWDB)
  uint lanes = WG / COLS, col = tid % COLS, lane = tid / COLS;
  uint nblk = (pc.C + COLS - 1u) / COLS;
  for (uint blk = sv_group (); blk < nblk; blk += sv_ngroups ()) {
    uint c = blk * COLS + col;
    float gw = 0.0, gbias = 0.0;
    if (c < pc.C) {
      for (uint n = lane; n < pc.N; n += lanes) {
        float dy = b2[pc.off[2] + n * pc.C + c];
        float xhat = (b3[pc.off[3] + n * pc.C + c] - b4[pc.off[4] + n]) * b5[pc.off[5] + n];
        gw += dy * xhat;
        gbias += dy;
      }
    }
    sw[tid] = gw;
    sb[tid] = gbias;
    barrier ();
    if (lane == 0u && c < pc.C) {
      for (uint l = 1u; l < lanes; l++) {
        gw += sw[l * COLS + col];
        gbias += sb[l * COLS + col];
      }
      if ((pc.flags & 1u) != 0u)
        b0[pc.off[0] + c] += gw;
      if ((pc.flags & 2u) != 0u)
        b1[pc.off[1] + c] += gbias;
    }
    barrier ();
  }
#else
  for (uint r = sv_group (); r < pc.N; r += sv_ngroups ()) {
#if defined(LN_FWD)
    uint xb = pc.off[3] + r * pc.C, ob = pc.off[0] + r * pc.C;
    float s = 0.0;
    for (uint c = tid; c < pc.C; c += WG)
      s += b3[xb + c];
    float m = wg_sum (s) / float (pc.C);
    float v = 0.0;
    for (uint c = tid; c < pc.C; c += WG) {
      float d = b3[xb + c] - m;
      v += d * d;
    }
    v = wg_sum (v) / float (pc.C);
    float rs = 1.0 / sqrt (v + pc.eps);
    for (uint c = tid; c < pc.C; c += WG) {
      float y = (b3[xb + c] - m) * rs * b4[pc.off[4] + c];
      if ((pc.flags & 1u) != 0u)
        y += b5[pc.off[5] + c];
      b0[ob + c] = y;
    }
    if (tid == 0u) {
      b1[pc.off[1] + r] = m;
      b2[pc.off[2] + r] = rs;
    }
#elif defined(LN_BWD_DX)
    uint xb = pc.off[2] + r * pc.C, db = pc.off[1] + r * pc.C, gb = pc.off[0] + r * pc.C;
    float m = b4[pc.off[4] + r], s = b5[pc.off[5] + r];
    float sd = 0.0, sdx = 0.0;
    for (uint c = tid; c < pc.C; c += WG) {
      float xhat = (b2[xb + c] - m) * s;
      float dxhat = b1[db + c] * b3[pc.off[3] + c];
      sd += dxhat;
      sdx += dxhat * xhat;
    }
    float a = wg_sum (sd) / float (pc.C);
    float bb = wg_sum (sdx) / float (pc.C);
    for (uint c = tid; c < pc.C; c += WG) {
      float xhat = (b2[xb + c] - m) * s;
      float dxhat = b1[db + c] * b3[pc.off[3] + c];
      b0[gb + c] += s * (dxhat - a - xhat * bb);
    }
#elif defined(L2_FWD)
    uint xb = pc.off[2] + r * pc.C, ob = pc.off[0] + r * pc.C;
    float ss = 0.0;
    for (uint c = tid; c < pc.C; c += WG) {
      float x = b2[xb + c];
      ss += x * x;
    }
    float nr = sqrt (wg_sum (ss));
    float inv = 1.0 / (nr >= pc.eps ? nr : pc.eps);
    for (uint c = tid; c < pc.C; c += WG)
      b0[ob + c] = b2[xb + c] * inv;
    if (tid == 0u)
      b1[pc.off[1] + r] = nr;
#elif defined(L2_BWD)
    uint yb = pc.off[2] + r * pc.C, db = pc.off[1] + r * pc.C, gb = pc.off[0] + r * pc.C;
    float nr = b3[pc.off[3] + r];
    float dot = 0.0;
    for (uint c = tid; c < pc.C; c += WG)
      dot += b2[yb + c] * b1[db + c];
    dot = wg_sum (dot);
    if (nr >= pc.eps) {
      float inv = 1.0 / nr;
      for (uint c = tid; c < pc.C; c += WG)
        b0[gb + c] += (b1[db + c] - b2[yb + c] * dot) * inv;
    } else {
      float inv = 1.0 / pc.eps;
      for (uint c = tid; c < pc.C; c += WG)
        b0[gb + c] += b1[db + c] * inv;
    }
#else
#error no kernel selected
#endif
  }
#endif
}
