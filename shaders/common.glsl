// svilm shaders: shared declarations.
//
// Every kernel uses the same pipeline layout: set 0 with up to 8 storage
// buffers and 128 bytes of push constants.  The push block starts with one
// element offset per binding (a tensor's position inside its bound range, see
// svilm-core/vulkan/sv-vk-record.c), followed by the kernel's own parameters.
//
// Specialization constant 0 is the workgroup size (a power of two); kernels
// loop over the grid ("grid stride"), so any dispatch size is correct.  No
// subgroup operations are used: results do not depend on the subgroup size.

layout(constant_id = 0) const uint WG = 256;
layout(local_size_x_id = 0) in;

// the most negative finite float: a "minus infinity" that survives fast math
const float SV_NEG_BIG = -3.402823466e+38;

// flat invocation index and count over a (x, y) grid of 1-D workgroups
uint
sv_gid ()
{
  return gl_GlobalInvocationID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x * WG;
}

uint
sv_gstride ()
{
  return gl_NumWorkGroups.x * gl_NumWorkGroups.y * WG;
}

// flat workgroup index and count (row kernels: one workgroup per row)
uint
sv_group ()
{
  return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
}

uint
sv_ngroups ()
{
  return gl_NumWorkGroups.x * gl_NumWorkGroups.y;
}

#ifdef SV_WG_REDUCE
// Workgroup reductions through shared memory (fixed tree order: deterministic).
// Must be called from uniform control flow by the whole workgroup.
shared float sv_red[WG];

float
wg_sum (float v)
{
  uint t = gl_LocalInvocationID.x;
  sv_red[t] = v;
  barrier ();
  for (uint s = WG / 2u; s > 0u; s >>= 1u) {
    if (t < s)
      sv_red[t] += sv_red[t + s];
    barrier ();
  }
  float r = sv_red[0];
  barrier ();
  return r;
}

float
wg_max (float v)
{
  uint t = gl_LocalInvocationID.x;
  sv_red[t] = v;
  barrier ();
  for (uint s = WG / 2u; s > 0u; s >>= 1u) {
    if (t < s)
      sv_red[t] = max (sv_red[t], sv_red[t + s]);
    barrier ();
  }
  float r = sv_red[0];
  barrier ();
  return r;
}
#endif

#ifdef SV_DD
// Double-float arithmetic: a value is vec2(hi, lo) with hi + lo exact, ~44
// significant bits.  The error-free transforms need every operation rounded as
// written (Vulkan rounds float add, sub and mul correctly), hence `precise`:
// no fusing into fma, no reassociation.  Denormals may flush: below ~1e-38 the
// low part loses bits, which no caller minds.
vec2
two_sum (float a, float b)
{
  precise float s = a + b;
  precise float bb = s - a;
  precise float e = (a - (s - bb)) + (b - bb);
  return vec2 (s, e);
}

vec2
two_prod (float a, float b)
{
  // Dekker: split each factor into 12-bit halves whose products are exact
  precise float ca = 4097.0 * a, cb = 4097.0 * b;
  precise float ah = ca - (ca - a), al = a - ah;
  precise float bh = cb - (cb - b), bl = b - bh;
  precise float p = a * b;
  precise float e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
  return vec2 (p, e);
}

vec2
dd_add (vec2 a, vec2 b)
{
  vec2 s = two_sum (a.x, b.x);
  precise float lo = s.y + (a.y + b.y);
  return two_sum (s.x, lo);
}

vec2
dd_mul (vec2 a, vec2 b)
{
  vec2 p = two_prod (a.x, b.x);
  precise float lo = p.y + (a.x * b.y + a.y * b.x);
  return two_sum (p.x, lo);
}
#endif

// erfc(x), relative error below 1.2e-7 in exact arithmetic (Numerical Recipes'
// Chebyshev fit); GLSL has no erf.
float
sv_erfc (float x)
{
  float z = abs (x);
  float t = 1.0 / (1.0 + 0.5 * z);
  float r =
      t * exp (-z * z - 1.26551223 +
               t * (1.00002368 +
                    t * (0.37409196 +
                         t * (0.09678418 +
                              t * (-0.18628806 +
                                   t * (0.27886807 +
                                        t * (-1.13520398 +
                                             t * (1.48851587 +
                                                  t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0.0 ? r : 2.0 - r;
}
