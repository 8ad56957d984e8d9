#version 450
// STGT graph attention, block-banded (svilm-core/cpu/stgraph.c has the math and
// the band layout).  Tokens [B, N, *] with N = Tf * S; a band row is W = 3S
// columns, column jb of a query in slice t is key t*S - S + jb, in range for the
// slices t-1, t, t+1 that exist.  Out-of-range columns are written as 0 and
// never read.  Heads: hs = C / H channels, head h at channel h*hs.
//
//   STG_BUILD     b0 graph[B,N,W], b1 u[B,N,Cg]; one invocation per graph entry.
//     M = cos(u_i, u_j) where >= theta, else 0; 1 on the diagonal.  The keep /
//     drop decision is taken on double-float (hi + lo) dot products, so it is the
//     exact-arithmetic one up to ~2^-44 (the CPU decides in double near theta).
//   STG_ATT_FWD   b0 att[B,H,N,W], b1 q, b2 k, b3 graph; one workgroup per row
//     (b, h, n): att = softmax_j(scale q.k_j * g_j), -inf where g == 0.
//   STG_BAND_MV   b0 dst[B,N,C], b1 band[B,H,N,W], b2 src[B,N,C]; one invocation
//     per dst element: dst (+)= alpha * sum_jb band[jb] * src[key(jb)]
//     (out = att @ v; dq += scale dl @ k).
//   STG_ATT_BWD   b0 dl[B,H,N,W], b1 dout, b2 v, b3 att, b4 graph; one workgroup
//     per row: dl = att * (dout.v_j - sum_j att dout.v_j) * g_j.
//   STG_BAND_MVT  b0 dk, b1 dv, b2 att, b3 dl, b4 dout, b5 q; one invocation per
//     key element (b, m, c): the band transposed, over the query rows of slices
//     tk-1, tk, tk+1: dv += att^T dout, dk += scale dl^T q.
#extension GL_GOOGLE_include_directive : require
#if defined(STG_ATT_FWD) || defined(STG_ATT_BWD)
#define SV_WG_REDUCE
#endif
#define SV_DD
#include "common.glsl"

layout(std430, binding = 0) buffer Buf0 { float b0[]; };
layout(std430, binding = 1) buffer Buf1 { float b1[]; };
layout(std430, binding = 2) buffer Buf2 { float b2[]; };
layout(std430, binding = 3) buffer Buf3 { float b3[]; };
layout(std430, binding = 4) buffer Buf4 { float b4[]; };
layout(std430, binding = 5) buffer Buf5 { float b5[]; };

layout(push_constant) uniform Push {
  uint off[8];
  uint B, Tf, S, C, H; // C: channels of u (Cg) for STG_BUILD
  float f0;            // theta (build), scale (att kernels), alpha (band mv)
  uint flags;          // graph given (att kernels); accumulate (mv); 1 dk | 2 dv (mvt)
} pc;

// the band of query slice t: columns [col0, col0 + nk)
void
band (uint t, out uint col0, out uint nk)
{
  uint t0 = t > 0u ? t - 1u : 0u, t1 = min (t + 1u, pc.Tf - 1u);
  col0 = (t0 + 1u - t) * pc.S;
  nk = (t1 - t0 + 1u) * pc.S;
}

#if defined(STG_BUILD)

// a >= b for double-floats (both normalised: |lo| <= ulp(hi) / 2)
bool
dd_ge (vec2 a, vec2 b)
{
  return a.x > b.x || (a.x == b.x && a.y >= b.y);
}

void
main ()
{
  uint W = 3u * pc.S, N = pc.Tf * pc.S, Cg = pc.C;
  uint total = pc.B * N * W;
  float theta = pc.f0;
  for (uint e = sv_gid (); e < total; e += sv_gstride ()) {
    uint row = e / W, jb = e % W; // row = b * N + n
    uint b = row / N, n = row % N, t = n / pc.S;
    uint col0, nk;
    band (t, col0, nk);
    float val = 0.0;
    if (jb >= col0 && jb < col0 + nk) {
      uint m = t * pc.S + jb - pc.S; // key token
      if (m == n) {
        val = 1.0;
      } else {
        uint ub = pc.off[1] + row * Cg, vb = pc.off[1] + (b * N + m) * Cg;
        vec2 ab = vec2 (0.0), aa = vec2 (0.0), bb = vec2 (0.0);
        for (uint c = 0u; c < Cg; c++) {
          float x = b1[ub + c], y = b1[vb + c];
          ab = dd_add (ab, two_prod (x, y));
          aa = dd_add (aa, two_prod (x, x));
          bb = dd_add (bb, two_prod (y, y));
        }
        // cos = ab / sqrt(max(aa bb, 1e-24)); compare squares: cos^2 = ab^2 / P
        vec2 P = dd_mul (aa, bb);
        if (P.x < 1e-24)
          P = vec2 (1e-24, 0.0);
        vec2 ab2 = dd_mul (ab, ab);
        bool unit = dd_ge (ab2, P); // |cos| >= 1: clamped to +-1
        vec2 t2P = dd_mul (two_prod (theta, theta), P);
        bool keep;
        if (theta <= -1.0)
          keep = true; // every clamped cosine is >= -1
        else if (ab.x >= 0.0)
          keep = theta <= 0.0 || dd_ge (ab2, t2P);
        else
          keep = theta < 0.0 && dd_ge (t2P, ab2);
        if (keep)
          val = unit ? (ab.x >= 0.0 ? 1.0 : -1.0) : clamp (ab.x / sqrt (P.x), -1.0, 1.0);
      }
    }
    b0[pc.off[0] + e] = val;
  }
}

#elif defined(STG_ATT_FWD) || defined(STG_ATT_BWD)

// q.k_j (forward) or dout.v_j (backward) over one head: hs channels of b1 from
// element qa and of b2 from kb.  Keys of slice t-1 at t = 0 are never read: the
// band offsets below wrap around in uint and come back in range for jb >= S.
float
head_dot (uint qa, uint kb, uint hs)
{
  float s = 0.0;
  for (uint c = 0u; c < hs; c++)
    s += b1[qa + c] * b2[kb + c];
  return s;
}

void
main ()
{
  uint tid = gl_LocalInvocationID.x;
  uint W = 3u * pc.S, N = pc.Tf * pc.S, hs = pc.C / pc.H;
  bool has_graph = (pc.flags & 1u) != 0u;
  for (uint r = sv_group (); r < pc.B * pc.H * N; r += sv_ngroups ()) {
    uint b = r / (pc.H * N), h = (r / N) % pc.H, n = r % N, t = n / pc.S;
    uint col0, nk;
    band (t, col0, nk);
    uint rb = pc.off[0] + r * W;                     // this row of att / dl
    uint qa = pc.off[1] + (b * N + n) * pc.C + h * hs; // q (fwd) / dout (bwd) row, head h
    uint kbase = pc.off[2] + (b * N + t * pc.S - pc.S) * pc.C + h * hs; // key jb = 0 (+ jb*C)
#if defined(STG_ATT_FWD)
    uint gb = pc.off[3] + (b * N + n) * W;
    // logits of this invocation's columns, their max and the unmasked count
    float mx = SV_NEG_BIG, cnt = 0.0;
    for (uint jb = tid; jb < W; jb += WG) {
      float x = 0.0;
      if (jb >= col0 && jb < col0 + nk) {
        float g = has_graph ? b3[gb + jb] : 1.0;
        if (g != 0.0) {
          x = pc.f0 * head_dot (qa, kbase + jb * pc.C, hs) * (has_graph ? g : 1.0);
          mx = max (mx, x);
          cnt += 1.0;
        }
      }
      b0[rb + jb] = x; // read back by this invocation only
    }
    mx = wg_max (mx);
    cnt = wg_sum (cnt);
    float s = 0.0;
    for (uint jb = tid; jb < W; jb += WG)
      if (jb >= col0 && jb < col0 + nk && (!has_graph || b3[gb + jb] != 0.0))
        s += exp (b0[rb + jb] - mx);
    s = wg_sum (s);
    float inv = cnt > 0.0 ? 1.0 / s : 0.0; // nothing unmasked: all zeros
    for (uint jb = tid; jb < W; jb += WG) {
      float y = 0.0;
      if (jb >= col0 && jb < col0 + nk && (!has_graph || b3[gb + jb] != 0.0))
        y = exp (b0[rb + jb] - mx) * inv;
      b0[rb + jb] = y;
    }
#else
    uint ab = pc.off[3] + r * W, gb = pc.off[4] + (b * N + n) * W;
    // datt = dout.v_j of this invocation's columns (into dl), and sum_j att datt
    float dot = 0.0;
    for (uint jb = tid; jb < W; jb += WG) {
      float d = 0.0;
      if (jb >= col0 && jb < col0 + nk) {
        d = head_dot (qa, kbase + jb * pc.C, hs);
        dot += b3[ab + jb] * d;
      }
      b0[rb + jb] = d; // read back by this invocation only
    }
    dot = wg_sum (dot);
    for (uint jb = tid; jb < W; jb += WG) {
      float d = 0.0;
      if (jb >= col0 && jb < col0 + nk) {
        d = b3[ab + jb] * (b0[rb + jb] - dot);
        if (has_graph)
          d *= b4[gb + jb];
      }
      b0[rb + jb] = d;
    }
#endif
  }
}

#elif defined(STG_BAND_MV)

void
main ()
{
  uint W = 3u * pc.S, N = pc.Tf * pc.S, hs = pc.C / pc.H;
  uint total = pc.B * N * pc.C;
  for (uint e = sv_gid (); e < total; e += sv_gstride ()) {
    uint row = e / pc.C, ch = e % pc.C; // row = b * N + n
    uint b = row / N, n = row % N, t = n / pc.S, h = ch / hs;
    uint col0, nk;
    band (t, col0, nk);
    uint bb = pc.off[1] + ((b * pc.H + h) * N + n) * W;
    // src row of band column jb: b * N + t*S - S + jb
    uint sb = pc.off[2] + (b * N + t * pc.S - pc.S) * pc.C + ch;
    float s = 0.0;
    for (uint jb = col0; jb < col0 + nk; jb++)
      s += b1[bb + jb] * b2[sb + jb * pc.C];
    uint di = pc.off[0] + e;
    b0[di] = pc.flags != 0u ? b0[di] + pc.f0 * s : pc.f0 * s;
  }
}

#elif defined(STG_BAND_MVT)

void
main ()
{
  uint W = 3u * pc.S, N = pc.Tf * pc.S, hs = pc.C / pc.H;
  uint total = pc.B * N * pc.C;
  bool want_dk = (pc.flags & 1u) != 0u, want_dv = (pc.flags & 2u) != 0u;
  for (uint e = sv_gid (); e < total; e += sv_gstride ()) {
    uint row = e / pc.C, ch = e % pc.C; // row = b * N + m, m a key token
    uint b = row / N, m = row % N, tk = m / pc.S, s = m % pc.S, h = ch / hs;
    float sk = 0.0, sv = 0.0;
    uint tq0 = tk > 0u ? tk - 1u : 0u, tq1 = min (tk + 1u, pc.Tf - 1u);
    for (uint tq = tq0; tq <= tq1; tq++) {
      // key m sits at band column (tk - tq + 1) * S + s of the rows of slice tq
      uint col = (tk + 1u - tq) * pc.S + s;
      uint bb = ((b * pc.H + h) * N + tq * pc.S) * W + col;
      uint xb = (b * N + tq * pc.S) * pc.C + ch;
      for (uint i = 0u; i < pc.S; i++) {
        if (want_dv)
          sv += b2[pc.off[2] + bb + i * W] * b4[pc.off[4] + xb + i * pc.C];
        if (want_dk)
          sk += b3[pc.off[3] + bb + i * W] * b5[pc.off[5] + xb + i * pc.C];
      }
    }
    if (want_dk)
      b0[pc.off[0] + e] += pc.f0 * sk;
    if (want_dv)
      b1[pc.off[1] + e] += sv;
  }
}

#else
#error no kernel selected
#endif
