"""PyTorch reference for im2col (tests/test-ops-conv.c): a 2-D convolution written as
im2col + linear against F.conv2d, forward and both gradients."""
import torch
from svref import leaf, out_path, save

# images [N, H, W, C] (channels last, as the video stem holds frames); our weight is
# [OC, k*k*C] in the order (ky, kx, c), so conv2d's [OC, C, k, k] is
# weight.view(OC, k, k, C).permute(0, 3, 1, 2).
N, H, W, C, OC, k, s, pad = 3, 9, 10, 4, 6, 3, 2, 1
images = leaf(N, H, W, C)
cw = leaf(OC, k * k * C)
cb = leaf(OC)
y = torch.nn.functional.conv2d(images.permute(0, 3, 1, 2),
                               cw.view(OC, k, k, C).permute(0, 3, 1, 2), cb, stride=s,
                               padding=pad)
y = y.permute(0, 2, 3, 1)  # [N, Ho, Wo, OC]
gy = torch.rand_like(y) * 2 - 1
y.backward(gy)

save(out_path(), dict(images=images, cw=cw, cb=cb, y=y, gy=gy, gimages=images.grad,
                      gcw=cw.grad, gcb=cb.grad, k=torch.tensor([float(k)]),
                      s=torch.tensor([float(s)]), pad=torch.tensor([float(pad)])))
