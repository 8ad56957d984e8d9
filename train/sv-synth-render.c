/* svilm-train synth: drawing frames with cairo and measuring the objects' boxes.
 *
 * Each object instance is filled into an A8 coverage mask first; its box is the extent of
 * the mask's pixels at least half covered, and its colour is painted through the mask, so
 * the box is exactly what was drawn.  Details (eyes, windows, wheels) are drawn inside the
 * silhouette in a darker or lighter shade of the object's colour.
 */
#include "sv-synth.h"
#include "sv-rng.h"

#include <math.h>
#include <string.h>

struct _SvSynthRenderer {
  guint width, height;
  cairo_surface_t *mask;    /* A8 coverage of one instance */
  cairo_surface_t *scratch; /* the incoming scene of a dissolve */
};

SvSynthRenderer *
sv_synth_renderer_new (guint width, guint height)
{
  SvSynthRenderer *r = g_new0 (SvSynthRenderer, 1);
  r->width = width;
  r->height = height;
  r->mask = cairo_image_surface_create (CAIRO_FORMAT_A8, width, height);
  r->scratch = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
  return r;
}

void
sv_synth_renderer_free (SvSynthRenderer *r)
{
  if (!r)
    return;
  cairo_surface_destroy (r->mask);
  cairo_surface_destroy (r->scratch);
  g_free (r);
}

/* ---- shapes and sprites in a unit box [-1,1]^2, facing right, y down ------------------- */

static void
circle (cairo_t *cr, double x, double y, double rad)
{
  cairo_new_sub_path (cr);
  cairo_arc (cr, x, y, rad, 0, 2 * G_PI);
  cairo_fill (cr);
}

static void
ellipse (cairo_t *cr, double x, double y, double rx, double ry)
{
  cairo_save (cr);
  cairo_translate (cr, x, y);
  cairo_scale (cr, rx, ry);
  cairo_new_sub_path (cr);
  cairo_arc (cr, 0, 0, 1, 0, 2 * G_PI);
  cairo_restore (cr);
  cairo_fill (cr);
}

static void
rect (cairo_t *cr, double x, double y, double w, double h)
{
  cairo_rectangle (cr, x, y, w, h);
  cairo_fill (cr);
}

static void
poly (cairo_t *cr, const double *xy, guint n)
{
  cairo_move_to (cr, xy[0], xy[1]);
  for (guint i = 1; i < n; i++)
    cairo_line_to (cr, xy[2 * i], xy[2 * i + 1]);
  cairo_close_path (cr);
  cairo_fill (cr);
}

#define POLY(cr, ...)                                                                              \
  poly (cr, (const double[]){ __VA_ARGS__ },                                                       \
        sizeof ((double[]){ __VA_ARGS__ }) / sizeof (double) / 2)

static void
draw_shape (cairo_t *cr, const char *noun, gboolean detail)
{
  if (g_str_equal (noun, "circle")) {
    if (!detail)
      circle (cr, 0, 0, 1);
  } else if (g_str_equal (noun, "square")) {
    if (!detail)
      rect (cr, -0.85, -0.85, 1.7, 1.7);
  } else if (g_str_equal (noun, "triangle")) {
    if (!detail)
      POLY (cr, 0, -0.95, 0.95, 0.75, -0.95, 0.75);
  } else if (g_str_equal (noun, "star")) {
    if (!detail) {
      for (int i = 0; i < 10; i++) {
        double a = -G_PI / 2 + i * G_PI / 5, rad = i % 2 ? 0.42 : 1.0;
        cairo_line_to (cr, rad * cos (a), rad * sin (a));
      }
      cairo_close_path (cr);
      cairo_fill (cr);
    }
  } else if (g_str_equal (noun, "ring")) {
    if (!detail) {
      cairo_set_fill_rule (cr, CAIRO_FILL_RULE_EVEN_ODD);
      cairo_new_sub_path (cr);
      cairo_arc (cr, 0, 0, 1, 0, 2 * G_PI);
      cairo_new_sub_path (cr);
      cairo_arc (cr, 0, 0, 0.55, 0, 2 * G_PI);
      cairo_fill (cr);
      cairo_set_fill_rule (cr, CAIRO_FILL_RULE_WINDING);
    }
  } else if (g_str_equal (noun, "ball")) {
    if (!detail) {
      circle (cr, 0, 0, 0.95);
    } else { /* a band and a spot, so that rolling and spinning show */
      cairo_save (cr);
      cairo_arc (cr, 0, 0, 0.95, 0, 2 * G_PI);
      cairo_clip (cr);
      rect (cr, -1, -0.2, 2, 0.4);
      circle (cr, 0.45, -0.6, 0.18);
      cairo_restore (cr);
    }
  } else if (g_str_equal (noun, "dog")) {
    if (!detail) {
      ellipse (cr, -0.1, 0.05, 0.6, 0.32);
      circle (cr, 0.55, -0.3, 0.3);
      ellipse (cr, 0.83, -0.2, 0.17, 0.12);
      for (int i = 0; i < 4; i++)
        rect (cr, -0.6 + i * 0.3 + (i > 1 ? 0.1 : 0), 0.2, 0.15, 0.65);
      POLY (cr, -0.62, -0.05, -0.95, -0.5, -0.85, -0.56, -0.55, -0.18);
    } else {
      ellipse (cr, 0.42, -0.22, 0.1, 0.22); /* floppy ear */
      circle (cr, 0.64, -0.38, 0.06);
      circle (cr, 0.98, -0.24, 0.05);
    }
  } else if (g_str_equal (noun, "cat")) {
    if (!detail) {
      ellipse (cr, -0.1, 0.15, 0.55, 0.3);
      circle (cr, 0.5, -0.25, 0.3);
      POLY (cr, 0.26, -0.4, 0.32, -0.88, 0.5, -0.52);
      POLY (cr, 0.52, -0.54, 0.72, -0.88, 0.78, -0.38);
      for (int i = 0; i < 4; i++)
        rect (cr, -0.5 + i * 0.26 + (i > 1 ? 0.08 : 0), 0.3, 0.12, 0.58);
      POLY (cr, -0.6, 0.12, -0.92, -0.72, -0.78, -0.78, -0.48, 0.02);
    } else {
      circle (cr, 0.6, -0.3, 0.06);
      circle (cr, 0.38, -0.3, 0.05);
    }
  } else if (g_str_equal (noun, "car")) {
    if (!detail) {
      rect (cr, -1, -0.15, 2, 0.5);
      POLY (cr, -0.6, -0.15, -0.38, -0.62, 0.3, -0.62, 0.62, -0.15);
      circle (cr, -0.55, 0.4, 0.27);
      circle (cr, 0.55, 0.4, 0.27);
    } else {
      POLY (cr, -0.45, -0.2, -0.3, -0.52, -0.07, -0.52, -0.07, -0.2);
      POLY (cr, 0.03, -0.2, 0.03, -0.52, 0.26, -0.52, 0.48, -0.2);
      circle (cr, -0.55, 0.4, 0.11);
      circle (cr, 0.55, 0.4, 0.11);
      rect (cr, 0.85, -0.08, 0.12, 0.12);
    }
  } else if (g_str_equal (noun, "tree")) {
    if (!detail) {
      rect (cr, -0.15, 0.1, 0.3, 0.9);
      circle (cr, 0, -0.4, 0.55);
      circle (cr, -0.45, -0.05, 0.4);
      circle (cr, 0.45, -0.05, 0.4);
    } else {
      rect (cr, -0.1, 0.38, 0.2, 0.6);
    }
  } else if (g_str_equal (noun, "house")) {
    if (!detail) {
      rect (cr, -0.75, -0.12, 1.5, 1.05);
      POLY (cr, -0.95, -0.08, 0, -0.95, 0.95, -0.08);
      rect (cr, 0.42, -0.8, 0.18, 0.45);
    } else {
      rect (cr, -0.15, 0.4, 0.3, 0.53);
      rect (cr, -0.6, 0.05, 0.3, 0.25);
      rect (cr, 0.3, 0.05, 0.3, 0.25);
    }
  } else if (g_str_equal (noun, "fish")) {
    if (!detail) {
      ellipse (cr, 0.12, 0, 0.68, 0.42);
      POLY (cr, -0.4, 0, -1, -0.5, -0.95, 0, -1, 0.5);
      POLY (cr, -0.15, -0.35, 0.15, -0.68, 0.35, -0.35);
    } else {
      circle (cr, 0.52, -0.1, 0.09);
      rect (cr, 0.2, -0.25, 0.06, 0.5);
    }
  } else if (g_str_equal (noun, "bird")) {
    if (!detail) {
      ellipse (cr, -0.05, 0.15, 0.55, 0.26);
      circle (cr, 0.52, -0.08, 0.24);
      POLY (cr, 0.7, -0.16, 1, -0.04, 0.7, 0.02);
      POLY (cr, -0.35, 0.05, 0.15, 0.05, -0.3, -0.9);
      POLY (cr, -0.5, 0.1, -0.98, -0.15, -0.98, 0.38);
    } else {
      circle (cr, 0.6, -0.14, 0.06);
    }
  }
}

/* ---- backgrounds ------------------------------------------------------------------------ */

static void
set_rgb (cairo_t *cr, const guint8 *c, double k)
{
  cairo_set_source_rgb (cr, c[0] * k / 255.0, c[1] * k / 255.0, c[2] * k / 255.0);
}

static void
render_background (const SvSynthBackground *bg, cairo_surface_t *surf, guint W, guint H)
{
  cairo_t *cr = cairo_create (surf);
  const guint8 *c1 = sv_synth_bg_rgb[bg->c1], *c2 = sv_synth_bg_rgb[bg->c2];
  set_rgb (cr, c1, 1);
  cairo_paint (cr);
  switch (bg->kind) {
  case SV_BG_SOLID:
    break;
  case SV_BG_GRADIENT: {
    double x1 = bg->orient == 1 ? 0 : W, y1 = bg->orient == 0 ? 0 : H;
    cairo_pattern_t *p = cairo_pattern_create_linear (0, 0, x1, y1);
    cairo_pattern_add_color_stop_rgb (p, 0, c1[0] / 255.0, c1[1] / 255.0, c1[2] / 255.0);
    cairo_pattern_add_color_stop_rgb (p, 1, c2[0] / 255.0, c2[1] / 255.0, c2[2] / 255.0);
    cairo_set_source (cr, p);
    cairo_paint (cr);
    cairo_pattern_destroy (p);
    break;
  }
  case SV_BG_STRIPES: {
    double d = W + H;
    cairo_translate (cr, W / 2.0, H / 2.0);
    cairo_rotate (cr, bg->orient == 0 ? 0 : bg->orient == 1 ? G_PI / 2 : G_PI / 4);
    set_rgb (cr, c2, 1);
    for (double y = -d; y < d; y += bg->period)
      cairo_rectangle (cr, -d, y, 2 * d, bg->period / 2.0);
    cairo_fill (cr);
    break;
  }
  case SV_BG_CHECKER:
    set_rgb (cr, c2, 1);
    for (guint y = 0; y * bg->period < H; y++)
      for (guint x = y % 2; x * bg->period < W; x += 2)
        cairo_rectangle (cr, x * bg->period, y * bg->period, bg->period, bg->period);
    cairo_fill (cr);
    break;
  case SV_BG_NOISE: {
    cairo_surface_flush (surf);
    SvRng rng;
    sv_rng_seed (&rng, bg->noise_seed);
    guint8 *data = cairo_image_surface_get_data (surf);
    int stride = cairo_image_surface_get_stride (surf);
    for (guint y = 0; y < H; y++) {
      guint32 *row = (guint32 *) (data + (size_t) y * stride);
      for (guint x = 0; x < W; x++) {
        int n = (int) sv_rng_below (&rng, 81) - 40;
        guint32 px = 0xff000000u;
        for (int ch = 0; ch < 3; ch++)
          px |= (guint32) CLAMP (c1[ch] + n, 0, 255) << (16 - 8 * ch);
        row[x] = px;
      }
    }
    cairo_surface_mark_dirty (surf);
    break;
  }
  default:
    break;
  }
  cairo_destroy (cr);
}

/* ---- objects ---------------------------------------------------------------------------- */

static void
shade_of (const guint8 *c, double out[3])
{
  double lum = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
  for (int i = 0; i < 3; i++)
    out[i] = (lum > 100 ? c[i] * 0.45 : c[i] + (255 - c[i]) * 0.55) / 255.0;
}

static void
instance_transform (cairo_t *cr, const SvSynthObject *o, double cx, double cy, double scale,
                    double angle)
{
  cairo_translate (cr, cx, cy);
  cairo_rotate (cr, angle);
  cairo_scale (cr, o->px / 2 * scale, o->px / 2 * scale);
  if (o->flip)
    cairo_scale (cr, -1, 1);
}

/* the extent of the mask's pixels at least half covered; w == 0 when none */
static SvBox
mask_box (cairo_surface_t *mask, guint W, guint H)
{
  cairo_surface_flush (mask);
  const guint8 *data = cairo_image_surface_get_data (mask);
  int stride = cairo_image_surface_get_stride (mask);
  int x0 = W, y0 = H, x1 = -1, y1 = -1;
  for (guint y = 0; y < H; y++) {
    const guint8 *row = data + (size_t) y * stride;
    for (guint x = 0; x < W; x++)
      if (row[x] >= 128) {
        x0 = MIN (x0, (int) x);
        x1 = MAX (x1, (int) x);
        y0 = MIN (y0, (int) y);
        y1 = MAX (y1, (int) y);
      }
  }
  SvBox b = { 0, 0, 0, 0 };
  if (x1 >= 0)
    b = (SvBox){ x0, y0, x1 - x0 + 1, y1 - y0 + 1 };
  return b;
}

static SvBox
box_union (SvBox a, SvBox b)
{
  if (a.w == 0)
    return b;
  if (b.w == 0)
    return a;
  int x0 = MIN (a.x, b.x), y0 = MIN (a.y, b.y);
  int x1 = MAX (a.x + a.w, b.x + b.w), y1 = MAX (a.y + a.h, b.y + b.h);
  return (SvBox){ x0, y0, x1 - x0, y1 - y0 };
}

static void
draw_object (SvSynthRenderer *r, cairo_t *cr, SvSynthObject *o, double u, guint f)
{
  double cx = o->x0 + (o->x1 - o->x0) * u;
  double cy = o->y0 + (o->y1 - o->y0) * u - o->bounce_amp * fabs (sin (G_PI * o->bounces * u));
  double scale = o->scale0 + (o->scale1 - o->scale0) * u;
  double angle = o->angle0 + o->dangle * u;
  const char *noun = sv_synth_nouns[o->noun];
  const guint8 *c = sv_synth_colour_rgb[o->colour];
  double shade[3];
  shade_of (c, shade);
  SvBox all = { 0, 0, 0, 0 };
  for (guint i = 0; i < o->count; i++) {
    double k = (i - (o->count - 1) / 2.0) * scale / o->scale1;
    double ix = cx + k * o->off_x, iy = cy + k * o->off_y;

    cairo_surface_flush (r->mask);
    memset (cairo_image_surface_get_data (r->mask), 0,
            (size_t) cairo_image_surface_get_stride (r->mask) * r->height);
    cairo_surface_mark_dirty (r->mask);
    cairo_t *mc = cairo_create (r->mask);
    instance_transform (mc, o, ix, iy, scale, angle);
    draw_shape (mc, noun, FALSE);
    cairo_destroy (mc);
    SvBox b = mask_box (r->mask, r->width, r->height);
    o->inst[i][f] = b;
    all = box_union (all, b);

    set_rgb (cr, c, 1);
    cairo_mask_surface (cr, r->mask, 0, 0);
    cairo_save (cr);
    instance_transform (cr, o, ix, iy, scale, angle);
    cairo_set_source_rgb (cr, shade[0], shade[1], shade[2]);
    draw_shape (cr, noun, TRUE);
    cairo_restore (cr);
  }
  o->boxes[f] = all;
}

/* the scene as it looks at frame f, into surf; fills its objects' boxes for f */
static void
draw_scene (SvSynthRenderer *r, SvSynthScene *s, guint f, cairo_surface_t *surf)
{
  if (!s->bg_surface) {
    s->bg_surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, r->width, r->height);
    render_background (&s->bg, s->bg_surface, r->width, r->height);
  }
  cairo_t *cr = cairo_create (surf);
  cairo_set_source_surface (cr, s->bg_surface, 0, 0);
  cairo_paint (cr);
  guint span = s->end - s->start;
  double u = span > 1 ? (double) (f - s->start) / (span - 1) : 0;
  for (guint i = 0; i < s->n_objects; i++)
    draw_object (r, cr, &s->obj[i], u, f);
  cairo_destroy (cr);
}

static void
paint_black (cairo_surface_t *surf, double alpha)
{
  cairo_t *cr = cairo_create (surf);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_paint_with_alpha (cr, alpha);
  cairo_destroy (cr);
}

void
sv_synth_render_frame (SvSynthRenderer *r, SvSynthVideo *v, guint f, cairo_surface_t *frame)
{
  g_return_if_fail (f < v->fmt.frames);
  for (guint i = 0; i + 1 < v->n_scenes; i++) {
    const SvSynthBoundary *b = &v->bounds[i];
    if (b->length == 0 || f < b->frame || f >= b->frame + b->length)
      continue;
    double t = (double) (f - b->frame + 1) / (b->length + 1);
    if (b->kind == SV_TRANSITION_DISSOLVE) {
      draw_scene (r, &v->scenes[i], f, frame);
      draw_scene (r, &v->scenes[i + 1], f, r->scratch);
      cairo_t *cr = cairo_create (frame);
      cairo_set_source_surface (cr, r->scratch, 0, 0);
      cairo_paint_with_alpha (cr, t);
      cairo_destroy (cr);
    } else if (fabs (t - 0.5) < 1e-9) { /* the black frame in the middle of a fade */
      paint_black (frame, 1);
    } else {
      /* fade: the old scene goes to black, then the new one comes out of it */
      draw_scene (r, &v->scenes[t < 0.5 ? i : i + 1], f, frame);
      paint_black (frame, t < 0.5 ? 2 * t : 2 - 2 * t);
    }
    return;
  }
  for (guint i = 0; i < v->n_scenes; i++)
    if (f >= v->scenes[i].start && f < v->scenes[i].end) {
      draw_scene (r, &v->scenes[i], f, frame);
      return;
    }
  g_assert_not_reached ();
}
