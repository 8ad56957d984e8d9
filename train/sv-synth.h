/* svilm-train synth: a procedurally generated video-caption corpus with ground truth.
 *
 * A video is planned from (seed, index) alone (sv_synth_plan), so videos can be made
 * in any order by any number of workers and the corpus is the same.  Rendering a frame
 * (sv_synth_render_frame) draws it with cairo and measures every object's box from its
 * own coverage mask.  See docs/synth.md for the grammar and the truth format.
 */
#pragma once

#include <glib.h>
#include <cairo.h>
#include <stdint.h>

G_BEGIN_DECLS

#define SV_SYNTH_MAX_SCENES 3
#define SV_SYNTH_MAX_OBJECTS 3 /* noun phrases per scene (and instances per scene) */
#define SV_SYNTH_MAX_INSTANCES 2

typedef enum { SV_SPLIT_TRAIN, SV_SPLIT_VAL, SV_SPLIT_TEST, SV_N_SPLITS } SvSplit;

typedef enum {
  SV_MOTION_LEFT,
  SV_MOTION_RIGHT,
  SV_MOTION_UP,
  SV_MOTION_DOWN,
  SV_MOTION_STILL,
  SV_MOTION_ROTATING,
  SV_MOTION_GROWING,
  SV_MOTION_BOUNCING,
  SV_N_MOTIONS
} SvMotion;

typedef enum {
  SV_TRANSITION_CUT,
  SV_TRANSITION_DISSOLVE,
  SV_TRANSITION_FADE,
  SV_N_TRANSITIONS
} SvTransition;

typedef enum {
  SV_BG_SOLID,
  SV_BG_GRADIENT,
  SV_BG_STRIPES,
  SV_BG_CHECKER,
  SV_BG_NOISE,
  SV_N_BACKGROUNDS
} SvBackgroundKind;

/* vocabulary tables (sv-synth-plan.c) */
extern const char *const sv_synth_nouns[];   /* shapes then sprites, NULL-terminated */
extern const char *const sv_synth_colours[]; /* NULL-terminated */
extern const guint8 sv_synth_colour_rgb[][3];
extern const char *const sv_synth_sizes[];       /* "small", "big" */
extern const char *const sv_synth_motions[];     /* indexed by SvMotion */
extern const char *const sv_synth_transitions[]; /* indexed by SvTransition */
extern const char *const sv_synth_backgrounds[]; /* indexed by SvBackgroundKind */
extern const char *const sv_synth_splits[];      /* indexed by SvSplit */
guint sv_synth_n_nouns (void);
guint sv_synth_n_colours (void);

/* (colour, noun) pairs never shown in the train split; terminated by {-1, -1} */
typedef struct {
  int colour;
  int noun;
} SvSynthPair;
extern const SvSynthPair sv_synth_held_out[];
gboolean sv_synth_is_held_out (guint colour, guint noun);

typedef struct {
  int x, y, w, h; /* pixels; w == 0 when not visible in the frame */
} SvBox;

typedef struct {
  guint noun, colour, size, count;
  SvMotion motion;
  char *phrase; /* as it appears in the caption */
  /* geometry, in pixels; the centre of the group moves from (x0,y0) to (x1,y1) */
  double px; /* nominal diameter */
  double x0, y0, x1, y1;
  double angle0, dangle; /* rotation (radians) over the scene */
  double scale0, scale1; /* growth over the scene */
  double bounce_amp;     /* bouncing: peak height */
  guint bounces;         /* bouncing: hops over the scene */
  double off_x, off_y;   /* instance i is at centre + (i - (count-1)/2) * off */
  gboolean flip;         /* sprites face left */
  /* truth filled in by rendering: boxes[frame] (union) and inst[i][frame] */
  SvBox *boxes;
  SvBox *inst[SV_SYNTH_MAX_INSTANCES];
} SvSynthObject;

typedef struct {
  SvBackgroundKind kind;
  guint c1, c2; /* background palette indices */
  guint orient; /* 0 horizontal, 1 vertical, 2 diagonal */
  guint period; /* stripes / checker cell, pixels */
  uint64_t noise_seed;
  char *phrase; /* "a striped background" ... (not a grounded noun phrase) */
} SvSynthBackground;

typedef struct {
  guint start, end; /* frames [start, end) showing the scene at least partly */
  SvSynthBackground bg;
  guint n_objects;
  SvSynthObject obj[SV_SYNTH_MAX_OBJECTS];
  cairo_surface_t *bg_surface; /* rendering cache */
} SvSynthScene;

typedef struct {
  SvTransition kind;
  guint frame;  /* first frame showing any of the next scene */
  guint length; /* frames of the transition; 0 for a cut */
} SvSynthBoundary;

typedef struct {
  guint width, height, frames;
} SvSynthFormat;

typedef struct {
  guint index;
  char id[16];
  SvSplit split;
  SvSynthFormat fmt;
  guint n_scenes;
  SvSynthScene scenes[SV_SYNTH_MAX_SCENES];
  SvSynthBoundary bounds[SV_SYNTH_MAX_SCENES - 1];
  char *caption;
  char **phrases; /* object noun phrases in caption order */
} SvSynthVideo;

extern const char *const sv_synth_bg_colour_names[];
extern const guint8 sv_synth_bg_rgb[][3];
guint sv_synth_n_bg_colours (void);

/* Plans video `index` of a corpus: content, caption and geometry, from (seed, index). */
SvSynthVideo *sv_synth_plan (uint64_t seed, guint index, SvSplit split, const SvSynthFormat *fmt);
void sv_synth_video_free (SvSynthVideo *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SvSynthVideo, sv_synth_video_free)

/* Splits of a corpus of n videos: exact counts by largest remainder of ratios[3], then a
 * seeded shuffle; returns n SvSplit values (g_free). */
guint8 *sv_synth_assign_splits (uint64_t seed, guint n, const double ratios[3]);

/* Rendering: a per-worker scratch (mask surface); frame is CAIRO_FORMAT_RGB24 of the
 * video's size.  Fills the objects' boxes for frame f. */
typedef struct _SvSynthRenderer SvSynthRenderer;
SvSynthRenderer *sv_synth_renderer_new (guint width, guint height);
void sv_synth_renderer_free (SvSynthRenderer *r);
void sv_synth_render_frame (SvSynthRenderer *r, SvSynthVideo *v, guint f, cairo_surface_t *frame);

/* Ground truth of a rendered video as one line of JSON (no newline), and its manifest
 * line; path is relative to the corpus directory. */
char *sv_synth_truth_json (const SvSynthVideo *v, const char *path, double fps);
char *sv_synth_manifest_json (const SvSynthVideo *v, const char *path);
/* DIR/corpus.json: parameters, split counts, held-out pairs and the vocabulary */
char *sv_synth_corpus_json (uint64_t seed, guint count, const SvSynthFormat *fmt, double fps,
                            const double ratios[3], const guint8 *splits);
/* DIR/swaps.json: the grammar's nouns and generic motion phrases as a swap vocabulary for
 * negative captions (train/caption-negatives.h), the held-out pairs avoided */
char *sv_synth_swaps_json (void);

G_END_DECLS
