/* svilm-core Vulkan backend: instance, device selection and creation. */
#include "config.h"

#include "sv-vk-private.h"

#include <string.h>

static const char *
type_str (VkPhysicalDeviceType t)
{
  switch (t) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
    return "discrete GPU";
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
    return "integrated GPU";
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
    return "virtual GPU";
  case VK_PHYSICAL_DEVICE_TYPE_CPU:
    return "CPU";
  default:
    return "other";
  }
}

#ifdef VK_KHR_portability_enumeration
static gboolean
has_instance_extension (SvVk *vk, const char *name)
{
  uint32_t n = 0;
  if (vk->fn.vkEnumerateInstanceExtensionProperties (NULL, &n, NULL) != VK_SUCCESS || n == 0)
    return FALSE;
  VkExtensionProperties *ext = g_new0 (VkExtensionProperties, n);
  gboolean found = FALSE;
  if (vk->fn.vkEnumerateInstanceExtensionProperties (NULL, &n, ext) >= VK_SUCCESS)
    for (uint32_t i = 0; i < n && !found; i++)
      found = strcmp (ext[i].extensionName, name) == 0;
  g_free (ext);
  return found;
}
#endif

static gboolean
create_instance (SvVk *vk, GError **error)
{
  if (!sv_vk_load_global (&vk->fn, error))
    return FALSE;
  VkApplicationInfo app = {
    .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
    .pApplicationName = "svilm",
    .applicationVersion = VK_MAKE_VERSION (0, 1, 0),
    .pEngineName = "svilm-core",
    .engineVersion = VK_MAKE_VERSION (0, 1, 0),
    .apiVersion = VK_API_VERSION_1_0,
  };
  const char *exts[1];
  uint32_t n_ext = 0;
  VkInstanceCreateFlags flags = 0;
#ifdef VK_KHR_portability_enumeration
  /* MoltenVK and other layered implementations only show up when asked for */
  if (has_instance_extension (vk, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
    exts[n_ext++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
    flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
  }
#endif
  VkInstanceCreateInfo ci = {
    .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
    .flags = flags,
    .pApplicationInfo = &app,
    .enabledExtensionCount = n_ext,
    .ppEnabledExtensionNames = exts,
  };
  VkResult r = vk->fn.vkCreateInstance (&ci, NULL, &vk->instance);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER) {
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND,
                 "vulkan: no Vulkan driver (ICD) was found (vkCreateInstance: %s); install one "
                 "(e.g. mesa-vulkan-drivers) or check VK_ICD_FILENAMES / VK_DRIVER_FILES",
                 sv_vk_result_str (r));
    return FALSE;
  }
  if (r != VK_SUCCESS) {
    vk->instance = VK_NULL_HANDLE;
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND, "vulkan: vkCreateInstance failed: %s",
                 sv_vk_result_str (r));
    return FALSE;
  }
  return sv_vk_load_instance (&vk->fn, vk->instance, error);
}

/* a queue family with compute, or -1 */
static int
compute_family (SvVk *vk, VkPhysicalDevice pd)
{
  uint32_t n = 0;
  vk->fn.vkGetPhysicalDeviceQueueFamilyProperties (pd, &n, NULL);
  VkQueueFamilyProperties *q = g_new0 (VkQueueFamilyProperties, MAX (n, 1));
  vk->fn.vkGetPhysicalDeviceQueueFamilyProperties (pd, &n, q);
  int found = -1;
  for (uint32_t i = 0; i < n && found < 0; i++)
    if ((q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && q[i].queueCount > 0)
      found = (int) i;
  g_free (q);
  return found;
}

static gboolean
pick_device (SvVk *vk, int index, gboolean allow_cpu, GError **error)
{
  uint32_t n = 0;
  VkResult r = vk->fn.vkEnumeratePhysicalDevices (vk->instance, &n, NULL);
  if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND, "vulkan: vkEnumeratePhysicalDevices failed: %s",
                 sv_vk_result_str (r));
    return FALSE;
  }
  if (n == 0) {
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND,
                 "vulkan: no Vulkan device was found (the loader found no usable driver)");
    return FALSE;
  }
  VkPhysicalDevice *pds = g_new0 (VkPhysicalDevice, n);
  vk->fn.vkEnumeratePhysicalDevices (vk->instance, &n, pds);
  GString *list = g_string_new (NULL);
  int best = -1, best_score = 0;
  for (uint32_t i = 0; i < n; i++) {
    VkPhysicalDeviceProperties p;
    vk->fn.vkGetPhysicalDeviceProperties (pds[i], &p);
    g_string_append_printf (list, "%s%u = %s (%s)", i ? ", " : "", i, p.deviceName,
                            type_str (p.deviceType));
    int score = p.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU     ? 2
                : p.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU ? 1
                                                                         : 0;
    if (index < 0 && score > best_score && compute_family (vk, pds[i]) >= 0) {
      best = (int) i;
      best_score = score;
    }
  }
  gboolean ok = FALSE;
  if (index < 0 && best < 0) {
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND,
                 "vulkan: no GPU with compute found (devices: %s); software drivers such as "
                 "lavapipe are only used when asked for with device=vulkan",
                 list->str);
  } else if (index >= 0 && (uint32_t) index >= n) {
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND,
                 "vulkan: there is no Vulkan device %d (found %u: %s)", index, n, list->str);
  } else {
    int i = index < 0 ? best : index;
    vk->phys = pds[i];
    vk->fn.vkGetPhysicalDeviceProperties (vk->phys, &vk->props);
    int fam = compute_family (vk, vk->phys);
    if (vk->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU && !allow_cpu) {
      g_set_error (error, SV_ERROR, SV_ERROR_BACKEND,
                   "vulkan: device %d (%s) is a CPU implementation", i, vk->props.deviceName);
    } else if (fam < 0) {
      g_set_error (error, SV_ERROR, SV_ERROR_BACKEND, "vulkan: device %d (%s) has no compute queue",
                   i, vk->props.deviceName);
    } else {
      vk->queue_family = (uint32_t) fam;
      ok = TRUE;
    }
  }
  g_string_free (list, TRUE);
  g_free (pds);
  return ok;
}

static gboolean
create_device (SvVk *vk, GError **error)
{
  float prio = 1.0f;
  VkDeviceQueueCreateInfo qci = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
    .queueFamilyIndex = vk->queue_family,
    .queueCount = 1,
    .pQueuePriorities = &prio,
  };
  VkDeviceCreateInfo dci = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
    .queueCreateInfoCount = 1,
    .pQueueCreateInfos = &qci,
  };
  VkResult r = vk->fn.vkCreateDevice (vk->phys, &dci, NULL, &vk->device);
  if (r != VK_SUCCESS) {
    vk->device = VK_NULL_HANDLE;
    g_set_error (error, SV_ERROR, SV_ERROR_BACKEND, "vulkan: cannot create a device on %s: %s",
                 vk->props.deviceName, sv_vk_result_str (r));
    return FALSE;
  }
  if (!sv_vk_load_device (&vk->fn, vk->device, error))
    return FALSE;
  vk->fn.vkGetDeviceQueue (vk->device, vk->queue_family, 0, &vk->queue);
  vk->fn.vkGetPhysicalDeviceMemoryProperties (vk->phys, &vk->mem_props);

  /* workgroup size of the row and elementwise kernels: a power of two <= 256 */
  uint32_t lim = MIN (vk->props.limits.maxComputeWorkGroupInvocations,
                      vk->props.limits.maxComputeWorkGroupSize[0]);
  vk->wg_max = 256;
  while (vk->wg_max > lim && vk->wg_max > 1)
    vk->wg_max /= 2;
  return TRUE;
}

gboolean
sv_vk_device_init (SvVk *vk, int index, gboolean allow_cpu_driver, GError **error)
{
  if (!create_instance (vk, error) || !pick_device (vk, index, allow_cpu_driver, error) ||
      !create_device (vk, error))
    return FALSE;
  vk->base.device_name = g_strdup_printf (
      "Vulkan: %s (%s, API %u.%u.%u)", vk->props.deviceName, type_str (vk->props.deviceType),
      VK_VERSION_MAJOR (vk->props.apiVersion), VK_VERSION_MINOR (vk->props.apiVersion),
      VK_VERSION_PATCH (vk->props.apiVersion));
  return TRUE;
}

void
sv_vk_device_cleanup (SvVk *vk)
{
  if (vk->device)
    vk->fn.vkDestroyDevice (vk->device, NULL);
  vk->device = VK_NULL_HANDLE;
  if (vk->instance)
    vk->fn.vkDestroyInstance (vk->instance, NULL);
  vk->instance = VK_NULL_HANDLE;
}
