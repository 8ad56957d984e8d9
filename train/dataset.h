/* svilm-train: training data: manifests and the prefetching sample pipeline.
 *
 * Manifests (the format is recognised from the content):
 *   - JSON lines, one object per line: "video" (or "path"): a path relative to the
 *     manifest, an absolute path or a URI; "caption"; optional "start" / "end" (seconds),
 *     "nouns" (or "noun_phrases": the noun phrases for spatial grounding) and "split".
 *     A JSON array of such objects is read the same way.
 *   - CSV: video,caption[,start,end], with or without a header row naming the columns
 *     (video/path, caption, start, end); quoted fields as RFC 4180.
 *   - WebVid CSV: a header with contentUrl and name (the caption); with a video directory
 *     (SvDatasetOptions.video_dir) the videos are VIDEO_DIR/[page_dir/]videoid.mp4.
 *   - MSR-VTT JSON: {"videos": [{"video_id", "split"}...], "sentences": [{"video_id",
 *     "caption"}...]}: one entry per sentence, videos at VIDEO_DIR/<video_id>.mp4 (the
 *     manifest's directory by default).
 * Entries with an empty caption or no video are skipped and counted; entries with a "split"
 * other than the requested one are left out.
 *
 * Samples: data position n (0, 1, 2, ... over the whole run) is item perm_e[n mod N] of
 * epoch e = n / N, perm_e a shuffle seeded by (seed, e); everything random about the sample
 * (temporal jitter, crop, flip, prompt templates) comes from an RNG seeded by (seed, n).  So
 * the samples are a function of (seed, position) alone, whatever the number of workers,
 * and a run resumed at a position sees the same data as an uninterrupted one.
 *
 * Workers decode positions in order into a bounded prefetch queue (GAsyncQueue; at most
 * `depth` samples decoded ahead); sv_prefetch_next() hands them out in position order.
 */
#pragma once

#include "decode.h"
#include "sv-model-config.h"
#include "sv-nouns.h"
#include "sv-tokenizer.h"

#include "caption-negatives.h"
#include "hard-batches.h"

#include <glib.h>
#include <signal.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef enum {
  SV_MANIFEST_JSONL,
  SV_MANIFEST_CSV,
  SV_MANIFEST_WEBVID,
  SV_MANIFEST_MSRVTT,
} SvManifestKind;

typedef struct {
  char *video; /* as written in the manifest, for messages */
  char *uri;
  char *caption;
  double start, end; /* seconds; end <= 0: to the end */
  char **nouns;      /* from the manifest (NULL-terminated), or NULL */
  char **auto_nouns; /* computed once by the workers when nouns is NULL */
  gint bad;          /* set once the video failed to decode */
} SvDataItem;

typedef struct {
  char *path;
  SvManifestKind kind;
  GPtrArray *items;      /* SvDataItem* */
  guint n_entries;       /* entries read */
  guint n_empty_caption; /* skipped: empty caption */
  guint n_malformed;     /* skipped: no video, or a line that does not parse */
  guint n_other_split;   /* left out: another split */
} SvDataset;

typedef struct {
  const char *split;     /* keep entries of this split and those without one; NULL or "all" */
  const char *video_dir; /* MSR-VTT and WebVid */
} SvDatasetOptions;

/* FALSE (SV_ERROR_IO / SV_ERROR_FORMAT) when the file cannot be read, is not a manifest,
 * or has no usable entry. */
SvDataset *sv_dataset_load (const char *path, const SvDatasetOptions *opt, GError **error);
void sv_dataset_free (SvDataset *ds);
const char *sv_manifest_kind_name (SvManifestKind kind);

/* "left" <-> "right" (and leftward(s), leftmost), keeping the case: for flipped clips */
char *sv_swap_left_right (const char *text);
/* whether text says a side (sv_swap_left_right changes it) */
gboolean sv_says_side (const char *text);

typedef struct {
  uint64_t position;
  guint item;
  gboolean ok;
  char *error;   /* when !ok */
  float *clip;   /* [T, H, W, 3] */
  int32_t *ids;  /* [1 + Q + K, L]: the caption, its Q negatives, its K prompted phrases */
  float *mask;   /* [1 + Q + K, L] */
  int n_phrases; /* prompt k holds phrase k % n_phrases (0: the caption's fallback) */
  gboolean flipped;
  gboolean mirror;        /* the mirror image of the sample before it in its lane */
  gboolean side_negative; /* negative 0 is the caption's mirrored copy (side_negatives) */
} SvSample;

void sv_sample_free (SvSample *s);

typedef struct {
  SvDataset *ds;
  const SvModelConfig *cfg;
  const SvTokenizer *tok;
  SvNounChunker *nc; /* for items without nouns; NULL: they use the caption fallback */
  uint64_t seed;
  int workers, depth;
  int stride; /* positions start, start + stride, ... (a lane of a bigger batch); 0 = 1 */
  SvClipSpec clip;
  const SvHardBatches *hard; /* regroups each epoch's order (hard-batches.c), or NULL */
  /* Q negative captions a sample from this vocabulary (caption-negatives.h); where the
   * caption holds too few of its phrases, the rest are other captions of the corpus */
  const SvCaptionNegatives *negatives;
  int n_negatives;
  /* odds that a caption that says left or right has its mirrored copy as negative 0 */
  double side_negatives;
  /* odds that the sample at an odd place of a lane (positions start + (2k + 1) stride) is
   * the mirror image of the one before it (same video, same draws, flipped the other way,
   * caption with left and right swapped), when that one's caption says left or right */
  double mirror_pairs;
} SvPrefetchConfig;

typedef struct _SvPrefetch SvPrefetch;

/* starts the workers at data position start (then start + stride, ...) */
SvPrefetch *sv_prefetch_new (const SvPrefetchConfig *cfg, uint64_t start);
/* The sample at the next position (ok or not), or NULL once *stop is non-zero while
 * waiting.  wait_s (may be NULL) accumulates the seconds spent waiting. */
SvSample *sv_prefetch_next (SvPrefetch *pf, const volatile sig_atomic_t *stop, double *wait_s);
/* stops and joins the workers */
void sv_prefetch_free (SvPrefetch *pf);

G_END_DECLS
