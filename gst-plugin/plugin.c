/* svilm GStreamer plugin: registration. */
#include "config.h"

#include "gstsvilmencode.h"
#include "gstsvilmground.h"
#include "gstsvilmmeta.h"
#include "gstsvilmretrieve.h"
#include "gstsvilmscenecut.h"

#include <glib/gi18n-lib.h>
#include <gst/gst.h>

static gboolean
plugin_init (GstPlugin *plugin)
{
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  gst_svilm_embedding_meta_register ();
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER (svilmencode, plugin);
  ok |= GST_ELEMENT_REGISTER (svilmground, plugin);
  ok |= GST_ELEMENT_REGISTER (svilmretrieve, plugin);
  ok |= GST_ELEMENT_REGISTER (svilmscenecut, plugin);
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, svilm,
                   "Structured video-language models (S-ViLM): clip embeddings, scene cuts, "
                   "phrase grounding and text-to-video retrieval",
                   plugin_init, VERSION, "LGPL", "svilm", "Unknown package origin")
