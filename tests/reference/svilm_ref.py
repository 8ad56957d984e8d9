"""PyTorch reference of the S-ViLM model as svilm-core implements it.

Usage: svilm_ref.py MODEL.safetensors BATCH.safetensors OUT.safetensors

Loads the weights and config svilm-core wrote, the batch (cut-and-pasted video,
caption and prompt token ids, masks, foreground clips, pair weights, Gumbel
noise), runs the forward pass and the full pre-training loss in float64, and
writes the loss terms, the embeddings and every parameter's gradient
("grad.<name>").  test-model.c compares them with the C model (llm.c's
test_gpt2 pattern).  Test-time only: nothing at run time depends on torch.
"""
import json
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "torch"))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from svref import load, save  # noqa: E402

torch.set_default_dtype(torch.float64)

# The C model picks its argmax in float32: the tests require a clear winner so both
# agree.  Benchmarks (random weights, no noise) switch the check off.
CHECK_TIES = True


def ln(x, P, name, eps):
    return F.layer_norm(x, (x.shape[-1],), P[name + ".weight"], P[name + ".bias"], eps)


def lin(x, P, name):
    return F.linear(x, P[name + ".weight"], P[name + ".bias"])


def attention(q, k, v, H, graph=None):
    B, Nq, C = q.shape
    Nk = k.shape[1]
    hs = C // H
    q = q.view(B, Nq, H, hs).transpose(1, 2)
    k = k.view(B, Nk, H, hs).transpose(1, 2)
    v = v.view(B, Nk, H, hs).transpose(1, 2)
    logits = q @ k.transpose(-1, -2) / math.sqrt(hs)
    if graph is not None:
        g = graph[:, None]
        logits = (logits * g).masked_fill(g == 0, float("-inf"))
    att = torch.nan_to_num(torch.softmax(logits, -1), nan=0.0)
    return (att @ v).transpose(1, 2).reshape(B, Nq, C)


def stgraph(h, tf, theta):
    """STGT graph (method.md section 9) from the layer's normalised tokens, detached:
    cosine similarity kept where >= theta, diagonal 1, within adjacent temporal slices."""
    B, N, _ = h.shape
    u = F.normalize(h.detach(), dim=-1)
    sim = u @ u.transpose(1, 2)
    sim = torch.where(sim >= theta, sim, torch.zeros_like(sim))
    sim = sim * (1 - torch.eye(N)) + torch.eye(N)
    slot = torch.arange(N) // (N // tf)
    band = ((slot[:, None] - slot[None, :]).abs() <= 1).to(sim.dtype)
    return sim * band


def block(x, P, pre, H, eps, graph=None, stgraph_tf=0, theta=0.5):
    h = ln(x, P, pre + ".ln1", eps)
    if stgraph_tf:
        graph = stgraph(h, stgraph_tf, theta)
    a = attention(lin(h, P, pre + ".attn.q"), lin(h, P, pre + ".attn.k"),
                  lin(h, P, pre + ".attn.v"), H, graph)
    x = x + lin(a, P, pre + ".attn.o")
    h = ln(x, P, pre + ".ln2", eps)
    return x + lin(F.gelu(lin(h, P, pre + ".mlp.fc1")), P, pre + ".mlp.fc2")


def group_block(g, x, P, pre, noise, tau, eps):
    """GroupViT AssignAttention (hard, straight-through) used to update group tokens."""
    D = g.shape[-1]
    q = lin(ln(g, P, pre + ".norm_groups", eps), P, pre + ".assign.q")
    xn = ln(x, P, pre + ".norm_tokens", eps)
    k = lin(xn, P, pre + ".assign.k")
    v = lin(xn, P, pre + ".assign.v")
    logits = q @ k.transpose(1, 2) / math.sqrt(D)  # [B, M, N]
    y = torch.softmax((logits + noise) / tau, dim=1)  # over groups
    if CHECK_TIES and y.shape[1] > 1:
        top2 = y.topk(2, dim=1).values
        assert (top2[:, 0] - top2[:, 1]).min() > 1e-5, "near-tie in the hard assignment"
    hard = torch.zeros_like(y).scatter_(1, y.argmax(dim=1, keepdim=True), 1.0)
    A = hard - y.detach() + y
    A = A / (A.sum(dim=-1, keepdim=True) + 1.0)
    g = g + lin(A @ v, P, pre + ".assign.o")
    h = ln(g, P, pre + ".ln", eps)
    return g + lin(F.gelu(lin(h, P, pre + ".mlp.fc1")), P, pre + ".mlp.fc2")


def video_encoder(P, c, video, noises):
    B, T, H, W, _ = video.shape
    # stem: per frame, 3x3 convolutions at stride 2 (padding 1) + GELU; our weight
    # [C_i, 9*C_{i-1}] holds the taps in the order (ky, kx, c)
    pix = video
    stem = c.get("stem", [])
    for i, ch in enumerate(stem):
        w = P["video.stem.%d.weight" % i]
        cin = w.shape[1] // 9
        y = F.conv2d(pix.reshape(B * T, H, W, cin).permute(0, 3, 1, 2),
                     w.view(ch, 3, 3, cin).permute(0, 3, 1, 2), P["video.stem.%d.bias" % i],
                     stride=2, padding=1)
        H, W = y.shape[2], y.shape[3]
        pix = F.gelu(y).permute(0, 2, 3, 1).reshape(B, T, H, W, ch)
    C = pix.shape[-1]
    pt, p = c["tubelet_t"], c["patch"] >> len(stem)
    Tp, Hp, Wp = T // pt, H // p, W // p
    patches = pix.reshape(B, Tp, pt, Hp, p, Wp, p, C).permute(0, 1, 3, 5, 2, 4, 6, 7)
    patches = patches.reshape(B, Tp * Hp * Wp, pt * p * p * C)
    x = lin(patches, P, "video.patch_embed")
    pos = P["video.pos_temporal"].repeat_interleave(Hp * Wp, 0) + P["video.pos_spatial"].repeat(Tp, 1)
    x = x + pos
    g = P["video.group_tokens"].expand(B, -1, -1)
    eps = c["ln_eps"]
    gi = 0
    # groups_in_layers: the group tokens go through every layer with the video tokens
    joint = c.get("groups_in_layers", False)
    Nv = x.shape[1]
    for l in range(c["v_depth"]):
        tf = Tp if c.get("attention") == "stgraph" else 0
        if joint:
            xg = block(torch.cat([x, g], 1), P, "video.blocks.%d" % l, c["v_heads"], eps)
            x, g = xg[:, :Nv], xg[:, Nv:]
        else:
            x = block(x, P, "video.blocks.%d" % l, c["v_heads"], eps, stgraph_tf=tf,
                      theta=c["stgraph_theta"])
        if (l + 1) in c["group_after"]:
            g = group_block(g, x, P, "video.grouping.%d" % l, noises[gi], c["tau_gumbel"], eps)
            gi += 1
    z = ln(x, P, "video.norm", eps)
    gp = F.linear(ln(g, P, "video.norm_groups", eps), P["video.proj.weight"])
    fv = F.normalize(gp.mean(1), dim=-1, eps=1e-12)
    return z, gp, fv


def text_encoder(P, c, ids, mask):
    Bt, L = ids.shape
    x = P["text.token_embed"][ids] + P["text.pos_embed"][torch.arange(L)]
    graph = mask[:, None, :].expand(Bt, L, L)
    for l in range(c["t_depth"]):
        x = block(x, P, "text.blocks.%d" % l, c["t_heads"], c["ln_eps"], graph)
    cls = ln(x, P, "text.norm", c["ln_eps"])[:, 0]
    return F.normalize(F.linear(cls, P["text.proj.weight"]), dim=-1, eps=1e-12)


def xent(logits, targets):
    return -(targets * torch.log_softmax(logits, -1)).sum(-1).mean()


def unit(x):
    return F.normalize(x, dim=-1, eps=1e-8)


def temporal_loss(z, fg, c):
    B, Nv, D = z.shape
    Nt = c["frames"] // c["tubelet_t"]
    zc = z.view(B, Nt, Nv // Nt, D).mean(2)
    wf = fg / fg.sum(1, keepdim=True)
    wb = (1 - fg) / (1 - fg).sum(1, keepdim=True)
    zf = (wf[:, :, None] * zc).sum(1)
    zb = (wb[:, :, None] * zc).sum(1)
    sim = torch.stack([(unit(zc) * unit(zb)[:, None]).sum(-1),
                       (unit(zc) * unit(zf)[:, None]).sum(-1)], -1)
    prob = torch.softmax(sim / c["tau_temporal"], -1)
    return F.mse_loss(prob, torch.stack([1 - fg, fg], -1))


def grounding_loss(gp, nouns, Wv, c):
    B, M, E = gp.shape
    K = nouns.shape[0] // B
    tau = c["tau_ground"]
    S = torch.einsum("ime,pe->ipm", unit(gp), unit(nouns))  # [B(video), B*K(noun), M]
    pooled = torch.softmax(S / tau, -1) @ gp  # [B, B*K, E]
    Gk = (unit(pooled) * unit(nouns)[None]).sum(-1)  # [B(i), B*K]
    G = Gk.view(B, B, K).mean(-1)  # G[i, j] = G(v_i, c_j)
    return xent(G / tau, Wv) + xent(G.t() / tau, Wv.t())


def within_loss(gp, nouns, targets, c):
    # grounding within a video (svilm-core/sv-losses.h, L_w): video i's groups pooled for
    # its own caption's k-th phrase against the caption's K phrases
    B, M, E = gp.shape
    K = nouns.shape[0] // B
    tau = c["tau_ground"]
    n = nouns.view(B, K, E)
    S = torch.einsum("ime,ike->ikm", unit(gp), unit(n))  # [B, K, M]
    own = torch.softmax(S / tau, -1) @ gp  # [B, K, E]
    Sw = torch.einsum("ike,ile->ikl", unit(own), unit(n))  # [B, K(pooled), K(phrase)]
    return xent(Sw.reshape(B * K, K) / tau, targets)


def contrast_loss(fv, fc, Wv, c, negs=None):
    # negs: negative captions (svilm-core/sv-losses.h): more columns of video->text, target 0
    if negs is None or negs.shape[0] == 0:
        S = fv @ fc.t() / c["tau_contrast"]
        return xent(S, Wv) + xent(S.t(), Wv.t())
    S = fv @ torch.cat([fc, negs]).t() / c["tau_contrast"]
    Wpad = torch.cat([Wv, torch.zeros(Wv.shape[0], negs.shape[0])], 1)
    return xent(S, Wpad) + xent(fc @ fv.t() / c["tau_contrast"], Wv.t())


def separate_loss(fc, negs, held=None, margin=0.5):
    # negative captions held apart (svilm-core/sv-losses.h, L_s): caption j against its
    # Q negatives at rows j*Q + q of negs; held [B*Q]: 0 leaves a pair out of the sum
    # (still counted in the mean)
    B, Q = fc.shape[0], negs.shape[0] // fc.shape[0]
    cos = (fc.unsqueeze(1) * negs.reshape(B, Q, -1)).sum(-1)
    terms = torch.clamp(cos - margin, min=0) ** 2
    if held is not None:
        terms = terms * held.reshape(B, Q)
    return terms.mean()


def words_loss(P, fv, ids, mask, Wv, tau, word_weight=None):
    # the caption's words from the clip (svilm-core/sv-losses.h, L_words): softmax over the
    # vocabulary; the target spreads 1 over a caption's distinct non-special tokens (in
    # proportion to word_weight [V] when given; tokens of weight 0 left out), mixed by the
    # cut-and-paste weights
    W = P["words.weight"]
    B, V = fv.shape[0], W.shape[0]
    weight = word_weight.double() if word_weight is not None else torch.ones(V, dtype=torch.float64)
    bag = torch.zeros(B, V)
    for j in range(B):
        toks = {int(t) for t, m in zip(ids[j], mask[j])
                if m != 0 and 4 <= int(t) < V and weight[int(t)] > 0}
        total = sum(float(weight[t]) for t in toks)
        for t in toks:
            bag[j, t] = float(weight[t]) / total
    logits = F.linear(fv, W, P["words.bias"]) / tau
    return xent(logits, Wv @ bag)


def csal_targets(fv, fc, Wv):
    # STGT's cross-similarity alignment targets (method.md section 9), combined with the
    # cut-and-paste weights as svilm-core does: Tv = Wv Y, Tc = Y Wv^T; no gradient
    with torch.no_grad():
        fv, fc, Wv = fv.double(), fc.double(), Wv.double()
        W = (fv @ fv.t()).clamp(min=0) * (fc @ fc.t()).clamp(min=0)
        W = torch.where(W < 0.05, torch.full_like(W, -100.0), W)
        Y = torch.softmax(5 * W, -1)
        Y = 0.99 * Y + 0.01 / Y.shape[0]
        return (Wv @ Y).float(), (Y @ Wv.t()).float()


def csal_loss(fv, fc, Wv, c):
    S = fv @ fc.t() / c["tau_contrast"]
    Tv, Tc = csal_targets(fv, fc, Wv)
    return xent(S, Tv) + xent(S.t(), Tc)


def main():
    model_path, batch_path, out_path = sys.argv[1:4]
    P, meta = load(model_path)
    c = json.loads(meta["config"])
    for v in P.values():
        v.requires_grad_(True)
    b, _ = load(batch_path)
    B = b["video"].shape[0]
    noises = list(b["noise"]) if "noise" in b else []
    z, gp, fv = video_encoder(P, c, b["video"], noises)
    f = text_encoder(P, c, b["ids"], b["mask"])
    Q = int(b["negatives"][0]) if "negatives" in b else 0
    captions, negs, nouns = f[:B], f[B:B + B * Q], f[B + B * Q:]
    w = b["weights"]
    lt = temporal_loss(z, b["fg"], c)
    lg = grounding_loss(gp, nouns, b["Wv"], c)
    lc = contrast_loss(fv, captions, b["Wv"], c, negs)
    ls = csal_loss(fv, captions, b["Wv"], c)
    lw = within_loss(gp, nouns, b["within_targets"], c)
    lsep = separate_loss(captions, negs, b.get("separate_held")) if Q > 0 else torch.zeros(())
    lwords = (words_loss(P, fv, b["ids"][:B], b["mask"][:B], b["Wv"], c["tau_contrast"],
                         b.get("word_weight")) if "words.weight" in P
              else torch.zeros(()))
    loss = (w[0] * lt + w[1] * lg + w[2] * lc + w[3] * ls + w[4] * lw + w[5] * lsep
            + w[6] * lwords)
    loss.backward()
    out = {"loss_temporal": lt.reshape(1), "loss_grounding": lg.reshape(1),
           "loss_contrast": lc.reshape(1), "loss_csal": ls.reshape(1), "loss_within": lw.reshape(1),
           "loss_separate": lsep.reshape(1), "loss_words": lwords.reshape(1),
           "loss": loss.reshape(1),
           "fv": fv, "f": f, "z": z}
    for name, v in P.items():
        out["grad." + name] = v.grad if v.grad is not None else torch.zeros_like(v)
    save(out_path, out)


if __name__ == "__main__":
    main()
