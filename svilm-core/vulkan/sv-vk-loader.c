/* svilm-core Vulkan backend: the Vulkan loader, opened at run time.
 *
 * libsvilm-core does not link against libvulkan: a system without Vulkan still
 * runs everything on the CPU, and "device=vulkan" reports that the loader is
 * missing instead of the library failing to load. */
#include "config.h"

#include "sv-vk-private.h"

#include <dlfcn.h>
#include <string.h>

/* why the loader could not be opened (set once, by open_loader) */
static char *loader_why;

static gpointer
open_loader (gpointer data)
{
  static const char *const names[] = {
#if defined(__APPLE__)
    "libvulkan.1.dylib",
    "libMoltenVK.dylib",
#elif defined(_WIN32)
    "vulkan-1.dll",
#else
    "libvulkan.so.1",
    "libvulkan.so",
#endif
  };
  GString *why = g_string_new (NULL);
  /* SVILM_VULKAN_LOADER names the loader to use instead (tests use a missing one) */
  const char *forced = g_getenv ("SVILM_VULKAN_LOADER");
  guint n = forced && *forced ? 1 : G_N_ELEMENTS (names);
  for (guint i = 0; i < n; i++) {
    const char *name = forced && *forced ? forced : names[i];
    void *h = dlopen (name, RTLD_NOW | RTLD_LOCAL);
    if (h) {
      void *sym = dlsym (h, "vkGetInstanceProcAddr");
      if (sym) {
        g_string_free (why, TRUE);
        return sym;
      }
      dlclose (h);
      g_string_append_printf (why, "%s has no vkGetInstanceProcAddr; ", name);
    } else {
      const char *e = dlerror ();
      g_string_append_printf (why, "%s; ", e ? e : name);
    }
  }
  if (why->len >= 2)
    g_string_truncate (why, why->len - 2);
  loader_why = g_string_free (why, FALSE);
  return NULL;
}

gboolean
sv_vk_load_global (SvVkFuncs *fn, GError **error)
{
  static GOnce once = G_ONCE_INIT;
  gpointer gipa = g_once (&once, open_loader, NULL);
  if (!gipa) {
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND,
                 "vulkan: the Vulkan loader could not be opened (%s); install libvulkan1 and a "
                 "Vulkan driver, or use device=cpu",
                 loader_why);
    return FALSE;
  }
  memset (fn, 0, sizeof *fn);
  fn->vkGetInstanceProcAddr = (PFN_vkGetInstanceProcAddr) gipa;
#define SV_VK_LOAD_GLOBAL(name)                                                                    \
  fn->name = (PFN_##name) fn->vkGetInstanceProcAddr (NULL, #name);                                 \
  if (!fn->name) {                                                                                 \
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND, "vulkan: the loader lacks %s", #name);         \
    return FALSE;                                                                                  \
  }
  SV_VK_GLOBAL_FUNCS (SV_VK_LOAD_GLOBAL)
#undef SV_VK_LOAD_GLOBAL
  return TRUE;
}

gboolean
sv_vk_load_instance (SvVkFuncs *fn, VkInstance instance, GError **error)
{
#define SV_VK_LOAD_INSTANCE(name)                                                                  \
  fn->name = (PFN_##name) fn->vkGetInstanceProcAddr (instance, #name);                             \
  if (!fn->name) {                                                                                 \
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND, "vulkan: the instance lacks %s", #name);       \
    return FALSE;                                                                                  \
  }
  SV_VK_INSTANCE_FUNCS (SV_VK_LOAD_INSTANCE)
#undef SV_VK_LOAD_INSTANCE
  return TRUE;
}

gboolean
sv_vk_load_device (SvVkFuncs *fn, VkDevice device, GError **error)
{
#define SV_VK_LOAD_DEVICE(name)                                                                    \
  fn->name = (PFN_##name) fn->vkGetDeviceProcAddr (device, #name);                                 \
  if (!fn->name) {                                                                                 \
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND, "vulkan: the device lacks %s", #name);         \
    return FALSE;                                                                                  \
  }
  SV_VK_DEVICE_FUNCS (SV_VK_LOAD_DEVICE)
#undef SV_VK_LOAD_DEVICE
  return TRUE;
}

const char *
sv_vk_result_str (VkResult r)
{
  switch (r) {
#define CASE(x)                                                                                    \
  case x:                                                                                          \
    return #x;
    CASE (VK_SUCCESS)
    CASE (VK_NOT_READY)
    CASE (VK_TIMEOUT)
    CASE (VK_INCOMPLETE)
    CASE (VK_ERROR_OUT_OF_HOST_MEMORY)
    CASE (VK_ERROR_OUT_OF_DEVICE_MEMORY)
    CASE (VK_ERROR_INITIALIZATION_FAILED)
    CASE (VK_ERROR_DEVICE_LOST)
    CASE (VK_ERROR_MEMORY_MAP_FAILED)
    CASE (VK_ERROR_LAYER_NOT_PRESENT)
    CASE (VK_ERROR_EXTENSION_NOT_PRESENT)
    CASE (VK_ERROR_FEATURE_NOT_PRESENT)
    CASE (VK_ERROR_INCOMPATIBLE_DRIVER)
    CASE (VK_ERROR_TOO_MANY_OBJECTS)
    CASE (VK_ERROR_FORMAT_NOT_SUPPORTED)
    CASE (VK_ERROR_FRAGMENTED_POOL)
    CASE (VK_ERROR_OUT_OF_POOL_MEMORY)
    CASE (VK_ERROR_INVALID_SHADER_NV)
#undef CASE
  default:
    return "VK_ERROR_UNKNOWN";
  }
}
