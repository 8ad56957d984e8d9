/* svilm-train synth: planning a video (scenes, objects, motions, caption) from the seed. */
#include "sv-synth.h"
#include "sv-rng.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

enum { C_RED, C_GREEN, C_BLUE, C_YELLOW, C_PURPLE, C_ORANGE, C_WHITE, C_BLACK };
enum {
  N_CIRCLE,
  N_SQUARE,
  N_TRIANGLE,
  N_STAR,
  N_RING,
  N_DOG,
  N_CAT,
  N_CAR,
  N_BALL,
  N_TREE,
  N_HOUSE,
  N_FISH,
  N_BIRD
};

const char *const sv_synth_nouns[] = { "circle", "square", "triangle", "star", "ring",
                                       "dog",    "cat",    "car",      "ball", "tree",
                                       "house",  "fish",   "bird",     NULL };
static const char *const noun_plurals[] = { "circles", "squares", "triangles", "stars", "rings",
                                            "dogs",    "cats",    "cars",      "balls", "trees",
                                            "houses",  "fish",    "birds" };
const char *const sv_synth_colours[] = { "red",    "green", "blue",  "yellow", "purple",
                                         "orange", "white", "black", NULL };
const guint8 sv_synth_colour_rgb[][3] = { { 220, 30, 30 },   { 30, 170, 50 },  { 40, 80, 235 },
                                          { 245, 215, 30 },  { 140, 50, 180 }, { 250, 135, 20 },
                                          { 250, 250, 250 }, { 15, 15, 15 } };
const char *const sv_synth_sizes[] = { "small", "big", NULL };
const char *const sv_synth_motions[] = { "left",     "right",   "up",       "down", "still",
                                         "rotating", "growing", "bouncing", NULL };
const char *const sv_synth_transitions[] = { "cut", "dissolve", "fade", NULL };
const char *const sv_synth_backgrounds[] = { "solid",   "gradient", "stripes",
                                             "checker", "noise",    NULL };
const char *const sv_synth_splits[] = { "train", "val", "test", NULL };
const char *const sv_synth_bg_colour_names[] = { "grey",  "light grey", "dark grey",
                                                 "beige", "brown",      "teal",
                                                 "olive", "pink",       NULL };
const guint8 sv_synth_bg_rgb[][3] = { { 128, 128, 128 }, { 192, 192, 192 }, { 70, 70, 70 },
                                      { 214, 196, 150 }, { 115, 80, 50 },   { 40, 115, 115 },
                                      { 128, 128, 64 },  { 235, 170, 190 } };

const SvSynthPair sv_synth_held_out[] = {
  { C_GREEN, N_TRIANGLE }, { C_PURPLE, N_CAR }, { C_YELLOW, N_DOG }, { C_WHITE, N_STAR }, { -1, -1 }
};

guint
sv_synth_n_nouns (void)
{
  return G_N_ELEMENTS (sv_synth_nouns) - 1;
}

guint
sv_synth_n_colours (void)
{
  return G_N_ELEMENTS (sv_synth_colours) - 1;
}

guint
sv_synth_n_bg_colours (void)
{
  return G_N_ELEMENTS (sv_synth_bg_colour_names) - 1;
}

gboolean
sv_synth_is_held_out (guint colour, guint noun)
{
  for (const SvSynthPair *p = sv_synth_held_out; p->colour >= 0; p++)
    if ((guint) p->colour == colour && (guint) p->noun == noun)
      return TRUE;
  return FALSE;
}

/* ---- grammar ---------------------------------------------------------------------------- */

/* Verb phrases: "singular|plural rest"; the first word alternates with the number. */
static const char *const vp_generic[SV_N_MOTIONS][5] = {
  [SV_MOTION_LEFT] = { "moves|move to the left", "slides|slide to the left",
                       "drifts|drift to the left", "travels|travel leftward", NULL },
  [SV_MOTION_RIGHT] = { "moves|move to the right", "slides|slide to the right",
                        "drifts|drift to the right", "travels|travel rightward", NULL },
  [SV_MOTION_UP] = { "moves|move up", "rises|rise", "floats|float upward", "climbs|climb up",
                     NULL },
  [SV_MOTION_DOWN] = { "moves|move down", "falls|fall", "sinks|sink", "drops|drop down", NULL },
  [SV_MOTION_STILL] = { "stays|stay still", "sits|sit still", "does|do not move",
                        "rests|rest in place", NULL },
  [SV_MOTION_ROTATING] = { "spins|spin", "rotates|rotate", "turns|turn around",
                           "spins|spin in place", NULL },
  [SV_MOTION_GROWING] = { "grows|grow", "gets|get bigger", "expands|expand", "grows|grow larger",
                          NULL },
  [SV_MOTION_BOUNCING] = { "bounces|bounce", "bounces|bounce up and down", "jumps|jump up and down",
                           NULL, NULL },
};

typedef struct {
  int noun;
  SvMotion motion;
  const char *vp;
} NounVerb;

static const NounVerb vp_special[] = {
  { N_BALL, SV_MOTION_LEFT, "rolls|roll to the left" },
  { N_BALL, SV_MOTION_RIGHT, "rolls|roll to the right" },
  { N_CAR, SV_MOTION_LEFT, "drives|drive to the left" },
  { N_CAR, SV_MOTION_RIGHT, "drives|drive to the right" },
  { N_DOG, SV_MOTION_LEFT, "runs|run to the left" },
  { N_DOG, SV_MOTION_RIGHT, "runs|run to the right" },
  { N_DOG, SV_MOTION_BOUNCING, "hops|hop" },
  { N_CAT, SV_MOTION_LEFT, "walks|walk to the left" },
  { N_CAT, SV_MOTION_RIGHT, "walks|walk to the right" },
  { N_CAT, SV_MOTION_BOUNCING, "jumps|jump" },
  { N_FISH, SV_MOTION_LEFT, "swims|swim to the left" },
  { N_FISH, SV_MOTION_RIGHT, "swims|swim to the right" },
  { N_FISH, SV_MOTION_UP, "swims|swim up" },
  { N_FISH, SV_MOTION_DOWN, "swims|swim down" },
  { N_BIRD, SV_MOTION_LEFT, "flies|fly to the left" },
  { N_BIRD, SV_MOTION_RIGHT, "flies|fly to the right" },
  { N_BIRD, SV_MOTION_UP, "flies|fly up" },
  { N_BIRD, SV_MOTION_DOWN, "flies|fly down" },
  { N_TREE, SV_MOTION_STILL, "stands|stand still" },
  { N_HOUSE, SV_MOTION_STILL, "stands|stand still" },
};

static const char *const size_words[2][3] = { { "small", "little", "tiny" },
                                              { "big", "large", "huge" } };

static const char *
pick (SvRng *rng, const char *const *items, guint n)
{
  return items[sv_rng_below (rng, n)];
}

static gboolean
chance (SvRng *rng, double p)
{
  return sv_rng_uniform (rng) < p;
}

static double
uniform (SvRng *rng, double lo, double hi)
{
  return lo + (hi - lo) * sv_rng_uniform (rng);
}

/* "moves|move to the left" -> the singular or plural form */
static char *
verb_form (const char *vp, gboolean plural)
{
  const char *bar = strchr (vp, '|');
  const char *space = strchr (vp, ' ');
  if (!bar)
    return g_strdup (vp);
  const char *rest = space ? space : vp + strlen (vp);
  if (plural)
    return g_strconcat (bar + 1, NULL);
  return g_strdup_printf ("%.*s%s", (int) (bar - vp), vp, rest);
}

static char *
verb_phrase (SvRng *rng, const SvSynthObject *o, gboolean plural, gboolean generic_only)
{
  const char *cands[12];
  guint n = 0;
  for (guint i = 0; i < 5 && vp_generic[o->motion][i]; i++)
    cands[n++] = vp_generic[o->motion][i];
  if (!generic_only)
    for (guint i = 0; i < G_N_ELEMENTS (vp_special); i++)
      if ((guint) vp_special[i].noun == o->noun && vp_special[i].motion == o->motion) {
        /* a noun's own verb is the likelier pick */
        cands[n++] = vp_special[i].vp;
        cands[n++] = vp_special[i].vp;
      }
  return verb_form (pick (rng, cands, n), plural);
}

static char *
noun_phrase (SvRng *rng, const SvSynthObject *o)
{
  const char *size = size_words[o->size][sv_rng_below (rng, 3)];
  if (o->count > 1)
    return g_strdup_printf ("two %s %s %s", size, sv_synth_colours[o->colour],
                            noun_plurals[o->noun]);
  return g_strdup_printf ("a %s %s %s", size, sv_synth_colours[o->colour], sv_synth_nouns[o->noun]);
}

static const char *
article (const char *word)
{
  return word[0] && strchr ("aeiou", word[0]) ? "an" : "a";
}

static char *
background_phrase (SvRng *rng, const SvSynthBackground *bg)
{
  const char *c1 = sv_synth_bg_colour_names[bg->c1];
  const char *c2 = sv_synth_bg_colour_names[bg->c2];
  switch (bg->kind) {
  case SV_BG_SOLID:
    return chance (rng, 0.5) ? g_strdup_printf ("a plain %s background", c1)
                             : g_strdup_printf ("%s %s background", article (c1), c1);
  case SV_BG_GRADIENT:
    return chance (rng, 0.5) ? g_strdup_printf ("%s %s to %s gradient", article (c1), c1, c2)
                             : g_strdup ("a gradient background");
  case SV_BG_STRIPES:
    return chance (rng, 0.5) ? g_strdup ("a striped background")
                             : g_strdup_printf ("%s and %s stripes", c1, c2);
  case SV_BG_CHECKER:
    return g_strdup (chance (rng, 0.5) ? "a checkered background" : "a checkerboard");
  case SV_BG_NOISE:
  default:
    return chance (rng, 0.5) ? g_strdup ("a noisy background")
                             : g_strdup_printf ("a grainy %s background", c1);
  }
}

static gboolean
translating (SvMotion m)
{
  return m <= SV_MOTION_DOWN;
}

/* One scene as a clause; phrases are appended to `phrases` in the order they appear. */
static char *
scene_clause (SvRng *rng, SvSynthScene *s, GPtrArray *phrases)
{
  g_autoptr (GString) out = g_string_new (NULL);
  SvSynthObject *o = s->obj;
  g_autofree char *bg = NULL;
  const char *prep = NULL;
  gboolean bg_front = FALSE;
  if (chance (rng, 0.35)) {
    static const char *const preps[] = { "on", "in front of", "over", "against" };
    bg = g_strdup (s->bg.phrase);
    prep = pick (rng, preps, G_N_ELEMENTS (preps));
    bg_front = s->n_objects > 1 && chance (rng, 0.3);
    if (bg_front)
      g_string_append_printf (out, "%s %s, ", prep, bg);
  }
  for (guint i = 0; i < s->n_objects; i++)
    g_ptr_array_add (phrases, o[i].phrase);

  if (s->n_objects == 2 && o[0].motion == o[1].motion && chance (rng, 0.4)) {
    g_autofree char *vp = verb_phrase (rng, &o[0], TRUE, TRUE);
    g_string_append_printf (out, "%s and %s %s", o[0].phrase, o[1].phrase, vp);
  } else if (s->n_objects == 2 && translating (o[0].motion) && o[1].motion == SV_MOTION_STILL &&
             chance (rng, 0.5)) {
    g_autofree char *vp = verb_phrase (rng, &o[0], o[0].count > 1, FALSE);
    g_string_append_printf (out, "%s %s past %s", o[0].phrase, vp, o[1].phrase);
  } else {
    static const char *const conj2[] = { "and", "while" };
    for (guint i = 0; i < s->n_objects; i++) {
      g_autofree char *vp = verb_phrase (rng, &o[i], o[i].count > 1, FALSE);
      if (i > 0 && s->n_objects == 2)
        g_string_append_printf (out, " %s ", pick (rng, conj2, 2));
      else if (i > 0)
        g_string_append (out, i + 1 == s->n_objects ? " and " : ", ");
      g_string_append_printf (out, "%s %s", o[i].phrase, vp);
    }
  }
  if (bg && !bg_front)
    g_string_append_printf (out, " %s %s", prep, bg);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* "S1, then S2, and finally S3"; no connective before S1, which would join its noun phrase */
static char *
join_scenes (SvRng *rng, char **clauses, guint n)
{
  static const char *const joins[] = { ", then ", "; then ", ", and then ", ", after that " };
  g_autoptr (GString) out = g_string_new (clauses[0]);
  for (guint i = 1; i < n; i++) {
    if (i == 2 && chance (rng, 0.5))
      g_string_append (out, ", and finally ");
    else
      g_string_append (out, pick (rng, joins, G_N_ELEMENTS (joins)));
    g_string_append (out, clauses[i]);
  }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ---- content ---------------------------------------------------------------------------- */

static double
colour_distance (const guint8 *a, const guint8 *b)
{
  double d = 0;
  for (int i = 0; i < 3; i++)
    d += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
  return sqrt (d);
}

static double
luma (const guint8 *c)
{
  return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
}

/* far enough in colour, and either in brightness or clearly in hue */
static gboolean
contrasts_with (const guint8 *c, const guint8 *bg)
{
  double d = colour_distance (c, bg);
  return d >= 110 && (fabs (luma (c) - luma (bg)) >= 20 || d >= 130);
}

static gboolean
contrasts (guint colour, const SvSynthBackground *bg)
{
  const guint8 *c = sv_synth_colour_rgb[colour];
  return contrasts_with (c, sv_synth_bg_rgb[bg->c1]) &&
         (bg->kind == SV_BG_SOLID || bg->kind == SV_BG_NOISE ||
          contrasts_with (c, sv_synth_bg_rgb[bg->c2]));
}

static void
plan_background (SvRng *rng, SvSynthBackground *bg)
{
  static const double weights[SV_N_BACKGROUNDS] = { 0.3, 0.2, 0.2, 0.15, 0.15 };
  double u = sv_rng_uniform (rng), acc = 0;
  bg->kind = SV_BG_NOISE;
  for (int k = 0; k < SV_N_BACKGROUNDS; k++) {
    acc += weights[k];
    if (u < acc) {
      bg->kind = k;
      break;
    }
  }
  guint nb = sv_synth_n_bg_colours ();
  bg->c1 = sv_rng_below (rng, nb);
  do
    bg->c2 = sv_rng_below (rng, nb);
  while (bg->c2 == bg->c1);
  bg->orient = sv_rng_below (rng, 3);
  bg->period = 5 + sv_rng_below (rng, 8);
  bg->noise_seed = sv_rng_next (rng);
  bg->phrase = background_phrase (rng, bg);
}

static gboolean
motion_allowed (guint noun, SvMotion m)
{
  /* a spinning disc looks still */
  return !(m == SV_MOTION_ROTATING && (noun == N_CIRCLE || noun == N_RING));
}

/* Attributes of one object; FALSE when no acceptable one was found. */
static gboolean
plan_attributes (SvRng *rng, SvSynthVideo *v, SvSynthScene *s, SvSynthObject *o, guint room)
{
  for (int attempt = 0; attempt < 64; attempt++) {
    if (v->split != SV_SPLIT_TRAIN && chance (rng, 0.25)) {
      /* val/test over-sample the held-out pairs so generalisation is measured */
      guint n_pairs = 0;
      while (sv_synth_held_out[n_pairs].colour >= 0)
        n_pairs++;
      const SvSynthPair *p = &sv_synth_held_out[sv_rng_below (rng, n_pairs)];
      o->colour = p->colour;
      o->noun = p->noun;
    } else {
      o->colour = sv_rng_below (rng, sv_synth_n_colours ());
      o->noun = sv_rng_below (rng, sv_synth_n_nouns ());
    }
    o->size = sv_rng_below (rng, 2);
    o->motion = sv_rng_below (rng, SV_N_MOTIONS);
    o->count = room >= 2 && chance (rng, 0.15) ? 2 : 1;
    if (v->split == SV_SPLIT_TRAIN && sv_synth_is_held_out (o->colour, o->noun))
      continue;
    if (!contrasts (o->colour, &s->bg) || !motion_allowed (o->noun, o->motion))
      continue;
    /* every (colour, noun) once per video, so each phrase names one thing */
    gboolean dup = FALSE;
    for (guint si = 0; si < v->n_scenes && !dup; si++)
      for (guint j = 0; j < v->scenes[si].n_objects && !dup; j++) {
        const SvSynthObject *q = &v->scenes[si].obj[j];
        dup = q != o && q->phrase && q->colour == o->colour && q->noun == o->noun;
      }
    if (!dup)
      return TRUE;
  }
  return FALSE;
}

typedef struct {
  double x0, y0, x1, y1;
} Rect;

static double
overlap (const Rect *a, const Rect *b)
{
  double w = MIN (a->x1, b->x1) - MAX (a->x0, b->x0);
  double h = MIN (a->y1, b->y1) - MAX (a->y0, b->y0);
  return w > 0 && h > 0 ? w * h : 0;
}

/* Size, path and the other motion parameters, keeping the object inside the frame and
 * (where it can) away from the scene's other objects. */
static void
plan_geometry (SvRng *rng, const SvSynthFormat *fmt, SvSynthObject *o, Rect *swept,
               const Rect *others, guint n_others)
{
  double W = fmt->width, H = fmt->height, m = MIN (W, H);
  o->px = o->size ? m * uniform (rng, 0.30, 0.36) : m * uniform (rng, 0.17, 0.22);
  o->scale0 = o->scale1 = 1.0;
  if (o->motion == SV_MOTION_GROWING) {
    o->scale0 = 0.75;
    o->scale1 = 1.5;
  }
  o->angle0 = o->dangle = 0;
  if (o->motion == SV_MOTION_ROTATING) {
    o->angle0 = uniform (rng, 0, 2 * G_PI);
    o->dangle = (chance (rng, 0.5) ? 1 : -1) * uniform (rng, G_PI, 2 * G_PI);
  }
  o->flip = o->motion == SV_MOTION_LEFT || (o->motion != SV_MOTION_RIGHT && chance (rng, 0.5));
  o->bounces = 1 + sv_rng_below (rng, 2);

  double best = -1;
  SvSynthObject keep = *o;
  Rect keep_swept = { 0 };
  for (int attempt = 0; attempt < 40; attempt++) {
    double r = o->px / 2 * (o->motion == SV_MOTION_ROTATING ? 1.25 : 1.05) * o->scale1;
    double gap = o->px * 1.15 * o->scale1;
    gboolean vertical_pair = o->motion == SV_MOTION_LEFT || o->motion == SV_MOTION_RIGHT;
    o->off_x = o->count > 1 && !vertical_pair ? gap : 0;
    o->off_y = o->count > 1 && vertical_pair ? gap : 0;
    double hx = r + o->off_x / 2, hy = r + o->off_y / 2;
    double xlo = hx + 1, xhi = W - 1 - hx, ylo = hy + 1, yhi = H - 1 - hy;
    if (xhi - xlo < 4 || yhi - ylo < 4) {
      o->px *= 0.85; /* too big for this frame: shrink and retry */
      continue;
    }
    double dx = 0, dy = 0;
    o->bounce_amp = 0;
    switch (o->motion) {
    case SV_MOTION_LEFT:
    case SV_MOTION_RIGHT:
      dx = uniform (rng, 0.55, 0.95) * (xhi - xlo);
      break;
    case SV_MOTION_UP:
    case SV_MOTION_DOWN:
      dy = uniform (rng, 0.55, 0.95) * (yhi - ylo);
      break;
    case SV_MOTION_BOUNCING:
      o->bounce_amp = uniform (rng, 0.5, 0.9) * (yhi - ylo);
      break;
    default:
      break;
    }
    double xs = uniform (rng, xlo, xhi - dx), ys = uniform (rng, ylo + o->bounce_amp, yhi - dy);
    o->x0 = o->x1 = xs;
    o->y0 = o->y1 = ys;
    if (o->motion == SV_MOTION_LEFT)
      o->x0 = xs + dx;
    else if (o->motion == SV_MOTION_RIGHT)
      o->x1 = xs + dx;
    else if (o->motion == SV_MOTION_UP)
      o->y0 = ys + dy;
    else if (o->motion == SV_MOTION_DOWN)
      o->y1 = ys + dy;
    Rect sw = { MIN (o->x0, o->x1) - hx, MIN (o->y0, o->y1) - hy - o->bounce_amp,
                MAX (o->x0, o->x1) + hx, MAX (o->y0, o->y1) + hy };
    double ov = 0;
    for (guint i = 0; i < n_others; i++)
      ov += overlap (&sw, &others[i]);
    if (best < 0 || ov < best) {
      best = ov;
      keep = *o;
      keep_swept = sw;
    }
    if (ov == 0)
      break;
  }
  *o = keep;
  *swept = keep_swept;
}

/* Scene count, transitions and their frames. */
static void
plan_timeline (SvRng *rng, SvSynthVideo *v)
{
  guint F = v->fmt.frames;
  guint max_scenes = MIN (SV_SYNTH_MAX_SCENES, F / 5);
  double u = sv_rng_uniform (rng);
  guint n = u < 0.5 ? 1 : u < 0.85 ? 2 : 3;
  n = CLAMP (n, 1, MAX (max_scenes, 1));
  v->n_scenes = n;

  guint lengths[SV_SYNTH_MAX_SCENES] = { 0 }, total = 0;
  for (guint i = 0; i + 1 < n; i++) {
    double t = sv_rng_uniform (rng);
    SvSynthBoundary *b = &v->bounds[i];
    b->kind = t < 0.5 ? SV_TRANSITION_CUT : t < 0.75 ? SV_TRANSITION_DISSOLVE : SV_TRANSITION_FADE;
    /* 2-4 frames in the default 16-frame videos; longer videos get longer dissolves and
     * fades too (up to a quarter of the video, as real footage has: 6-16 frames) */
    guint spread = 3 + (F > 16 ? (F - 16) / 4 : 0);
    b->length = b->kind == SV_TRANSITION_CUT ? 0 : 2 + sv_rng_below (rng, spread);
    lengths[i] = b->length;
    total += b->length;
  }
  /* each scene keeps at least 3 frames of its own; shorten transitions to make room */
  const guint min_pure = 3;
  for (guint i = 0; i + 1 < n && total + min_pure * n > F; i++) {
    total -= lengths[i];
    v->bounds[i].kind = SV_TRANSITION_CUT;
    v->bounds[i].length = lengths[i] = 0;
  }
  guint pure[SV_SYNTH_MAX_SCENES] = { F };
  if (n > 1) {
    for (guint i = 0; i < n; i++)
      pure[i] = min_pure;
    for (guint k = 0; k < F - total - min_pure * n; k++)
      pure[sv_rng_below (rng, n)]++;
  }

  guint f = 0;
  for (guint i = 0; i < n; i++) {
    v->scenes[i].start = i == 0 ? 0 : v->bounds[i - 1].frame;
    f += pure[i];
    if (i + 1 < n) {
      v->bounds[i].frame = f;
      f += v->bounds[i].length;
      v->scenes[i].end = f;
    } else {
      v->scenes[i].end = F;
    }
  }
  g_assert (f == F);
}

SvSynthVideo *
sv_synth_plan (uint64_t seed, guint index, SvSplit split, const SvSynthFormat *fmt)
{
  SvSynthVideo *v = g_new0 (SvSynthVideo, 1);
  v->index = index;
  g_snprintf (v->id, sizeof v->id, "%06u", index);
  v->split = split;
  v->fmt = *fmt;
  SvRng rng;
  sv_rng_seed (&rng, seed ^ (0xD1B54A32D192ED03ull * ((uint64_t) index + 1)));
  plan_timeline (&rng, v);

  char *clauses[SV_SYNTH_MAX_SCENES] = { 0 };
  GPtrArray *phrases = g_ptr_array_new ();
  for (guint si = 0; si < v->n_scenes; si++) {
    SvSynthScene *s = &v->scenes[si];
    plan_background (&rng, &s->bg);
    /* 1-3 objects; fewer per scene when there are more scenes, to keep captions short */
    static const double p_one[] = { 0.35, 0.6, 0.8 }, p_two[] = { 0.8, 0.95, 1.0 };
    double u = sv_rng_uniform (&rng);
    guint n_s = v->n_scenes - 1;
    guint want = u < p_one[n_s] ? 1 : u < p_two[n_s] ? 2 : 3, instances = 0;
    Rect swept[SV_SYNTH_MAX_OBJECTS];
    s->n_objects = 0;
    /* tries a few more times if nothing fitted yet: a scene shows at least one object */
    for (guint k = 0;
         (k < want || s->n_objects == 0) && k < want + 16 && instances < SV_SYNTH_MAX_OBJECTS;
         k++) {
      SvSynthObject *o = &s->obj[s->n_objects];
      guint later = k + 1 < want ? want - k - 1 : 0;
      guint room =
          SV_SYNTH_MAX_OBJECTS - instances - MIN (later, SV_SYNTH_MAX_OBJECTS - instances - 1);
      if (!plan_attributes (&rng, v, s, o, room))
        continue;
      plan_geometry (&rng, fmt, o, &swept[s->n_objects], swept, s->n_objects);
      o->phrase = noun_phrase (&rng, o);
      instances += o->count;
      s->n_objects++;
    }
    g_assert (s->n_objects > 0);
    for (guint i = 0; i < s->n_objects; i++) {
      s->obj[i].boxes = g_new0 (SvBox, fmt->frames);
      for (guint c = 0; c < s->obj[i].count; c++)
        s->obj[i].inst[c] = g_new0 (SvBox, fmt->frames);
    }
    clauses[si] = scene_clause (&rng, s, phrases);
  }
  v->caption = join_scenes (&rng, clauses, v->n_scenes);
  v->phrases = g_new0 (char *, phrases->len + 1);
  for (guint i = 0; i < phrases->len; i++)
    v->phrases[i] = g_strdup (phrases->pdata[i]);
  g_ptr_array_unref (phrases);
  for (guint si = 0; si < v->n_scenes; si++)
    g_free (clauses[si]);
  return v;
}

void
sv_synth_video_free (SvSynthVideo *v)
{
  if (!v)
    return;
  for (guint si = 0; si < v->n_scenes; si++) {
    SvSynthScene *s = &v->scenes[si];
    g_free (s->bg.phrase);
    g_clear_pointer (&s->bg_surface, cairo_surface_destroy);
    for (guint i = 0; i < s->n_objects; i++) {
      g_free (s->obj[i].phrase);
      g_free (s->obj[i].boxes);
      for (guint c = 0; c < SV_SYNTH_MAX_INSTANCES; c++)
        g_free (s->obj[i].inst[c]);
    }
  }
  g_free (v->caption);
  g_strfreev (v->phrases);
  g_free (v);
}

/* ---- swap vocabulary ----------------------------------------------------------------- */

static void
add_forms (JsonBuilder *b, const char *singular, const char *plural)
{
  json_builder_begin_array (b);
  json_builder_add_string_value (b, singular);
  json_builder_add_string_value (b, plural);
  json_builder_end_array (b);
}

/* noun-specific verbs ("rolls to the left") stay out: swapped onto another noun they would
 * read oddly, a cue that needs no video */
char *
sv_synth_swaps_json (void)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "slots");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "noun");
  json_builder_begin_array (b);
  for (guint n = 0; n < sv_synth_n_nouns (); n++) {
    json_builder_begin_array (b);
    add_forms (b, sv_synth_nouns[n], noun_plurals[n]);
    json_builder_end_array (b);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "motion");
  json_builder_begin_array (b);
  for (int m = 0; m < SV_N_MOTIONS; m++) {
    json_builder_begin_array (b);
    for (guint i = 0; i < 5 && vp_generic[m][i]; i++) {
      g_autofree char *one = verb_form (vp_generic[m][i], FALSE);
      g_autofree char *many = verb_form (vp_generic[m][i], TRUE);
      add_forms (b, one, many);
    }
    json_builder_end_array (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "avoid");
  json_builder_begin_array (b);
  for (const SvSynthPair *p = sv_synth_held_out; p->colour >= 0; p++) {
    g_autofree char *one =
        g_strdup_printf ("%s %s", sv_synth_colours[p->colour], sv_synth_nouns[p->noun]);
    g_autofree char *many =
        g_strdup_printf ("%s %s", sv_synth_colours[p->colour], noun_plurals[p->noun]);
    json_builder_add_string_value (b, one);
    json_builder_add_string_value (b, many);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  return json_generator_to_data (gen, NULL);
}
