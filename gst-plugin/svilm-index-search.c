/* svilm: the retrieval index's matrix and its search: exact float scores, or an 8-bit
 * scan of every row and an exact rescoring of the best (see svilm-index.h). */
#include "config.h"

#include "svilm-index-private.h"

#include <cblas.h>
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <immintrin.h>
#define SVILM_INDEX_X86 1
#endif

void
sv_index_normalize (float *x, guint n)
{
  float ss = cblas_sdot ((int) n, x, 1, x, 1);
  if (!(ss > 0.0f) || !isfinite (ss)) {
    memset (x, 0, n * sizeof (float)); /* zero or damaged: scores 0 */
    return;
  }
  if (fabsf (ss - 1.0f) > 1e-6f) /* the model's embeddings are unit already */
    cblas_sscal ((int) n, 1.0f / sqrtf (ss), x, 1);
}

/* Symmetric 8-bit quantisation with one scale: x ~ scale * q, |q| <= levels, stored as
 * q + offset.  Rows: levels 127, offset 128 (unsigned bytes); the query: levels 63,
 * offset 0, so that the AVX2 kernel's unsigned x signed pairwise 16-bit sums
 * (2 * 255 * 63 < 2^15) cannot saturate.  Plain loops the compiler vectorises. */
float
sv_index_quantize (const float *x, guint n, guint stride, int levels, int offset, guint8 *out)
{
  float amax = 0.0f;
#pragma omp simd reduction(max : amax)
  for (guint i = 0; i < n; i++)
    amax = fmaxf (amax, fabsf (x[i]));
  float inv = amax > 0.0f ? (float) levels / amax : 0.0f;
#pragma omp simd
  for (guint i = 0; i < n; i++) {
    float v = x[i] * inv; /* in [-levels, levels] */
    out[i] = (guint8) ((int) (v + (v >= 0.0f ? 0.5f : -0.5f)) + offset);
  }
  memset (out + n, offset, stride - n);
  return amax / (float) levels;
}

void
svilm_index_matrix_free (SvilmIndexMatrix *m)
{
  if (!m)
    return;
  g_free (m->f);
  g_free (m->ids);
  g_free (m->q8);
  g_free (m->q8scale);
  g_free (m->scores);
  g_free (m->qn);
  g_free (m->qq);
  g_free (m);
}

gsize
svilm_index_matrix_get_rows (SvilmIndexMatrix *m)
{
  return m->rows;
}

guint
svilm_index_matrix_get_dim (SvilmIndexMatrix *m)
{
  return m->dim;
}

/* ---- top-K ----------------------------------------------------------------------------- */

/* a ranks below b: lower score, or the same score and a later row */
static inline gboolean
worse (const SvilmIndexHit *a, const SvilmIndexHit *b)
{
  return a->score < b->score || (a->score == b->score && a->clip > b->clip);
}

/* A min-heap of the best `cap` hits seen: h[0] is the worst of them. */
static void
heap_push (SvilmIndexHit *h, guint *n, guint cap, float score, gint64 row)
{
  SvilmIndexHit x = { row, score };
  guint i;
  if (*n < cap) {
    for (i = (*n)++; i > 0; i = (i - 1) / 2) {
      guint parent = (i - 1) / 2;
      if (!worse (&x, &h[parent]))
        break;
      h[i] = h[parent];
    }
    h[i] = x;
    return;
  }
  if (!worse (&h[0], &x))
    return;
  for (i = 0;;) {
    guint c = 2 * i + 1;
    if (c >= cap)
      break;
    if (c + 1 < cap && worse (&h[c + 1], &h[c]))
      c++;
    if (!worse (&h[c], &x))
      break;
    h[i] = h[c];
    i = c;
  }
  h[i] = x;
}

static int
cmp_best_first (const void *a, const void *b)
{
  const SvilmIndexHit *x = a, *y = b;
  return worse (x, y) ? 1 : worse (y, x) ? -1 : 0;
}

/* ---- int8 scan kernels ----------------------------------------------------------------- */

/* Approximate scores of n rows: scale[r] * sum_i (rows[r][i] - 128) q[i].  All kernels
 * compute the same integers, so results do not depend on the CPU. */
typedef void (*ScoreBlock) (const guint8 *rows, guint stride, gsize n, const gint8 *q,
                            const float *scale, float *out);

static void
score_block_generic (const guint8 *rows, guint stride, gsize n, const gint8 *q, const float *scale,
                     float *out)
{
  for (gsize r = 0; r < n; r++) {
    const guint8 *x = rows + r * stride;
    gint32 acc = 0;
    for (guint i = 0; i < stride; i++)
      acc += ((gint32) x[i] - 128) * q[i];
    out[r] = (float) acc * scale[r];
  }
}

#ifdef SVILM_INDEX_X86
/* sum_i u[i] q[i] in 8 int32 lanes: unsigned x signed bytes, pairwise to 16 bits */
__attribute__ ((target ("avx2"), always_inline)) static inline __m256i
dot_avx2 (const guint8 *u, const __m256i *qv, guint chunks)
{
  const __m256i ones = _mm256_set1_epi16 (1);
  __m256i acc = _mm256_setzero_si256 ();
  for (guint c = 0; c < chunks; c++) {
    __m256i a = _mm256_loadu_si256 ((const __m256i *) (u + 32 * c));
    acc = _mm256_add_epi32 (acc, _mm256_madd_epi16 (_mm256_maddubs_epi16 (a, qv[c]), ones));
  }
  return acc;
}

/* four rows at a time (one reduction for the four); chunks = stride / 32 */
__attribute__ ((target ("avx2"), always_inline)) static inline void
score_avx2 (const guint8 *rows, guint stride, gsize n, const __m256i *qv, guint chunks, gint32 bias,
            const float *scale, float *out)
{
  const __m128i b4 = _mm_set1_epi32 (bias);
  gsize r = 0;
  for (; r + 4 <= n; r += 4) {
    const guint8 *x = rows + r * stride;
    __m256i a0 = dot_avx2 (x, qv, chunks), a1 = dot_avx2 (x + stride, qv, chunks);
    __m256i a2 = dot_avx2 (x + 2 * stride, qv, chunks);
    __m256i a3 = dot_avx2 (x + 3 * stride, qv, chunks);
    __m256i h = _mm256_hadd_epi32 (_mm256_hadd_epi32 (a0, a1), _mm256_hadd_epi32 (a2, a3));
    __m128i s = _mm_add_epi32 (_mm256_castsi256_si128 (h), _mm256_extracti128_si256 (h, 1));
    s = _mm_sub_epi32 (s, b4);
    _mm_storeu_ps (out + r, _mm_mul_ps (_mm_cvtepi32_ps (s), _mm_loadu_ps (scale + r)));
  }
  for (; r < n; r++) {
    __m256i a = dot_avx2 (rows + r * stride, qv, chunks);
    __m128i s = _mm_add_epi32 (_mm256_castsi256_si128 (a), _mm256_extracti128_si256 (a, 1));
    s = _mm_add_epi32 (s, _mm_shuffle_epi32 (s, 0x4e));
    s = _mm_add_epi32 (s, _mm_shuffle_epi32 (s, 0xb1));
    out[r] = (float) (_mm_cvtsi128_si32 (s) - bias) * scale[r];
  }
}

/* the rows' bytes are q + 128: subtract 128 * sum (query) */
__attribute__ ((target ("avx2"))) static gint32
query_bias (const gint8 *q, guint stride)
{
  gint32 sum = 0;
  for (guint i = 0; i < stride; i++)
    sum += q[i];
  return 128 * sum;
}

__attribute__ ((target ("avx2"))) static void
score_block_avx2 (const guint8 *rows, guint stride, gsize n, const gint8 *q, const float *scale,
                  float *out)
{
  gint32 bias = query_bias (q, stride);
  if (stride == 256) {
    /* the model's size: the query stays in registers */
    __m256i qv[8];
    for (guint c = 0; c < 8; c++)
      qv[c] = _mm256_loadu_si256 ((const __m256i *) (q + 32 * c));
    score_avx2 (rows, 256, n, qv, 8, bias, scale, out);
  } else {
    guint chunks = stride / 32;
    __m256i *qv = g_aligned_alloc (chunks, sizeof (__m256i), 32);
    for (guint c = 0; c < chunks; c++)
      qv[c] = _mm256_loadu_si256 ((const __m256i *) (q + 32 * c));
    score_avx2 (rows, stride, n, qv, chunks, bias, scale, out);
    g_aligned_free (qv);
  }
}
#endif

static ScoreBlock
pick_kernel (void)
{
#ifdef SVILM_INDEX_X86
  if (__builtin_cpu_supports ("avx2"))
    return score_block_avx2;
#endif
  return score_block_generic;
}

/* ---- search ---------------------------------------------------------------------------- */

#define BLOCK 256

static guint
search_int8 (SvilmIndexMatrix *m, guint k, SvilmIndexHit *hits)
{
  ScoreBlock kernel = pick_kernel ();
  sv_index_quantize (m->qn, m->dim, m->stride, 63, 0, (guint8 *) m->qq);
  guint cap = (guint) MIN (m->rows, MAX ((gsize) k * 8, 256));
  int threads = 1;
#ifdef _OPENMP
  threads = CLAMP (omp_get_max_threads (), 1, 64);
#endif
  SvilmIndexHit *heaps = g_new (SvilmIndexHit, (gsize) threads * cap);
  guint *counts = g_new0 (guint, threads);
#pragma omp parallel num_threads(threads)
  {
    int t = 0, nt = 1;
#ifdef _OPENMP
    t = omp_get_thread_num ();
    nt = omp_get_num_threads ();
#endif
    gsize lo = m->rows * (gsize) t / (gsize) nt, hi = m->rows * (gsize) (t + 1) / (gsize) nt;
    SvilmIndexHit *h = heaps + (gsize) t * cap;
    guint n = 0;
    float s[BLOCK];
    for (gsize i = lo; i < hi; i += BLOCK) {
      gsize b = MIN (BLOCK, hi - i);
      kernel (m->q8 + i * m->stride, m->stride, b, m->qq, m->q8scale + i, s);
      for (gsize j = 0; j < b; j++)
        if (n < cap || s[j] > h[0].score)
          heap_push (h, &n, cap, s[j], (gint64) (i + j));
    }
    counts[t] = n;
  }
  /* merge the threads' candidates, then score them exactly */
  SvilmIndexHit *cand = g_new (SvilmIndexHit, cap);
  guint n = 0;
  for (int t = 0; t < threads; t++)
    for (guint j = 0; j < counts[t]; j++)
      heap_push (cand, &n, cap, heaps[(gsize) t * cap + j].score, heaps[(gsize) t * cap + j].clip);
  for (guint j = 0; j < n; j++) {
    gsize row = (gsize) cand[j].clip;
    cand[j].score = cblas_sdot ((int) m->dim, m->f + row * m->dim, 1, m->qn, 1);
  }
  qsort (cand, n, sizeof *cand, cmp_best_first);
  n = MIN (n, k);
  for (guint j = 0; j < n; j++) {
    hits[j].clip = m->ids[cand[j].clip];
    hits[j].score = cand[j].score;
  }
  g_free (cand);
  g_free (counts);
  g_free (heaps);
  return n;
}

guint
svilm_index_matrix_search (SvilmIndexMatrix *m, const float *query, guint k, gboolean exact,
                           SvilmIndexHit *hits)
{
  g_return_val_if_fail (m && query && hits, 0);
  if (k == 0 || m->rows == 0)
    return 0;
  k = (guint) MIN (k, m->rows);
  memcpy (m->qn, query, m->dim * sizeof (float));
  sv_index_normalize (m->qn, m->dim);
  if (m->q8 && !exact)
    return search_int8 (m, k, hits);

  cblas_sgemv (CblasRowMajor, CblasNoTrans, (int) m->rows, (int) m->dim, 1.0f, m->f, (int) m->dim,
               m->qn, 1, 0.0f, m->scores, 1);
  guint n = 0;
  for (gsize i = 0; i < m->rows; i++)
    if (n < k || m->scores[i] > hits[0].score)
      heap_push (hits, &n, k, m->scores[i], (gint64) i);
  qsort (hits, n, sizeof *hits, cmp_best_first);
  for (guint j = 0; j < n; j++)
    hits[j].clip = m->ids[hits[j].clip];
  return n;
}
