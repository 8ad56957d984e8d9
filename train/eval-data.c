/* svilm-train eval: manifests, ground truth and decoding whole videos. */
#include "eval.h"
#include "sv-safetensors.h"
#include "video-pipe.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <string.h>

#define DECODE_STALL_S 30

#define MAX_JSON_DEPTH 64

/* json-glib recurses once per nesting level and accepts some malformed escapes: every
 * input goes through svilm-core's strict pre-scan (sv_json_check) first. */
static gboolean
json_shape_ok (const char *text, gsize len, const char *what, GError **error)
{
  return sv_json_check (text, len, MAX_JSON_DEPTH, what, error);
}

/* ---- manifest ---- */

static void
item_free (gpointer data)
{
  SvEvalItem *it = data;
  g_free (it->id);
  g_free (it->video);
  g_free (it->uri);
  g_free (it->path);
  g_ptr_array_unref (it->captions);
  g_strfreev (it->phrases);
  g_free (it->truth);
  g_free (it);
}

static const char *
member_string (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
             ? json_node_get_string (n)
             : NULL;
}

static char **
member_strv (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  if (!n || !JSON_NODE_HOLDS_ARRAY (n))
    return NULL;
  JsonArray *a = json_node_get_array (n);
  GPtrArray *v = g_ptr_array_new ();
  for (guint i = 0; i < json_array_get_length (a); i++) {
    JsonNode *e = json_array_get_element (a, i);
    if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING)
      g_ptr_array_add (v, g_strdup (json_node_get_string (e)));
  }
  g_ptr_array_add (v, NULL);
  return (char **) g_ptr_array_free (v, FALSE);
}

/* a path relative to the manifest's directory */
static char *
resolve (const char *dir, const char *p)
{
  return g_path_is_absolute (p) ? g_strdup (p) : g_build_filename (dir, p, NULL);
}

static void
add_entry (JsonObject *o, const char *dir, const char *split, GPtrArray *items, GHashTable *by,
           guint *n_other)
{
  const char *video = member_string (o, "video");
  if (!video)
    video = member_string (o, "path");
  const char *caption = member_string (o, "caption");
  const char *s = member_string (o, "split");
  if (!video || !*video)
    return;
  if (split && s && g_strcmp0 (split, "all") != 0 && g_strcmp0 (split, s) != 0) {
    (*n_other)++;
    return;
  }
  g_autofree char *path = NULL, *uri = NULL;
  if (gst_uri_is_valid (video)) {
    uri = g_strdup (video);
    path = g_str_has_prefix (video, "file:") ? g_filename_from_uri (video, NULL, NULL) : NULL;
  } else {
    path = resolve (dir, video);
    uri = gst_filename_to_uri (path, NULL);
  }
  if (!uri)
    return;
  SvEvalItem *it = g_hash_table_lookup (by, uri);
  if (!it) {
    it = g_new0 (SvEvalItem, 1);
    const char *id = member_string (o, "id");
    it->id = g_strdup (id ? id : video);
    it->video = g_strdup (video);
    it->uri = g_steal_pointer (&uri);
    it->path = g_steal_pointer (&path);
    it->captions = g_ptr_array_new_with_free_func (g_free);
    it->phrases = member_strv (o, "noun_phrases");
    if (!it->phrases)
      it->phrases = member_strv (o, "nouns");
    const char *truth = member_string (o, "truth");
    it->truth = truth ? resolve (dir, truth) : NULL;
    g_ptr_array_add (items, it);
    g_hash_table_insert (by, it->uri, it);
  }
  if (caption && *caption)
    g_ptr_array_add (it->captions, g_strdup (caption));
}

GPtrArray *
sv_eval_manifest_load (const char *path, const char *split, guint limit, guint *n_other_split,
                       GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &text, &len, error))
    return NULL;
  g_autofree char *dir = g_path_get_dirname (path);
  GPtrArray *items = g_ptr_array_new_with_free_func (item_free);
  g_autoptr (GHashTable) by = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (JsonParser) parser = json_parser_new ();
  guint other = 0, lineno = 0;
  const char *p = text;
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  if (*p == '[') {
    /* a JSON array of entries */
    if (!json_shape_ok (text, len, path, error) ||
        !json_parser_load_from_data (parser, text, (gssize) len, error))
      goto fail;
    JsonArray *a = json_node_get_array (json_parser_get_root (parser));
    for (guint i = 0; i < json_array_get_length (a); i++) {
      JsonNode *e = json_array_get_element (a, i);
      if (JSON_NODE_HOLDS_OBJECT (e))
        add_entry (json_node_get_object (e), dir, split, items, by, &other);
    }
  } else {
    g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
    for (char **l = lines; *l; l++) {
      lineno++;
      g_strstrip (*l);
      if (!**l)
        continue;
      g_autoptr (GError) e = NULL;
      if (!json_shape_ok (*l, strlen (*l), "the line", &e) ||
          !json_parser_load_from_data (parser, *l, -1, &e) ||
          !json_parser_get_root (parser) /* a comment-only line parses to nothing */ ||
          !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                     "%s line %u is not a JSON object%s%s", path, lineno, e ? ": " : "",
                     e ? e->message : "");
        goto fail;
      }
      add_entry (json_node_get_object (json_parser_get_root (parser)), dir, split, items, by,
                 &other);
    }
  }
  if (limit > 0 && items->len > limit)
    g_ptr_array_set_size (items, limit);
  if (n_other_split)
    *n_other_split = other;
  return items;
fail:
  g_ptr_array_unref (items);
  return NULL;
}

/* ---- ground truth ---- */

static void
object_free (gpointer data)
{
  SvEvalObject *o = data;
  g_free (o->phrase);
  g_free (o->noun);
  g_free (o->size);
  g_free (o->motion);
  g_free (o->boxes);
  g_free (o);
}

void
sv_eval_truth_free (SvEvalTruth *t)
{
  if (!t)
    return;
  for (guint i = 0; t->boundaries && i < t->boundaries->len; i++)
    g_free (g_array_index (t->boundaries, SvEvalBoundary, i).kind);
  for (guint i = 0; t->traps && i < t->traps->len; i++)
    g_free (g_array_index (t->traps, SvEvalBoundary, i).kind);
  g_clear_pointer (&t->scenes, g_array_unref);
  g_clear_pointer (&t->boundaries, g_array_unref);
  g_clear_pointer (&t->traps, g_array_unref);
  g_clear_pointer (&t->objects, g_ptr_array_unref);
  g_free (t);
}

/* a JSON number (an integer or not), or FALSE */
static gboolean
node_number (JsonNode *n, double *out)
{
  if (!n || !JSON_NODE_HOLDS_VALUE (n))
    return FALSE;
  GType t = json_node_get_value_type (n);
  if (t == G_TYPE_INT64)
    *out = (double) json_node_get_int (n);
  else if (t == G_TYPE_DOUBLE)
    *out = json_node_get_double (n);
  else
    return FALSE;
  return TRUE;
}

/* an integer member in [0, G_MAXUINT], or def */
static guint
member_uint (JsonObject *o, const char *name, guint def)
{
  double v;
  if (!node_number (json_object_get_member (o, name), &v) || !(v >= 0 && v <= G_MAXUINT))
    return def;
  return (guint) v;
}

/* an array of exactly n elements, or NULL */
static JsonArray *
array_of (JsonNode *n, guint len)
{
  if (!n || !JSON_NODE_HOLDS_ARRAY (n) || json_array_get_length (json_node_get_array (n)) != len)
    return NULL;
  return json_node_get_array (n);
}

/* [x, y, w, h] or null, for each frame, into boxes[f * stride] (a box that is not four
 * numbers is a frame where the object is not visible) */
static void
read_boxes (JsonArray *a, guint frames, SvEvalBox *boxes, guint stride)
{
  for (guint f = 0; f < frames; f++) {
    JsonArray *b = array_of (json_array_get_element (a, f), 4);
    double v[4];
    gboolean ok = b != NULL;
    for (guint k = 0; ok && k < 4; k++)
      ok = node_number (json_array_get_element (b, k), &v[k]);
    if (ok)
      boxes[(gsize) f * stride] = (SvEvalBox){ v[0], v[1], v[2], v[3] };
  }
}

/* [{frame, length, kind}] (boundaries or traps) into SvEvalBoundary */
static void
read_events (JsonNode *n, const char *default_kind, GArray *out)
{
  JsonArray *a = n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
  for (guint i = 0; a && i < json_array_get_length (a); i++) {
    JsonNode *e = json_array_get_element (a, i);
    if (!JSON_NODE_HOLDS_OBJECT (e))
      continue;
    JsonObject *s = json_node_get_object (e);
    const char *kind = member_string (s, "kind");
    SvEvalBoundary b = { member_uint (s, "frame", 0), member_uint (s, "length", 0),
                         g_strdup (kind ? kind : default_kind) };
    g_array_append_val (out, b);
  }
}

SvEvalTruth *
sv_eval_truth_load (const char *path, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &text, &len, error) || !json_shape_ok (text, len, path, error) ||
      !json_parser_load_from_data (parser, text, (gssize) len, error))
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s is not a JSON object", path);
    return NULL;
  }
  JsonObject *o = json_node_get_object (root);
  g_autoptr (SvEvalTruth) t = g_new0 (SvEvalTruth, 1);
  t->width = member_uint (o, "width", 0);
  t->height = member_uint (o, "height", 0);
  t->frames = member_uint (o, "frames", 0);
  if (!node_number (json_object_get_member (o, "fps"), &t->fps))
    t->fps = 0.0;
  t->scenes = g_array_new (FALSE, FALSE, sizeof (SvEvalScene));
  t->boundaries = g_array_new (FALSE, FALSE, sizeof (SvEvalBoundary));
  t->objects = g_ptr_array_new_with_free_func (object_free);
  if (t->width == 0 || t->height == 0 || t->frames == 0 || t->frames > 10000000) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 "%s lacks the frame size or count of the video", path);
    return NULL;
  }

  JsonNode *n = json_object_get_member (o, "scenes");
  JsonArray *a = n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
  for (guint i = 0; a && i < json_array_get_length (a); i++) {
    JsonNode *e = json_array_get_element (a, i);
    if (!JSON_NODE_HOLDS_OBJECT (e))
      continue;
    JsonObject *s = json_node_get_object (e);
    SvEvalScene sc = { member_uint (s, "start", 0), member_uint (s, "end", t->frames) };
    sc.end = MIN (sc.end, t->frames);
    g_array_append_val (t->scenes, sc);
  }
  t->traps = g_array_new (FALSE, FALSE, sizeof (SvEvalBoundary));
  read_events (json_object_get_member (o, "boundaries"), "cut", t->boundaries);
  read_events (json_object_get_member (o, "traps"), "flash", t->traps);
  n = json_object_get_member (o, "objects");
  a = n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
  for (guint i = 0; a && i < json_array_get_length (a); i++) {
    JsonNode *e = json_array_get_element (a, i);
    if (!JSON_NODE_HOLDS_OBJECT (e))
      continue;
    JsonObject *s = json_node_get_object (e);
    const char *phrase = member_string (s, "phrase");
    /* one box (or null) a frame; the instances' own boxes when there are several (the
     * union box would also count the gap between them) */
    JsonArray *boxes = array_of (json_object_get_member (s, "boxes"), t->frames);
    if (!phrase || !boxes)
      continue;
    JsonNode *in = json_object_get_member (s, "instances");
    JsonArray *inst = in && JSON_NODE_HOLDS_ARRAY (in) ? json_node_get_array (in) : NULL;
    guint n_inst = inst ? json_array_get_length (inst) : 0;
    for (guint k = 0; k < n_inst && n_inst <= 16; k++)
      if (!array_of (json_array_get_element (inst, k), t->frames))
        n_inst = 0;
    if (n_inst > 16)
      n_inst = 0;
    SvEvalObject *ob = g_new0 (SvEvalObject, 1);
    ob->phrase = g_strdup (phrase);
    ob->noun = g_strdup (member_string (s, "noun") ? member_string (s, "noun") : "?");
    ob->size = g_strdup (member_string (s, "size") ? member_string (s, "size") : "?");
    ob->motion = g_strdup (member_string (s, "motion") ? member_string (s, "motion") : "?");
    ob->scene = member_uint (s, "scene", 0);
    ob->count = member_uint (s, "count", 1);
    ob->n_inst = MAX (n_inst, 1);
    ob->boxes = g_new0 (SvEvalBox, (gsize) t->frames * ob->n_inst);
    if (n_inst > 0)
      for (guint k = 0; k < n_inst; k++)
        read_boxes (json_node_get_array (json_array_get_element (inst, k)), t->frames,
                    ob->boxes + k, n_inst);
    else
      read_boxes (boxes, t->frames, ob->boxes, 1);
    g_ptr_array_add (t->objects, ob);
  }
  return g_steal_pointer (&t);
}

/* ---- decoding ---- */

void
sv_eval_frames_clear (SvEvalFrames *f)
{
  g_free (f->data);
  g_free (f->ptr);
  memset (f, 0, sizeof *f);
}

/* prepares the sample's frame into out */
static gboolean
take_frame (SvilmModel *model, GstSample *s, SvEvalFrames *out, gsize *cap)
{
  GstVideoInfo info;
  GstCaps *caps = gst_sample_get_caps (s);
  GstBuffer *buf = gst_sample_get_buffer (s);
  if (!caps || !buf || !gst_video_info_from_caps (&info, caps))
    return FALSE;
  GstVideoFrame vf;
  if (!gst_video_frame_map (&vf, &info, buf, GST_MAP_READ))
    return FALSE;
  if (out->n == *cap) {
    *cap = MAX (16, *cap * 2);
    out->data = g_realloc_n (out->data, *cap, out->floats * sizeof (float));
  }
  if (out->n == 0) {
    out->width = GST_VIDEO_INFO_WIDTH (&info);
    out->height = GST_VIDEO_INFO_HEIGHT (&info);
    if (GST_VIDEO_INFO_FPS_N (&info) > 0 && GST_VIDEO_INFO_FPS_D (&info) > 0)
      out->fps = (double) GST_VIDEO_INFO_FPS_N (&info) / GST_VIDEO_INFO_FPS_D (&info);
  }
  svilm_model_prepare_frame (model, GST_VIDEO_FRAME_PLANE_DATA (&vf, 0),
                             GST_VIDEO_INFO_WIDTH (&info), GST_VIDEO_INFO_HEIGHT (&info),
                             GST_VIDEO_FRAME_PLANE_STRIDE (&vf, 0), 3, 0, 1, 2,
                             out->data + (gsize) out->n * out->floats);
  out->n++;
  gst_video_frame_unmap (&vf);
  return TRUE;
}

gboolean
sv_eval_decode (SvilmModel *model, const char *uri, SvEvalFrames *out, GError **error)
{
  memset (out, 0, sizeof *out);
  out->floats = svilm_model_get_frame_floats (model);
  SvVideoPipe p;
  if (!sv_video_pipe_build (&p, uri, FALSE, 8, error))
    return FALSE;
  GstElement *sink = p.sink;
  GstBus *bus = gst_element_get_bus (p.pipe);
  gsize cap = 0;
  gboolean ok = FALSE;
  gint64 last = g_get_monotonic_time ();
  if (gst_element_set_state (p.pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    last = 0; /* the bus says why */
  for (;;) {
    GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    if (m) {
      g_autoptr (GError) gerr = NULL;
      gst_message_parse_error (m, &gerr, NULL);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s",
                   gerr ? gerr->message : "decoding failed");
      gst_message_unref (m);
      break;
    }
    if (last == 0) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the pipeline does not start");
      break;
    }
    GstSample *s = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 50 * GST_MSECOND);
    if (s) {
      gboolean took = take_frame (model, s, out, &cap);
      gst_sample_unref (s);
      if (!took) {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "a frame cannot be read");
        break;
      }
      last = g_get_monotonic_time ();
      continue;
    }
    if (gst_app_sink_is_eos (GST_APP_SINK (sink))) {
      ok = out->n > 0;
      if (!ok)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no video frames");
      break;
    }
    if (g_atomic_int_get (&p.no_more_pads) && !g_atomic_int_get (&p.video_linked)) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no video stream");
      break;
    }
    if (g_get_monotonic_time () - last > DECODE_STALL_S * G_USEC_PER_SEC) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no frame for %d s", DECODE_STALL_S);
      break;
    }
  }
  gst_object_unref (bus);
  sv_video_pipe_clear (&p);
  if (!ok) {
    sv_eval_frames_clear (out);
    return FALSE;
  }
  out->ptr = g_new (const float *, out->n);
  for (guint i = 0; i < out->n; i++)
    out->ptr[i] = out->data + (gsize) i * out->floats;
  return TRUE;
}
