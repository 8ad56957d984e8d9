#version 450
// Elementwise kernels, one invocation per element (grid stride).
//   GELU_FWD  out = x Phi(x)                       b0 out, b1 inp
//   GELU_BWD  dinp += dout (Phi(x) + x phi(x))     b0 dinp, b1 dout, b2 inp
//   AXPBY     out = alpha x (+ beta out)           b0 out, b1 inp (scale, accumulation)
//   ADD       out = a + b[i % inner]               b0 out, b1 a, b2 b
// Each output element reads only its own input elements, so outputs may alias inputs.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(std430, binding = 0) buffer Buf0 { float b0[]; };
layout(std430, binding = 1) buffer Buf1 { float b1[]; };
layout(std430, binding = 2) buffer Buf2 { float b2[]; };

layout(push_constant) uniform Push {
  uint off[8];
  uint n;
  uint inner;
  float alpha;
  float beta;
} pc;

const float SQRT1_2 = 0.70710678118654752440;
const float INV_SQRT_2PI = 0.39894228040143267794;

void
main ()
{
  for (uint i = sv_gid (); i < pc.n; i += sv_gstride ()) {
#if defined(GELU_FWD)
    float x = b1[pc.off[1] + i];
    b0[pc.off[0] + i] = 0.5 * x * sv_erfc (-x * SQRT1_2);
#elif defined(GELU_BWD)
    float x = b2[pc.off[2] + i];
    float cdf = 0.5 * sv_erfc (-x * SQRT1_2);
    float pdf = INV_SQRT_2PI * exp (-0.5 * x * x);
    b0[pc.off[0] + i] += b1[pc.off[1] + i] * (cdf + x * pdf);
#elif defined(AXPBY)
    float v = pc.alpha * b1[pc.off[1] + i];
    if (pc.beta != 0.0)
      v += pc.beta * b0[pc.off[0] + i];
    b0[pc.off[0] + i] = v;
#elif defined(ADD)
    b0[pc.off[0] + i] = b1[pc.off[1] + i] + b2[pc.off[2] + i % pc.inner];
#else
#error no kernel selected
#endif
  }
}
