#version 450
// Convolution patches (im2col), one invocation per element written.
//   IM2COL_FWD  cols[n,oy,ox,(ky*k+kx)*C+c] = img[n, oy*s-pad+ky, ox*s-pad+kx, c] (0 outside)
//               b0 cols, b1 img
//   IM2COL_BWD  dimg[n,y,x,c] += sum of the taps that read (y, x), gathered in (ky, kx)
//               order: one writer per element and the CPU backend's summation order
//               b0 dcols, b1 dimg
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(std430, binding = 0) buffer Buf0 { float b0[]; };
layout(std430, binding = 1) buffer Buf1 { float b1[]; };

layout(push_constant) uniform Push {
  uint off[8];
  uint N, H, W, C, k, s, pad;
} pc;

void
main ()
{
  uint Ho = (pc.H + 2u * pc.pad - pc.k) / pc.s + 1u, Wo = (pc.W + 2u * pc.pad - pc.k) / pc.s + 1u;
  uint K = pc.k * pc.k * pc.C;
#if defined(IM2COL_FWD)
  uint n = pc.N * Ho * Wo * K;
  for (uint i = sv_gid (); i < n; i += sv_gstride ()) {
    uint pos = i / K, j = i % K;
    uint c = j % pc.C, tap = j / pc.C;
    uint kx = tap % pc.k, ky = tap / pc.k;
    uint ox = pos % Wo, oy = (pos / Wo) % Ho, img = pos / (Wo * Ho);
    int y = int (oy * pc.s + ky) - int (pc.pad), x = int (ox * pc.s + kx) - int (pc.pad);
    float v = 0.0;
    if (y >= 0 && y < int (pc.H) && x >= 0 && x < int (pc.W))
      v = b1[pc.off[1] + ((img * pc.H + uint (y)) * pc.W + uint (x)) * pc.C + c];
    b0[pc.off[0] + i] = v;
  }
#elif defined(IM2COL_BWD)
  uint n = pc.N * pc.H * pc.W * pc.C;
  for (uint i = sv_gid (); i < n; i += sv_gstride ()) {
    uint c = i % pc.C, pix = i / pc.C;
    uint x = pix % pc.W, y = (pix / pc.W) % pc.H, img = pix / (pc.W * pc.H);
    float acc = b1[pc.off[1] + i];
    for (uint ky = 0u; ky < pc.k; ky++) {
      int ty = int (y + pc.pad) - int (ky);
      if (ty < 0 || uint (ty) % pc.s != 0u || uint (ty) / pc.s >= Ho)
        continue;
      for (uint kx = 0u; kx < pc.k; kx++) {
        int tx = int (x + pc.pad) - int (kx);
        if (tx < 0 || uint (tx) % pc.s != 0u || uint (tx) / pc.s >= Wo)
          continue;
        uint ci = ((img * Ho + uint (ty) / pc.s) * Wo + uint (tx) / pc.s) * K +
                  (ky * pc.k + kx) * pc.C + c;
        acc += b0[pc.off[0] + ci];
      }
    }
    b1[pc.off[1] + i] = acc;
  }
#else
#error no kernel selected
#endif
}
