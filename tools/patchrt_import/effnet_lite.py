"""Reader for EfficientNet-Lite state dicts (PyTorch ports: EfficientNet-PyTorch style or timm style)."""

from __future__ import annotations

from .arch import EFFNET_LITE_BASE, EFFNET_LITE_VARIANTS, effnet_lite_blocks
from .errors import fail
from .layouts import torch_depthwise, torch_pointwise, torch_stem
from .model import SourceLayer, SourceModel
from .state_dict import KeyTracker, torch_classifier
from .torch_pickle import load_state_dict


def read_effnet_lite(path: str) -> SourceModel:
    raw, container = load_state_dict(path)
    sd = KeyTracker(raw)
    if any(".se." in k or "_se_" in k or "conv_reduce" in k for k in raw):
        fail("state dict has squeeze-and-excitation layers: a full EfficientNet, not EfficientNet-Lite")
    blocks: list[tuple[int, list[SourceLayer]]] = []  # (stage or -1, layers)
    if sd.has("_conv_stem.weight"):
        style = "EfficientNet-PyTorch"
        stem_key, stem_bn, head_key, head_bn, fc = "_conv_stem.weight", "_bn0", "_conv_head.weight", "_bn1", "_fc"
        i = 0
        while sd.has(f"_blocks.{i}._depthwise_conv.weight"):
            p = f"_blocks.{i}"
            bl = []
            if sd.has(f"{p}._expand_conv.weight"):
                bl.append(SourceLayer("expand", i, torch_pointwise(f"{p}._expand_conv.weight", sd.get(f"{p}._expand_conv.weight")),
                                      f"{p}._expand_conv.weight", sd.bn(f"{p}._bn0"), f"{p}._bn0", 1))
            dw = sd.get(f"{p}._depthwise_conv.weight")
            bl.append(SourceLayer("depthwise", i, torch_depthwise(f"{p}._depthwise_conv.weight", dw),
                                  f"{p}._depthwise_conv.weight", sd.bn(f"{p}._bn1"), f"{p}._bn1", int(dw.shape[-1])))
            bl.append(SourceLayer("project", i, torch_pointwise(f"{p}._project_conv.weight", sd.get(f"{p}._project_conv.weight")),
                                  f"{p}._project_conv.weight", sd.bn(f"{p}._bn2"), f"{p}._bn2", 1))
            blocks.append((-1, bl))
            i += 1
    elif sd.has("conv_stem.weight"):
        style = "timm"
        stem_key, stem_bn, head_key, head_bn, fc = "conv_stem.weight", "bn1", "conv_head.weight", "bn2", "classifier"
        s = 0
        n = 0
        while sd.has(f"blocks.{s}.0.conv_dw.weight"):
            r = 0
            while sd.has(f"blocks.{s}.{r}.conv_dw.weight"):
                p = f"blocks.{s}.{r}"
                bl = []
                if sd.has(f"{p}.conv_pwl.weight"):  # inverted residual
                    bl.append(SourceLayer("expand", n, torch_pointwise(f"{p}.conv_pw.weight", sd.get(f"{p}.conv_pw.weight")),
                                          f"{p}.conv_pw.weight", sd.bn(f"{p}.bn1"), f"{p}.bn1", 1))
                    dw_bn, pj_key, pj_bn = f"{p}.bn2", f"{p}.conv_pwl.weight", f"{p}.bn3"
                else:  # depthwise separable (expand ratio 1)
                    dw_bn, pj_key, pj_bn = f"{p}.bn1", f"{p}.conv_pw.weight", f"{p}.bn2"
                dw = sd.get(f"{p}.conv_dw.weight")
                bl.append(SourceLayer("depthwise", n, torch_depthwise(f"{p}.conv_dw.weight", dw),
                                      f"{p}.conv_dw.weight", sd.bn(dw_bn), dw_bn, int(dw.shape[-1])))
                bl.append(SourceLayer("project", n, torch_pointwise(pj_key, sd.get(pj_key)), pj_key,
                                      sd.bn(pj_bn), pj_bn, 1))
                blocks.append((s, bl))
                r += 1
                n += 1
            s += 1
    else:
        sample = ", ".join(list(raw)[:3])
        fail(f"not an EfficientNet-Lite state dict (no _conv_stem.weight or conv_stem.weight; keys start {sample})")
    if not blocks:
        fail("EfficientNet-Lite state dict has no blocks")

    stem_w = sd.get(stem_key)
    layers = [SourceLayer("stem", None, torch_stem(stem_key, stem_w), stem_key, sd.bn(stem_bn), stem_bn, int(stem_w.shape[-1]))]
    # Derive the [t, c, n, s, k] table from the shapes. A stage starts where the
    # channel count changes (timm: where the stage index changes); strides come
    # from the EfficientNet stage layout, which weights cannot tell.
    rows: list[list[int]] = []
    channels = layers[0].weight.shape[-1]
    prev_stage = None
    for stage, bl in blocks:
        expand = bl[0] if bl[0].kind == "expand" else None
        dw, pj = bl[-2], bl[-1]
        hidden = dw.weight.shape[-1]
        cin = expand.weight.shape[0] if expand else hidden
        cout = pj.weight.shape[1]
        if cin != channels:
            fail(f"{(expand or dw).weight_src}: block input has {cin} channels, previous output has {channels}")
        if hidden % cin:
            fail(f"{dw.weight_src}: {hidden} hidden channels is not a multiple of {cin} input channels")
        t, k = hidden // cin, dw.kernel
        if expand is None and t != 1:
            fail(f"{dw.weight_src}: block without expand convolution changes the channel count")
        if stage >= 0:
            new_stage = stage != prev_stage
        else:
            new_stage = not rows or cin != cout or rows[-1][0] != t or rows[-1][4] != k
        if new_stage:
            rows.append([t, cout, 1, None, k])
        else:
            row = rows[-1]
            if row[0] != t or row[1] != cout or row[4] != k:
                fail(f"{dw.weight_src}: block differs from the rest of its stage (t, c, k = {t}, {cout}, {k})")
            row[2] += 1
        prev_stage = stage
        layers.extend(bl)
        channels = cout
    if len(rows) != len(EFFNET_LITE_BASE):
        fail(f"found {len(rows)} stages of blocks; EfficientNet-Lite has {len(EFFNET_LITE_BASE)}")
    for row, base in zip(rows, EFFNET_LITE_BASE):
        row[3] = base[3]
    head_w = sd.get(head_key)
    layers.append(SourceLayer("head", None, torch_pointwise(head_key, head_w), head_key, sd.bn(head_bn), head_bn, 1))
    cw, cb = torch_classifier(sd, fc)
    sd.reject_unused(f"EfficientNet-Lite ({style} layout)")

    variant, resolution = None, 224
    for name, (wc, dc, res) in EFFNET_LITE_VARIANTS.items():
        if effnet_lite_blocks(wc, dc) == rows:
            variant, resolution = name, res
            break
    notes = [f"read as {container}, {style} key layout"]
    if variant is None:
        variant = "efficientnet_lite (unknown variant)"
        notes.append("block table matches no EfficientNet-Lite0..4; native resolution assumed 224")
    return SourceModel(
        source_format="effnet-lite",
        source_path=path,
        source_arch=variant,
        layers=layers,
        classifier_weight=cw,
        classifier_bias=cb,
        classifier_src=fc,
        bn_epsilon=1e-3,
        padding="same_upper",
        input_mean=[127.0, 127.0, 127.0],
        input_scale=[1 / 128, 1 / 128, 1 / 128],
        native_resolution=resolution,
        default_task="imagenet",
        width=1.0,
        blocks=rows,
        notes=notes,
    )
