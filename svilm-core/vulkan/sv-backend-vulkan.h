/* svilm-core: the Vulkan compute backend (issue 4).
 *
 * Buffers live in device-local memory, sub-allocated from large blocks; ops
 * record compute dispatches into a command buffer that is submitted when the
 * host needs results (download, finish).  The Vulkan loader is opened at run
 * time, so libsvilm-core works (on the CPU) where no Vulkan is installed. */
#pragma once

#include "sv-backend.h"

G_BEGIN_DECLS

/* Opens Vulkan device `index` in the loader's order, or with index -1 the best
 * GPU (a discrete one, else an integrated one).  CPU implementations such as
 * lavapipe are only accepted when allow_cpu_driver is TRUE (and never for -1).
 * Returns NULL with an SV_ERROR_BACKEND error when there is no loader, no
 * driver, no such device, or the device cannot be set up. */
SvBackend *sv_backend_vulkan_open (int index, gboolean allow_cpu_driver, GError **error);

G_END_DECLS
