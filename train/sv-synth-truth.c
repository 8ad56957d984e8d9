/* svilm-train synth: splits, and the manifest / ground-truth / corpus JSON. */
#include "sv-synth.h"
#include "sv-rng.h"

#include <json-glib/json-glib.h>
#include <math.h>

guint8 *
sv_synth_assign_splits (uint64_t seed, guint n, const double ratios[3])
{
  double sum = ratios[0] + ratios[1] + ratios[2];
  guint counts[SV_N_SPLITS], total = 0;
  double rem[SV_N_SPLITS];
  for (int s = 0; s < SV_N_SPLITS; s++) {
    double want = n * ratios[s] / sum;
    counts[s] = (guint) floor (want);
    rem[s] = want - counts[s];
    total += counts[s];
  }
  /* largest remainder; ties go to the earlier split */
  while (total < n) {
    int best = 0;
    for (int s = 1; s < SV_N_SPLITS; s++)
      if (rem[s] > rem[best])
        best = s;
    counts[best]++;
    rem[best] = -1;
    total++;
  }
  uint32_t *order = g_new (uint32_t, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    order[i] = i;
  SvRng rng;
  sv_rng_seed (&rng, seed ^ 0x5851F42D4C957F2Dull);
  sv_rng_shuffle (&rng, order, n);
  guint8 *split = g_new0 (guint8, MAX (n, 1));
  guint k = 0;
  for (int s = 0; s < SV_N_SPLITS; s++)
    for (guint i = 0; i < counts[s]; i++)
      split[order[k++]] = s;
  g_free (order);
  return split;
}

static char *
to_string (JsonBuilder *b)
{
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

static void
add_string (JsonBuilder *b, const char *key, const char *value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_string_value (b, value);
}

static void
add_int (JsonBuilder *b, const char *key, gint64 value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_int_value (b, value);
}

static void
add_strv (JsonBuilder *b, const char *key, const char *const *values)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (; *values; values++)
    json_builder_add_string_value (b, *values);
  json_builder_end_array (b);
}

static void
add_box (JsonBuilder *b, const SvBox *box)
{
  if (box->w == 0) {
    json_builder_add_null_value (b);
    return;
  }
  json_builder_begin_array (b);
  json_builder_add_int_value (b, box->x);
  json_builder_add_int_value (b, box->y);
  json_builder_add_int_value (b, box->w);
  json_builder_add_int_value (b, box->h);
  json_builder_end_array (b);
}

static void
add_boxes (JsonBuilder *b, const SvBox *boxes, guint frames)
{
  json_builder_begin_array (b);
  for (guint f = 0; f < frames; f++)
    add_box (b, &boxes[f]);
  json_builder_end_array (b);
}

char *
sv_synth_manifest_json (const SvSynthVideo *v, const char *path)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_string (b, "id", v->id);
  add_string (b, "path", path);
  add_string (b, "caption", v->caption);
  add_strv (b, "noun_phrases", (const char *const *) v->phrases);
  add_string (b, "split", sv_synth_splits[v->split]);
  g_autofree char *truth = g_strdup_printf ("truth/%s.json", v->id);
  add_string (b, "truth", truth);
  json_builder_end_object (b);
  return to_string (b);
}

char *
sv_synth_truth_json (const SvSynthVideo *v, const char *path, double fps)
{
  const SvSynthFormat *fmt = &v->fmt;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_string (b, "id", v->id);
  add_string (b, "path", path);
  add_string (b, "split", sv_synth_splits[v->split]);
  add_int (b, "width", fmt->width);
  add_int (b, "height", fmt->height);
  add_int (b, "frames", fmt->frames);
  json_builder_set_member_name (b, "fps");
  json_builder_add_double_value (b, fps);
  add_string (b, "caption", v->caption);
  add_strv (b, "noun_phrases", (const char *const *) v->phrases);

  json_builder_set_member_name (b, "scenes");
  json_builder_begin_array (b);
  guint first = 0;
  for (guint si = 0; si < v->n_scenes; si++) {
    const SvSynthScene *s = &v->scenes[si];
    json_builder_begin_object (b);
    add_int (b, "start", s->start);
    add_int (b, "end", s->end);
    json_builder_set_member_name (b, "background");
    json_builder_begin_object (b);
    add_string (b, "kind", sv_synth_backgrounds[s->bg.kind]);
    const char *cols[] = { sv_synth_bg_colour_names[s->bg.c1], sv_synth_bg_colour_names[s->bg.c2],
                           NULL };
    if (s->bg.kind == SV_BG_SOLID || s->bg.kind == SV_BG_NOISE)
      cols[1] = NULL;
    add_strv (b, "colours", cols);
    add_string (b, "phrase", s->bg.phrase);
    json_builder_end_object (b);
    json_builder_set_member_name (b, "objects");
    json_builder_begin_array (b);
    for (guint i = 0; i < s->n_objects; i++)
      json_builder_add_int_value (b, first + i);
    json_builder_end_array (b);
    json_builder_end_object (b);
    first += s->n_objects;
  }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "boundaries");
  json_builder_begin_array (b);
  for (guint i = 0; i + 1 < v->n_scenes; i++) {
    json_builder_begin_object (b);
    add_int (b, "frame", v->bounds[i].frame);
    add_string (b, "kind", sv_synth_transitions[v->bounds[i].kind]);
    add_int (b, "length", v->bounds[i].length);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "objects");
  json_builder_begin_array (b);
  for (guint si = 0; si < v->n_scenes; si++)
    for (guint i = 0; i < v->scenes[si].n_objects; i++) {
      const SvSynthObject *o = &v->scenes[si].obj[i];
      json_builder_begin_object (b);
      add_string (b, "phrase", o->phrase);
      add_int (b, "scene", si);
      add_string (b, "noun", sv_synth_nouns[o->noun]);
      add_string (b, "colour", sv_synth_colours[o->colour]);
      add_string (b, "size", sv_synth_sizes[o->size]);
      add_int (b, "count", o->count);
      add_string (b, "motion", sv_synth_motions[o->motion]);
      json_builder_set_member_name (b, "rgb");
      json_builder_begin_array (b);
      for (int c = 0; c < 3; c++)
        json_builder_add_int_value (b, sv_synth_colour_rgb[o->colour][c]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "boxes");
      add_boxes (b, o->boxes, fmt->frames);
      if (o->count > 1) {
        json_builder_set_member_name (b, "instances");
        json_builder_begin_array (b);
        for (guint c = 0; c < o->count; c++)
          add_boxes (b, o->inst[c], fmt->frames);
        json_builder_end_array (b);
      }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return to_string (b);
}

char *
sv_synth_corpus_json (uint64_t seed, guint count, const SvSynthFormat *fmt, double fps,
                      const double ratios[3], const guint8 *splits)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_string (b, "generator", "svilm-train synth");
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, (gint64) seed);
  add_int (b, "count", count);
  add_int (b, "width", fmt->width);
  add_int (b, "height", fmt->height);
  add_int (b, "frames", fmt->frames);
  json_builder_set_member_name (b, "fps");
  json_builder_add_double_value (b, fps);
  json_builder_set_member_name (b, "split_ratios");
  json_builder_begin_array (b);
  for (int s = 0; s < SV_N_SPLITS; s++)
    json_builder_add_double_value (b, ratios[s]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "split_counts");
  json_builder_begin_object (b);
  for (int s = 0; s < SV_N_SPLITS; s++) {
    guint n = 0;
    for (guint i = 0; i < count; i++)
      n += splits[i] == s;
    add_int (b, sv_synth_splits[s], n);
  }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "held_out");
  json_builder_begin_array (b);
  for (const SvSynthPair *p = sv_synth_held_out; p->colour >= 0; p++) {
    json_builder_begin_array (b);
    json_builder_add_string_value (b, sv_synth_colours[p->colour]);
    json_builder_add_string_value (b, sv_synth_nouns[p->noun]);
    json_builder_end_array (b);
  }
  json_builder_end_array (b);
  add_strv (b, "nouns", sv_synth_nouns);
  add_strv (b, "colours", sv_synth_colours);
  add_strv (b, "sizes", sv_synth_sizes);
  add_strv (b, "motions", sv_synth_motions);
  add_strv (b, "transitions", sv_synth_transitions);
  add_strv (b, "backgrounds", sv_synth_backgrounds);
  json_builder_end_object (b);
  return to_string (b);
}
