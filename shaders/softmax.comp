#version 450
// Row softmax (one workgroup per row of C), with a temperature and either a 0/1
// mask (masked entries excluded, probability 0) or, for attention, a
// multiplicative graph (logit * g, excluded where g == 0).  The mask row of row
// r is (r / (rep * inner)) * inner + r % inner: rep = 1 for a mask shaped like
// the input, rep = heads and inner = Nq for att[B,H,Nq,Nk] with graph[B,Nq,Nk].
//   SOFTMAX_FWD  b0 out, b1 inp, b2 mask            (out may alias inp)
//   SOFTMAX_BWD  b0 dinp, b1 dout, b2 out, b3 graph
//     d = scale * y * (dy - sum y dy) (* g in graph mode); dinp = d or dinp += d
//     (dinp may alias dout)
#extension GL_GOOGLE_include_directive : require
#define SV_WG_REDUCE
#include "common.glsl"

layout(std430, binding = 0) buffer Buf0 { float b0[]; };
layout(std430, binding = 1) buffer Buf1 { float b1[]; };
layout(std430, binding = 2) buffer Buf2 { float b2[]; };
layout(std430, binding = 3) buffer Buf3 { float b3[]; };

layout(push_constant) uniform Push {
  uint off[8];
  uint N, C;
  float scale; // inv_temp
  uint mode;   // 0 none, 1 mask, 2 graph
  uint rep, inner;
  uint accumulate;
} pc;

uint
mask_row (uint r)
{
  return (r / (pc.rep * pc.inner)) * pc.inner + r % pc.inner;
}

void
main ()
{
  uint tid = gl_LocalInvocationID.x;
  for (uint r = sv_group (); r < pc.N; r += sv_ngroups ()) {
#if defined(SOFTMAX_FWD)
    uint ib = pc.off[1] + r * pc.C, ob = pc.off[0] + r * pc.C;
    uint mb = pc.off[2] + mask_row (r) * pc.C;
    float mx = SV_NEG_BIG, cnt = 0.0;
    for (uint c = tid; c < pc.C; c += WG) {
      float m = pc.mode != 0u ? b2[mb + c] : 1.0;
      if (m != 0.0) {
        float l = b1[ib + c] * pc.scale * (pc.mode == 2u ? m : 1.0);
        mx = max (mx, l);
        cnt += 1.0;
      }
    }
    mx = wg_max (mx);
    cnt = wg_sum (cnt);
    float s = 0.0;
    for (uint c = tid; c < pc.C; c += WG) {
      float m = pc.mode != 0u ? b2[mb + c] : 1.0;
      if (m != 0.0)
        s += exp (b1[ib + c] * pc.scale * (pc.mode == 2u ? m : 1.0) - mx);
    }
    s = wg_sum (s);
    float inv = cnt > 0.0 ? 1.0 / s : 0.0;
    for (uint c = tid; c < pc.C; c += WG) {
      float m = pc.mode != 0u ? b2[mb + c] : 1.0;
      float y = 0.0;
      if (m != 0.0 && cnt > 0.0)
        y = exp (b1[ib + c] * pc.scale * (pc.mode == 2u ? m : 1.0) - mx) * inv;
      b0[ob + c] = y;
    }
#elif defined(SOFTMAX_BWD)
    uint db = pc.off[1] + r * pc.C, yb = pc.off[2] + r * pc.C, xb = pc.off[0] + r * pc.C;
    uint gb = pc.off[3] + mask_row (r) * pc.C;
    float dot = 0.0;
    for (uint c = tid; c < pc.C; c += WG)
      dot += b2[yb + c] * b1[db + c];
    dot = wg_sum (dot);
    for (uint c = tid; c < pc.C; c += WG) {
      float d = pc.scale * b2[yb + c] * (b1[db + c] - dot);
      if (pc.mode == 2u)
        d *= b3[gb + c];
      b0[xb + c] = pc.accumulate != 0u ? b0[xb + c] + d : d;
    }
#else
#error no kernel selected
#endif
  }
}
