/* svilm-core Vulkan backend: the SPIR-V kernels embedded at build time
 * (shaders/meson.build, shaders/embed-spirv.py). */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct {
  const char *name;     /* kernel name, e.g. "gemm" */
  const uint32_t *code; /* SPIR-V words */
  size_t size;          /* bytes */
} SvVkShaderBlob;

extern const SvVkShaderBlob sv_vk_shader_blobs[];
extern const unsigned sv_vk_n_shader_blobs;
