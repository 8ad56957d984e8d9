/* svilm: svilmretrieve, text queries against clips and the retrieval index.
 *
 * SECTION:element-svilmretrieve
 *
 * Scores every clip window of a video against one or several text queries
 * (`query`, separated by ';') in S-ViLM's joint video-text space: the score is
 * the cosine of the clip's embedding and the query's text embedding, in
 * [-1, 1].  When a score reaches `threshold` the element posts an element
 * message (and writes a JSON line when `location` is set):
 *
 *   svilm-match, timestamp=(guint64) clip start PTS, stream-time=(guint64),
 *     running-time=(guint64), duration=(guint64), clip-index=(guint64),
 *     query=(string), query-index=(uint) position of the query in `query`,
 *     score=(double)
 *
 * one per matching query and clip, as soon as the clip is complete, which makes
 * it an alert on live streams.  `query` and `threshold` may change while
 * PLAYING; the queries' text embeddings are computed once per change.  With
 * `post-scores` it also posts (and writes) every clip's scores:
 *
 *   svilm-scores, timestamp, stream-time, running-time, duration,
 *     clip-index=(guint64), partial=(boolean), queries=(string)< ... >,
 *     scores=(double)< ... >
 *
 * With `index` it writes every clip's embedding, with the source's URI (the
 * `uri` property, else the URI upstream answers a URI query with, else
 * "unknown"), its stream-time range and the model's id, into an SQLite
 * database that `svilm-search` queries (format: svilm-index.h).  Rows are
 * committed every 256 clips, after a second, at EOS and when stopping.
 *
 * With neither a query nor an index the element is passthrough.
 *
 *   gst-launch-1.0 -m filesrc location=clip.mp4 ! decodebin ! videoconvert ! \
 *     svilmretrieve query="a dog runs;a red car" threshold=0.3 index=videos.db ! fakesink
 *   svilm-search --index videos.db "a dog on a beach"
 */
#include "config.h"

#include "gstsvilmretrieve.h"
#include "svilm-index.h"

#include <glib/gi18n-lib.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_svilm_retrieve_debug);
#define GST_CAT_DEFAULT gst_svilm_retrieve_debug

#define DEFAULT_THRESHOLD 0.3

enum {
  PROP_0,
  PROP_QUERY,
  PROP_THRESHOLD,
  PROP_POST_SCORES,
  PROP_INDEX,
  PROP_URI,
};

struct _GstSvilmRetrieve {
  GstSvilmFilter parent;

  /* properties (object lock) */
  char *query;
  guint query_serial; /* bumped on every change of `query` */
  gboolean has_queries;
  gdouble threshold;
  gboolean post_scores;
  char *index_path, *uri;

  /* the queries' text embeddings, rebuilt when query_serial moves on */
  GMutex cache_lock;
  guint cache_serial;
  GPtrArray *texts;
  gfloat *embeddings; /* texts->len x dim */
  gsize dim;

  /* streaming */
  SvilmIndex *index;
  char *stream_uri; /* asked upstream once per stream */
  gboolean uri_asked;
};

G_DEFINE_TYPE (GstSvilmRetrieve, gst_svilm_retrieve, GST_TYPE_SVILM_FILTER)
GST_ELEMENT_REGISTER_DEFINE (svilmretrieve, "svilmretrieve", GST_RANK_NONE, GST_TYPE_SVILM_RETRIEVE)

static GPtrArray *
split_queries (const char *query)
{
  GPtrArray *a = g_ptr_array_new_with_free_func (g_free);
  char **parts = g_strsplit (query ? query : "", ";", -1);
  for (char **p = parts; *p; p++) {
    char *t = g_strstrip (*p);
    if (*t)
      g_ptr_array_add (a, g_strdup (t));
  }
  g_strfreev (parts);
  return a;
}

/* Nothing to do without queries and without an index: let buffers through untouched,
 * without gathering windows.  Leaving passthrough happens on the streaming thread before
 * a buffer (GstBaseTransform reads the flag more than once per buffer). */
static void
update_passthrough (GstSvilmRetrieve *self)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  GST_OBJECT_LOCK (self);
  gboolean idle = !self->has_queries && !(self->index_path && *self->index_path);
  GST_OBJECT_UNLOCK (self);
  if (gst_base_transform_is_passthrough (trans) != idle) {
    GST_INFO_OBJECT (self, "%s passthrough", idle ? "entering" : "leaving");
    gst_base_transform_set_passthrough (trans, idle);
    gst_base_transform_reconfigure_src (trans);
  }
}

static void
gst_svilm_retrieve_before_transform (GstBaseTransform *trans, GstBuffer *buf)
{
  update_passthrough (GST_SVILM_RETRIEVE (trans));
}

static void
clear_cache (GstSvilmRetrieve *self)
{
  g_clear_pointer (&self->texts, g_ptr_array_unref);
  g_clear_pointer (&self->embeddings, g_free);
  self->dim = 0;
}

/* Encodes the queries again if `query` changed since (or always with force).  Call with
 * cache_lock held.  On failure the cache is left empty: nothing matches. */
static gboolean
refresh_queries (GstSvilmRetrieve *self, SvilmModel *model, gboolean force, GError **error)
{
  GST_OBJECT_LOCK (self);
  guint serial = self->query_serial;
  char *query = g_strdup (self->query);
  GST_OBJECT_UNLOCK (self);
  if (!force && serial == self->cache_serial) {
    g_free (query);
    return TRUE;
  }
  clear_cache (self);
  self->cache_serial = serial;
  GPtrArray *texts = split_queries (query);
  gboolean ok = TRUE;
  if (texts->len == 0 && query && *query)
    GST_ELEMENT_WARNING (
        self, RESOURCE, SETTINGS,
        (_ ("The query \"%s\" has no text: svilmretrieve matches nothing."), query), (NULL));
  gsize dim = svilm_model_get_embed_dim (model);
  gfloat *emb = g_new (gfloat, MAX (texts->len, 1) * dim);
  for (guint i = 0; ok && i < texts->len; i++) {
    gsize n = 0;
    gfloat *e = svilm_model_encode_text (model, g_ptr_array_index (texts, i), &n, error);
    if (!e || n != dim) {
      if (e)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                     "text embedding of %" G_GSIZE_FORMAT " values, expected %" G_GSIZE_FORMAT, n,
                     dim);
      ok = FALSE;
    } else {
      memcpy (emb + i * dim, e, dim * sizeof (gfloat));
    }
    g_free (e);
  }
  if (ok) {
    self->texts = texts;
    self->embeddings = emb;
    self->dim = dim;
    GST_INFO_OBJECT (self, "%u queries from \"%s\"", texts->len, query ? query : "");
  } else {
    g_ptr_array_unref (texts);
    g_free (emb);
  }
  g_free (query);
  return ok;
}

static gboolean
gst_svilm_retrieve_model_changed (GstSvilmFilter *filter, SvilmModel *model)
{
  GstSvilmRetrieve *self = GST_SVILM_RETRIEVE (filter);
  if (!model) {
    svilm_index_close (self->index);
    self->index = NULL;
    g_clear_pointer (&self->stream_uri, g_free);
    g_mutex_lock (&self->cache_lock);
    clear_cache (self);
    g_mutex_unlock (&self->cache_lock);
    return TRUE;
  }

  GError *error = NULL;
  g_mutex_lock (&self->cache_lock);
  gboolean ok = refresh_queries (self, model, TRUE, &error);
  g_mutex_unlock (&self->cache_lock);
  if (!ok) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, (_ ("Could not encode the query.")),
                       ("%s", error->message));
    g_clear_error (&error);
    return FALSE;
  }

  GST_OBJECT_LOCK (self);
  char *path = g_strdup (self->index_path);
  GST_OBJECT_UNLOCK (self);
  if (path && *path) {
    self->index = svilm_index_open (path, TRUE, &error);
    if (self->index && !svilm_index_set_model (self->index, svilm_model_get_id (model),
                                               svilm_model_get_embed_dim (model), &error)) {
      svilm_index_close (self->index);
      self->index = NULL;
    }
    if (!self->index) {
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ_WRITE, ("%s", error->message),
                         ("index %s", path));
      g_clear_error (&error);
      g_free (path);
      return FALSE;
    }
    GST_INFO_OBJECT (self, "writing clips of model %s to %s", svilm_model_get_id (model), path);
  }
  g_free (path);
  g_clear_pointer (&self->stream_uri, g_free);
  self->uri_asked = FALSE;
  update_passthrough (self);
  return TRUE;
}

/* The URI clips are filed under: the property, else what upstream says, else "unknown". */
static const char *
source_uri (GstSvilmRetrieve *self)
{
  if (!self->uri_asked) {
    self->uri_asked = TRUE;
    GST_OBJECT_LOCK (self);
    self->stream_uri = g_strdup (self->uri);
    GST_OBJECT_UNLOCK (self);
    if (!self->stream_uri || !*self->stream_uri) {
      g_free (self->stream_uri);
      self->stream_uri = NULL;
      GstQuery *q = gst_query_new_uri ();
      if (gst_pad_peer_query (GST_BASE_TRANSFORM_SINK_PAD (self), q))
        gst_query_parse_uri (q, &self->stream_uri);
      gst_query_unref (q);
    }
    GST_INFO_OBJECT (self, "source URI %s", GST_STR_NULL (self->stream_uri));
  }
  return self->stream_uri && *self->stream_uri ? self->stream_uri : "unknown";
}

static gint64
stream_time (GstSvilmRetrieve *self, GstClockTime t)
{
  if (!GST_CLOCK_TIME_IS_VALID (t))
    return -1;
  GstSegment *seg = &GST_BASE_TRANSFORM (self)->segment;
  if (seg->format == GST_FORMAT_TIME) {
    GstClockTime st = gst_segment_to_stream_time (seg, GST_FORMAT_TIME, t);
    if (GST_CLOCK_TIME_IS_VALID (st))
      return (gint64) st;
  }
  return (gint64) t;
}

static GstFlowReturn
write_index (GstSvilmRetrieve *self, GstSvilmWindow *w, const gfloat *emb)
{
  GError *error = NULL;
  if (!svilm_index_add (self->index, source_uri (self), stream_time (self, w->start),
                        stream_time (self, w->end), emb, &error) ||
      (w->partial && !svilm_index_commit (self->index, &error))) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("%s", error->message),
                       ("index %s", svilm_index_get_path (self->index)));
    g_clear_error (&error);
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_svilm_retrieve_window_done (GstSvilmFilter *filter, GstSvilmWindow *w, GstVideoFrame *frame)
{
  GstSvilmRetrieve *self = GST_SVILM_RETRIEVE (filter);
  if (!w->clip)
    return GST_FLOW_OK; /* skipped by inference-interval */
  gsize dim = 0;
  const gfloat *emb = svilm_clip_get_embedding (w->clip, &dim);
  if (self->index && write_index (self, w, emb) != GST_FLOW_OK)
    return GST_FLOW_ERROR;

  GError *error = NULL;
  g_mutex_lock (&self->cache_lock);
  if (!refresh_queries (self, gst_svilm_filter_get_model (filter), FALSE, &error)) {
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
                         (_ ("Could not encode the query; nothing will be matched.")),
                         ("%s", error->message));
    g_clear_error (&error);
  }
  GST_OBJECT_LOCK (self);
  gdouble threshold = self->threshold;
  gboolean post_scores = self->post_scores;
  GST_OBJECT_UNLOCK (self);
  gboolean post = gst_svilm_filter_post_messages (filter);
  guint n = self->texts && self->dim == dim ? self->texts->len : 0;
  post_scores = post_scores && n > 0;
  GValue queries = G_VALUE_INIT, scores = G_VALUE_INIT;
  if (post_scores) {
    gst_value_array_init (&queries, n);
    gst_value_array_init (&scores, n);
  }
  for (guint i = 0; i < n; i++) {
    const char *text = g_ptr_array_index (self->texts, i);
    gdouble score = svilm_clip_similarity (w->clip, self->embeddings + i * dim, dim);
    GST_LOG_OBJECT (self, "clip %" G_GUINT64_FORMAT " \"%s\": %.4f", w->index, text, score);
    if (score >= threshold) {
      GstStructure *s = gst_svilm_filter_new_result (filter, "svilm-match", w->start, w->end);
      gst_structure_set (s, "clip-index", G_TYPE_UINT64, w->index, "query", G_TYPE_STRING, text,
                         "query-index", G_TYPE_UINT, i, "score", G_TYPE_DOUBLE, score, NULL);
      gst_svilm_filter_write_json (filter, s);
      if (post)
        gst_svilm_filter_post (filter, s);
      else
        gst_structure_free (s);
    }
    if (post_scores) {
      GValue v = G_VALUE_INIT;
      g_value_init (&v, G_TYPE_STRING);
      g_value_set_string (&v, text);
      gst_value_array_append_and_take_value (&queries, &v);
      g_value_init (&v, G_TYPE_DOUBLE);
      g_value_set_double (&v, score);
      gst_value_array_append_and_take_value (&scores, &v);
    }
  }
  g_mutex_unlock (&self->cache_lock);
  if (post_scores) {
    GstStructure *s = gst_svilm_filter_new_result (filter, "svilm-scores", w->start, w->end);
    gst_structure_set (s, "clip-index", G_TYPE_UINT64, w->index, "partial", G_TYPE_BOOLEAN,
                       w->partial, NULL);
    gst_structure_take_value (s, "queries", &queries);
    gst_structure_take_value (s, "scores", &scores);
    gst_svilm_filter_write_json (filter, s);
    if (post)
      gst_svilm_filter_post (filter, s);
    else
      gst_structure_free (s);
  }
  return GST_FLOW_OK;
}

static gboolean
gst_svilm_retrieve_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstSvilmRetrieve *self = GST_SVILM_RETRIEVE (trans);
  switch (GST_EVENT_TYPE (event)) {
  case GST_EVENT_STREAM_START:
    /* maybe another source: ask for its URI again */
    g_clear_pointer (&self->stream_uri, g_free);
    self->uri_asked = FALSE;
    break;
  case GST_EVENT_EOS:
    /* before EOS travels on, so that whoever sees it finds every clip in the index (a
     * partial window at EOS is committed as it is written) */
    if (self->index) {
      GError *error = NULL;
      if (!svilm_index_commit (self->index, &error)) {
        GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("%s", error->message), (NULL));
        g_clear_error (&error);
      }
    }
    break;
  default:
    break;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_svilm_retrieve_parent_class)->sink_event (trans, event);
}

static void
gst_svilm_retrieve_set_property (GObject *object, guint prop_id, const GValue *value,
                                 GParamSpec *pspec)
{
  GstSvilmRetrieve *self = GST_SVILM_RETRIEVE (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
  case PROP_QUERY: {
    g_free (self->query);
    self->query = g_value_dup_string (value);
    self->query_serial++;
    GPtrArray *texts = split_queries (self->query);
    self->has_queries = texts->len > 0;
    g_ptr_array_unref (texts);
    break;
  }
  case PROP_THRESHOLD:
    self->threshold = g_value_get_double (value);
    break;
  case PROP_POST_SCORES:
    self->post_scores = g_value_get_boolean (value);
    break;
  case PROP_INDEX:
    g_free (self->index_path);
    self->index_path = g_value_dup_string (value);
    break;
  case PROP_URI:
    g_free (self->uri);
    self->uri = g_value_dup_string (value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    break;
  }
  gboolean idle = !self->has_queries && !(self->index_path && *self->index_path);
  gboolean streaming =
      GST_STATE (self) > GST_STATE_READY || GST_STATE_PENDING (self) > GST_STATE_READY;
  GST_OBJECT_UNLOCK (self);
  /* entering passthrough is safe at any time, leaving it while nothing streams */
  if ((prop_id == PROP_QUERY || prop_id == PROP_INDEX) && (idle || !streaming))
    update_passthrough (self);
}

static void
gst_svilm_retrieve_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSvilmRetrieve *self = GST_SVILM_RETRIEVE (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
  case PROP_QUERY:
    g_value_set_string (value, self->query);
    break;
  case PROP_THRESHOLD:
    g_value_set_double (value, self->threshold);
    break;
  case PROP_POST_SCORES:
    g_value_set_boolean (value, self->post_scores);
    break;
  case PROP_INDEX:
    g_value_set_string (value, self->index_path);
    break;
  case PROP_URI:
    g_value_set_string (value, self->uri);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_svilm_retrieve_finalize (GObject *object)
{
  GstSvilmRetrieve *self = GST_SVILM_RETRIEVE (object);
  svilm_index_close (self->index);
  clear_cache (self);
  g_mutex_clear (&self->cache_lock);
  g_free (self->query);
  g_free (self->index_path);
  g_free (self->uri);
  g_free (self->stream_uri);
  G_OBJECT_CLASS (gst_svilm_retrieve_parent_class)->finalize (object);
}

static void
gst_svilm_retrieve_class_init (GstSvilmRetrieveClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstSvilmFilterClass *filter_class = GST_SVILM_FILTER_CLASS (klass);
  GST_DEBUG_CATEGORY_INIT (gst_svilm_retrieve_debug, "svilmretrieve", 0,
                           "svilm text-to-video retrieval");

  gobject_class->set_property = gst_svilm_retrieve_set_property;
  gobject_class->get_property = gst_svilm_retrieve_get_property;
  gobject_class->finalize = gst_svilm_retrieve_finalize;

  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  g_object_class_install_property (
      gobject_class, PROP_QUERY,
      g_param_spec_string ("query", "Query",
                           "Text queries to score every clip against, separated by ';' "
                           "(e.g. \"a dog runs;a red car\"); may change while playing",
                           NULL, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (
      gobject_class, PROP_THRESHOLD,
      g_param_spec_double ("threshold", "Threshold",
                           "Post an svilm-match message when a clip's score (cosine in the "
                           "joint space, -1 to 1) reaches this; above 1 never matches",
                           -1.0, 2.0, DEFAULT_THRESHOLD, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (
      gobject_class, PROP_POST_SCORES,
      g_param_spec_boolean ("post-scores", "Post scores",
                            "Also post (and write to location) every clip's scores for all "
                            "queries as svilm-scores messages",
                            FALSE, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (
      gobject_class, PROP_INDEX,
      g_param_spec_string ("index", "Index",
                           "Write every clip's embedding, source URI and time range to this "
                           "SQLite index (created if missing, appended to otherwise) for "
                           "svilm-search",
                           NULL, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (
      gobject_class, PROP_URI,
      g_param_spec_string ("uri", "URI",
                           "The source URI to file clips under in the index (default: the "
                           "URI upstream reports, else \"unknown\")",
                           NULL, rw | GST_PARAM_MUTABLE_READY));

  gst_element_class_set_static_metadata (
      element_class, "svilm text-to-video retrieval", "Filter/Analyzer/Video",
      "Scores clip windows of a video against text queries in S-ViLM's joint video-text "
      "space, posts svilm-match messages when a query matches (alerts on live streams) and "
      "writes clip embeddings to an SQLite index that svilm-search queries",
      "svilm developers");
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_svilm_retrieve_sink_event);
  trans_class->before_transform = GST_DEBUG_FUNCPTR (gst_svilm_retrieve_before_transform);
  filter_class->window_done = GST_DEBUG_FUNCPTR (gst_svilm_retrieve_window_done);
  filter_class->model_changed = GST_DEBUG_FUNCPTR (gst_svilm_retrieve_model_changed);
}

static void
gst_svilm_retrieve_init (GstSvilmRetrieve *self)
{
  g_mutex_init (&self->cache_lock);
  self->threshold = DEFAULT_THRESHOLD;
  self->cache_serial = G_MAXUINT;
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
}
