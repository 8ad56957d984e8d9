/* svilm: a result structure as one JSON object (gstsvilmjson.h). */
#include "gstsvilmjson.h"

#include <json-glib/json-glib.h>

static gboolean
json_field (GQuark field, const GValue *v, gpointer user)
{
  JsonBuilder *b = user;
  json_builder_set_member_name (b, g_quark_to_string (field));
  GType t = G_VALUE_TYPE (v);
  if (t == G_TYPE_STRING)
    json_builder_add_string_value (b, g_value_get_string (v));
  else if (t == G_TYPE_BOOLEAN)
    json_builder_add_boolean_value (b, g_value_get_boolean (v));
  else if (t == G_TYPE_INT || t == G_TYPE_UINT || t == G_TYPE_INT64) {
    GValue i = G_VALUE_INIT;
    g_value_init (&i, G_TYPE_INT64);
    g_value_transform (v, &i);
    json_builder_add_int_value (b, g_value_get_int64 (&i));
  } else if (t == G_TYPE_UINT64) {
    guint64 x = g_value_get_uint64 (v);
    if (x == GST_CLOCK_TIME_NONE)
      json_builder_add_null_value (b);
    else
      json_builder_add_int_value (b, (gint64) x);
  } else if (t == G_TYPE_DOUBLE || t == G_TYPE_FLOAT) {
    GValue d = G_VALUE_INIT;
    g_value_init (&d, G_TYPE_DOUBLE);
    g_value_transform (v, &d);
    json_builder_add_double_value (b, g_value_get_double (&d));
  } else if (t == G_TYPE_BYTES) {
    /* float32 arrays (embeddings) */
    gsize n = 0;
    const gfloat *f = g_bytes_get_data (g_value_get_boxed (v), &n);
    json_builder_begin_array (b);
    for (gsize i = 0; i < n / sizeof (gfloat); i++)
      json_builder_add_double_value (b, f[i]);
    json_builder_end_array (b);
  } else if (GST_VALUE_HOLDS_ARRAY (v) || GST_VALUE_HOLDS_LIST (v)) {
    json_builder_begin_array (b);
    guint n =
        GST_VALUE_HOLDS_ARRAY (v) ? gst_value_array_get_size (v) : gst_value_list_get_size (v);
    for (guint i = 0; i < n; i++) {
      const GValue *e = GST_VALUE_HOLDS_ARRAY (v) ? gst_value_array_get_value (v, i)
                                                  : gst_value_list_get_value (v, i);
      if (G_VALUE_HOLDS_STRING (e))
        json_builder_add_string_value (b, g_value_get_string (e));
      else if (G_VALUE_HOLDS_DOUBLE (e))
        json_builder_add_double_value (b, g_value_get_double (e));
      else if (G_VALUE_HOLDS_FLOAT (e))
        json_builder_add_double_value (b, g_value_get_float (e));
      else {
        char *str = gst_value_serialize (e);
        json_builder_add_string_value (b, str);
        g_free (str);
      }
    }
    json_builder_end_array (b);
  } else {
    char *str = gst_value_serialize (v);
    json_builder_add_string_value (b, str ? str : "");
    g_free (str);
  }
  return TRUE;
}

char *
gst_svilm_structure_to_json (const GstStructure *s, const char *element)
{
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, gst_structure_get_name (s));
  json_builder_set_member_name (b, "element");
  json_builder_add_string_value (b, element);
  gst_structure_foreach (s, json_field, b);
  json_builder_end_object (b);
  JsonGenerator *gen = json_generator_new ();
  JsonNode *root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  char *line = json_generator_to_data (gen, NULL);
  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (b);
  return line;
}
