/* svilm-core: backend selection. */
#include "config.h"

#include "sv-backend.h"

#include "sv-error.h"

#include <glib/gi18n-lib.h>
#include <stdlib.h>
#include <string.h>

static SvBackend *
open_vulkan (int index, gboolean from_auto, GError **error)
{
#if SVILM_HAVE_VULKAN
  /* declared in vulkan/sv-backend-vulkan.h */
  extern SvBackend *sv_backend_vulkan_open (int index, gboolean allow_cpu_driver, GError **error);
  /* "auto" (index -1) takes a discrete or integrated GPU, never a CPU driver such
   * as lavapipe; "vulkan" / "vulkan:N" take device N whatever its kind */
  return sv_backend_vulkan_open (from_auto ? -1 : index, !from_auto, error);
#else
  g_set_error (error, SV_ERROR, SV_ERROR_UNSUPPORTED,
               _ ("This build of svilm has no Vulkan backend; use device=cpu."));
  return NULL;
#endif
}

SvBackend *
sv_backend_open (const char *device, GError **error)
{
  const char *env = g_getenv ("SVILM_DEVICE");
  if (env && *env)
    device = env;
  if (!device || !*device || g_str_equal (device, "auto")) {
    GError *local = NULL;
    SvBackend *be = open_vulkan (-1, TRUE, &local);
    if (be)
      return be;
    g_debug ("device=auto: no usable GPU (%s); using the CPU", local->message);
    g_clear_error (&local);
    return sv_backend_cpu ();
  }
  if (g_str_equal (device, "cpu"))
    return sv_backend_cpu ();
  if (g_str_equal (device, "vulkan"))
    return open_vulkan (0, FALSE, error);
  if (g_str_has_prefix (device, "vulkan:")) {
    char *end = NULL;
    const char *num = device + strlen ("vulkan:");
    gint64 idx = g_ascii_strtoll (num, &end, 10);
    if (*num && end && *end == '\0' && idx >= 0 && idx < 1024)
      return open_vulkan ((int) idx, FALSE, error);
  }
  g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
               _ ("Unknown device \"%s\": expected auto, cpu, vulkan or vulkan:N."), device);
  return NULL;
}

void
sv_backend_unref (SvBackend *be)
{
  if (be && be != sv_backend_cpu ())
    be->klass->destroy (be);
}

gboolean
sv_backend_finish (SvBackend *be, GError **error)
{
  return be->klass->finish (be, error);
}
