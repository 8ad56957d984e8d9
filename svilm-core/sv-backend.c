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

/* Whether this machine could have a GPU Vulkan driver.  On Linux every GPU driver talks to
 * a kernel device node: a DRM render or card node (Mesa's drivers, AMD, Intel, embedded
 * GPUs), NVIDIA's /dev/nvidiactl, WSL's /dev/dxg.  Without one, "auto" could only find CPU
 * drivers, which it never picks, and enumerating them loads them all the same (lavapipe
 * links LLVM: about 50 MB more resident memory and ~0.1 s in every process that encodes).
 * Elsewhere: assume yes and ask the Vulkan loader. */
static gboolean
gpu_device_node_present (void)
{
#ifdef __linux__
  if (g_file_test ("/dev/nvidiactl", G_FILE_TEST_EXISTS) ||
      g_file_test ("/dev/dxg", G_FILE_TEST_EXISTS))
    return TRUE;
  GDir *dir = g_dir_open ("/dev/dri", 0, NULL);
  if (!dir)
    return FALSE;
  gboolean found = FALSE;
  const char *name;
  while (!found && (name = g_dir_read_name (dir)))
    found = g_str_has_prefix (name, "renderD") || g_str_has_prefix (name, "card");
  g_dir_close (dir);
  return found;
#else
  return TRUE;
#endif
}

SvBackend *
sv_backend_open (const char *device, GError **error)
{
  const char *env = g_getenv ("SVILM_DEVICE");
  if (env && *env)
    device = env;
  if (!device || !*device || g_str_equal (device, "auto")) {
    if (!gpu_device_node_present ()) {
      g_debug (
          "device=auto: no GPU device node (/dev/dri, /dev/nvidiactl, /dev/dxg); using the CPU");
      return sv_backend_cpu ();
    }
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
