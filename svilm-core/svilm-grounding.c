/* svilm-core: SvilmGrounding, where a phrase is in a clip (svilm_clip_ground makes one). */
#include "config.h"

#include "svilm-grounding-private.h"

#include <string.h>

G_DEFINE_BOXED_TYPE (SvilmGrounding, svilm_grounding, svilm_grounding_copy, svilm_grounding_free)

void
sv_grounding_set_box (SvilmGrounding *g)
{
  guint gw = g->grid_width, gh = g->grid_height;
  guint x0 = gw, y0 = gh, x1 = 0, y1 = 0;
  for (guint s = 0; s < gw * gh && s < g->n_heatmap; s++)
    if (g->heatmap[s] >= 0.5f) {
      guint x = s % gw, y = s / gw;
      x0 = MIN (x0, x), y0 = MIN (y0, y), x1 = MAX (x1, x + 1), y1 = MAX (y1, y + 1);
    }
  if (x1 > x0 && y1 > y0) {
    g->x = (float) x0 / gw;
    g->y = (float) y0 / gh;
    g->width = (float) (x1 - x0) / gw;
    g->height = (float) (y1 - y0) / gh;
  }
}

SvilmGrounding *
svilm_grounding_copy (const SvilmGrounding *g)
{
  SvilmGrounding *c = g_memdup2 (g, sizeof *g);
  c->heatmap = g_memdup2 (g->heatmap, g->n_heatmap * sizeof (gfloat));
  c->slice_heatmaps = g_memdup2 (g->slice_heatmaps, g->n_slice_heatmaps * sizeof (gfloat));
  return c;
}

void
svilm_grounding_free (SvilmGrounding *g)
{
  if (!g)
    return;
  g_free (g->heatmap);
  g_free (g->slice_heatmaps);
  g_free (g);
}

guint
svilm_grounding_slice_of_frame (const SvilmGrounding *g, guint k, guint clip_frames)
{
  g_return_val_if_fail (g != NULL && clip_frames > 0, 0);
  if (g->grid_time == 0)
    return 0;
  return MIN (k, clip_frames - 1) * g->grid_time / clip_frames;
}

SvilmGrounding *
svilm_grounding_slice (const SvilmGrounding *g, guint slice)
{
  g_return_val_if_fail (g != NULL, NULL);
  guint S = g->grid_width * g->grid_height;
  if (g->grid_time == 0 || S == 0)
    return svilm_grounding_copy (g);
  slice = MIN (slice, g->grid_time - 1);
  SvilmGrounding *c = g_memdup2 (g, sizeof *g);
  const gfloat *src = g->slice_heatmaps + (gsize) slice * S;
  float hmax = 0.0f;
  for (guint s = 0; s < S; s++)
    hmax = MAX (hmax, src[s]);
  c->n_heatmap = S;
  c->heatmap = g_new (gfloat, S);
  for (guint s = 0; s < S; s++)
    c->heatmap[s] = hmax > 0.0f ? src[s] / hmax : 0.0f;
  c->grid_time = 1;
  c->n_slice_heatmaps = S;
  c->slice_heatmaps = g_memdup2 (src, S * sizeof (gfloat));
  c->x = c->y = c->width = c->height = 0.0f;
  sv_grounding_set_box (c);
  return c;
}

gboolean
svilm_heatmap_point (const gfloat *heatmap, guint grid_width, guint grid_height, gfloat *x,
                     gfloat *y)
{
  guint n = grid_width * grid_height, best = 0;
  if (!heatmap || n == 0)
    return FALSE;
  for (guint i = 1; i < n; i++)
    if (heatmap[i] > heatmap[best])
      best = i;
  int bx = (int) (best % grid_width), by = (int) (best / grid_width);
  double sw = 0.0, sx = 0.0, sy = 0.0;
  for (int cy = MAX (by - 1, 0); cy <= MIN (by + 1, (int) grid_height - 1); cy++)
    for (int cx = MAX (bx - 1, 0); cx <= MIN (bx + 1, (int) grid_width - 1); cx++) {
      double w = MAX (heatmap[(gsize) cy * grid_width + cx], 0.0f);
      sw += w, sx += w * (cx + 0.5), sy += w * (cy + 0.5);
    }
  /* a heatmap of zeros (or negatives) has no mass: the maximum cell's centre */
  *x = (gfloat) ((sw > 0.0 ? sx / sw : bx + 0.5) / grid_width);
  *y = (gfloat) ((sw > 0.0 ? sy / sw : by + 0.5) / grid_height);
  return TRUE;
}

gboolean
svilm_grounding_point (const SvilmGrounding *g, gint slice, gfloat *x, gfloat *y)
{
  g_return_val_if_fail (g != NULL && x != NULL && y != NULL, FALSE);
  guint S = g->grid_width * g->grid_height;
  if (slice < 0 || g->grid_time == 0 || !g->slice_heatmaps)
    return g->n_heatmap >= S &&
           svilm_heatmap_point (g->heatmap, g->grid_width, g->grid_height, x, y);
  guint s = MIN ((guint) slice, g->grid_time - 1);
  if (g->n_slice_heatmaps < (gsize) (s + 1) * S)
    return FALSE;
  return svilm_heatmap_point (g->slice_heatmaps + (gsize) s * S, g->grid_width, g->grid_height, x,
                              y);
}
