#version 450
// Batched, strided GEMM with shared-memory tiles:
//   C[z] = alpha * A[z] @ B[z] (+ bias[n]) (+ beta * C[z])
// A is M x K, B is K x N, C is M x N, each given by element strides (row,
// column) so transposed operands and per-head views of attention need no copies.
// The batch index z splits into (z / batch_inner, z % batch_inner) with a
// stride each (e.g. batch and head).  Zero padding makes any M, N, K correct.
//
// Tile sizes are specialization constants: a workgroup of WG = (BM/TM)*(BN/TN)
// invocations computes a BM x BN block of C, each invocation TM x TN values
// spaced BM/TM rows and BN/TN columns apart (conflict-free shared reads,
// coalesced writes).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 16;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;

layout(std430, binding = 0) buffer BufA { float A[]; };
layout(std430, binding = 1) buffer BufB { float Bm[]; };
layout(std430, binding = 2) buffer BufC { float Cm[]; };
layout(std430, binding = 3) buffer BufBias { float bias[]; };

layout(push_constant) uniform Push {
  uint off[8];
  uint M, N, K, batch, batch_inner;
  uint a_b1, a_b2, a_m, a_k;
  uint b_b1, b_b2, b_k, b_n;
  uint c_b1, c_b2, c_m, c_n;
  float alpha, beta;
  uint has_bias;
} pc;

shared float As[BK * BM];
shared float Bs[BK * BN];

void
main ()
{
  const uint TX = BN / TN; // invocations along n
  const uint TY = BM / TM; // invocations along m
  uint tid = gl_LocalInvocationID.x;
  uint tx = tid % TX, ty = tid / TX;
  uint tiles_m = (pc.M + BM - 1u) / BM, tiles_n = (pc.N + BN - 1u) / BN;

  for (uint z = gl_WorkGroupID.z; z < pc.batch; z += gl_NumWorkGroups.z) {
    uint z1 = z / pc.batch_inner, z2 = z % pc.batch_inner;
    uint abase = pc.off[0] + z1 * pc.a_b1 + z2 * pc.a_b2;
    uint bbase = pc.off[1] + z1 * pc.b_b1 + z2 * pc.b_b2;
    uint cbase = pc.off[2] + z1 * pc.c_b1 + z2 * pc.c_b2;
    for (uint tm = gl_WorkGroupID.y; tm < tiles_m; tm += gl_NumWorkGroups.y) {
      for (uint tn = gl_WorkGroupID.x; tn < tiles_n; tn += gl_NumWorkGroups.x) {
        uint m0 = tm * BM, n0 = tn * BN;
        float acc[TM * TN];
        for (uint i = 0u; i < TM * TN; i++)
          acc[i] = 0.0;
        for (uint k0 = 0u; k0 < pc.K; k0 += BK) {
          // A tile -> As[kk][mm]; walk memory-contiguous first
          if (pc.a_k == 1u) {
            for (uint i = tid; i < BM * BK; i += WG) {
              uint kk = i % BK, mm = i / BK;
              uint gm = m0 + mm, gk = k0 + kk;
              As[kk * BM + mm] = (gm < pc.M && gk < pc.K) ? A[abase + gm * pc.a_m + gk] : 0.0;
            }
          } else {
            for (uint i = tid; i < BM * BK; i += WG) {
              uint mm = i % BM, kk = i / BM;
              uint gm = m0 + mm, gk = k0 + kk;
              As[kk * BM + mm] =
                  (gm < pc.M && gk < pc.K) ? A[abase + gm * pc.a_m + gk * pc.a_k] : 0.0;
            }
          }
          // B tile -> Bs[kk][nn]
          if (pc.b_n == 1u) {
            for (uint i = tid; i < BN * BK; i += WG) {
              uint nn = i % BN, kk = i / BN;
              uint gn = n0 + nn, gk = k0 + kk;
              Bs[kk * BN + nn] = (gn < pc.N && gk < pc.K) ? Bm[bbase + gk * pc.b_k + gn] : 0.0;
            }
          } else {
            for (uint i = tid; i < BN * BK; i += WG) {
              uint kk = i % BK, nn = i / BK;
              uint gn = n0 + nn, gk = k0 + kk;
              Bs[kk * BN + nn] =
                  (gn < pc.N && gk < pc.K) ? Bm[bbase + gk * pc.b_k + gn * pc.b_n] : 0.0;
            }
          }
          barrier ();
          for (uint kk = 0u; kk < BK; kk++) {
            float a[TM];
            float b[TN];
            for (uint i = 0u; i < TM; i++)
              a[i] = As[kk * BM + ty + i * TY];
            for (uint j = 0u; j < TN; j++)
              b[j] = Bs[kk * BN + tx + j * TX];
            for (uint i = 0u; i < TM; i++)
              for (uint j = 0u; j < TN; j++)
                acc[i * TN + j] = fma (a[i], b[j], acc[i * TN + j]);
          }
          barrier ();
        }
        for (uint i = 0u; i < TM; i++) {
          uint gm = m0 + ty + i * TY;
          if (gm >= pc.M)
            continue;
          for (uint j = 0u; j < TN; j++) {
            uint gn = n0 + tx + j * TX;
            if (gn >= pc.N)
              continue;
            float v = pc.alpha * acc[i * TN + j];
            if (pc.has_bias != 0u)
              v += bias[pc.off[3] + gn];
            uint ci = cbase + gm * pc.c_m + gn * pc.c_n;
            if (pc.beta != 0.0)
              v += pc.beta * Cm[ci];
            Cm[ci] = v;
          }
        }
      }
    }
  }
}
