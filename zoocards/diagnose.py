"""Why a params or compute claim is off: the usual counting conventions, tried one by one (pure).

A count record (zoocards/workers/count.py) counts learnable parameters and the MACs of
convolutions, linear layers and matmuls at the model's input size. Zoos and papers count
otherwise in a handful of known ways. For a mismatch, `explain` recomputes the figure under each
of them, from the parts the count record reports separately, and returns the one that
reproduces the claim:

FLOPs/MACs (`macs`, `macs_at`, `macs_extra`, `matmul_macs`):
  convention  FLOPs = 2 x MACs (or MACs written where the card declares FLOPs);
  input size  counted at another resolution (`macs_at`: 224, 256, ... and the eval crop);
  extras      BatchNorm, activations, pooling, element-wise ops or bias additions counted
              (`macs_extra`), squeeze-excitation FCs or attention matmuls left out.
Params (`params`, `bn_running_stats`, `params_by_kind`):
  BatchNorm running mean/variance counted; biases, SE FCs or auxiliary heads left out; a
  classifier head for another number of classes (`head_in` x k + k for k in CLASS_COUNTS); the
  deployed network of a re-parameterisable model (`params_deploy`, and `macs_deploy` for compute:
  RepVGG's branches fused).

One explanation is tried alone first; two (from different groups, e.g. 2 x MACs at 256) only
when none alone reproduces. The closest wins; on a tie, the earlier in the tables below. An
explanation reproduces the claim when it lands within `compare.DIAGNOSIS_MARGIN` (tighter than
the verification tolerance, so that a loose match is not sold as the cause). The caller decides
what it means: the status stays `mismatch` unless the card declares the convention.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypedDict

from zoocards import units


class Explanation(TypedDict):
    """What reproduces a mismatched claim, in display units (`id` "none" and `reproduces` None when nothing does)."""

    id: str
    text: str
    text_zh: str
    reproduces: float | None


# Class counts a released head is often trained for: ImageNet-1k, 1k + a background class
# (TF-slim), ImageNet-21K-P (winter 2021), ImageNet-22k (fall 2011), and none (backbone only).
CLASS_COUNTS: tuple[tuple[int, str, str], ...] = (
    (1000, "1000 classes (ImageNet-1k)", "1000 类（ImageNet-1k）"),
    (1001, "1001 classes (1000 + background, TF-slim)", "1001 类（1000 类加背景类，TF-slim）"),
    (11221, "11221 classes (ImageNet-21K-P)", "11221 类（ImageNet-21K-P）"),
    (21841, "21841 classes (ImageNet-22k)", "21841 类（ImageNet-22k）"),
    (0, "no classifier (backbone only)", "不含分类头（仅主干）"),
)

# `macs_extra` parts a counter may add to conv/linear MACs: (key, en, zh). One of them alone,
# BatchNorm with activations (what most hook-based counters add), or all of them.
EXTRA_PARTS: tuple[tuple[str, str, str], ...] = (
    ("bn", "BatchNorm", "BatchNorm"),
    ("act", "activations", "激活函数"),
    ("pool", "pooling", "池化"),
    ("elementwise", "element-wise additions and multiplications", "逐元素加法与乘法"),
    ("bias", "bias additions", "偏置加法"),
)


@dataclass(frozen=True)
class Option:
    """One way of counting: its group (two options of a group never combine) and its value."""

    id: str
    group: str
    en: str
    zh: str
    apply: Callable[[Decimal, Decimal], Decimal]  # (value so far, the model's own count at its size) -> value
    order: int = 0  # options that change the base (input size) go first, factors last
    fix: str = ""  # what the card's author can do, when the card has a field for it
    fix_zh: str = ""


def _display(metric: str, count: Decimal) -> Decimal:
    """A count -> the site's display unit (params: M, MACs: G)."""
    return units.count_to_scale(count, "count", "M" if metric == "params" else "G")


def _num(value: Decimal) -> str:
    return units.plain(Decimal(f"{value:.4g}").normalize())


def _signed(metric: str, count: Decimal) -> str:
    unit = " M" if metric == "params" else " G MACs"
    value = _display(metric, count)
    return ("+" if value >= 0 else "−") + _num(abs(value)) + unit


def flops_options(result: dict[str, Any], convention: str, input_size: int | None) -> list[Option]:
    """Every way of counting compute this record lets us recompute."""
    options: list[Option] = []
    if convention == "MACs":
        options.append(Option("flops_x2", "convention", "FLOPs = 2 × MACs", "FLOPs = 2 × MACs", _times(Decimal(2)), order=2,
                              fix="if the source counts FLOPs, set units.flops.convention: FLOPs", fix_zh="若来源按 FLOPs 计数，请设置 units.flops.convention: FLOPs"))
    else:
        options.append(Option("macs_as_flops", "convention", "MACs written where the card declares FLOPs", "卡片声明 FLOPs，来源写的却是 MACs",
                              _times(Decimal("0.5")), order=2,
                              fix="if the source counts MACs, set units.flops.convention: MACs", fix_zh="若来源按 MACs 计数，请设置 units.flops.convention: MACs"))
    macs = Decimal(int(result["macs"]))
    for size, value in sorted((result.get("macs_at") or {}).items(), key=lambda item: int(item[0])):
        if input_size is not None and int(size) == input_size:
            continue
        at = Decimal(int(value))
        # Extras scale with the spatial area, as the layers they come from do: an extra added after
        # the size change is scaled by at/macs (stated as approximate in the text).
        options.append(Option(f"input_size_{size}", "size", f"counted at {size}×{size} input instead of {input_size}×{input_size}",
                              f"按 {size}×{size} 输入统计（而非 {input_size}×{input_size}）", _resized(at), order=0))
    if result.get("macs_deploy") is not None:
        fused = Decimal(int(result["macs_deploy"]))
        options.append(Option("macs_deploy", "size", f"the deployed network counted, its re-parameterised branches fused ({_signed('flops', fused - macs)})",
                              f"按结构重参数化后部署的网络计数，各分支已融合（{_signed('flops', fused - macs)}）", _resized(fused), order=0))
    extra = result.get("macs_extra") or {}
    for key, en, zh in EXTRA_PARTS:
        if extra.get(key):
            delta = Decimal(int(extra[key]))
            options.append(Option(f"counts_{key}", "extra", f"{en} counted as compute ({_signed('flops', delta)})", f"把{zh}计入计算量（{_signed('flops', delta)}）",
                                  _scaled(delta, macs), order=1))
    if extra.get("bn") and extra.get("act"):
        delta = Decimal(int(extra["bn"]) + int(extra["act"]))
        options.append(Option("counts_bn_act", "extra", f"BatchNorm and activations counted as compute ({_signed('flops', delta)})",
                              f"把 BatchNorm 与激活函数计入计算量（{_signed('flops', delta)}）", _scaled(delta, macs), order=1))
    parts = [key for key, _, _ in EXTRA_PARTS if extra.get(key)]
    if len(parts) > 2:
        delta = Decimal(sum(int(extra[key]) for key in parts))
        options.append(Option("counts_all_extras", "extra", f"every non-conv/linear op counted ({', '.join(parts)}: {_signed('flops', delta)})",
                              f"把所有非卷积/全连接算子计入计算量（{', '.join(parts)}：{_signed('flops', delta)}）", _scaled(delta, macs), order=1))
    if extra.get("se"):
        delta = -Decimal(int(extra["se"]))
        options.append(Option("omits_se", "extra", f"squeeze-excitation FCs not counted ({_signed('flops', delta)})",
                              f"未计入 SE 模块的全连接层（{_signed('flops', delta)}）", _scaled(delta, macs), order=1))
    if result.get("matmul_macs"):
        delta = -Decimal(int(result["matmul_macs"]))
        options.append(Option("omits_matmul", "extra", f"attention matmuls not counted ({_signed('flops', delta)})",
                              f"未计入注意力中的矩阵乘法（{_signed('flops', delta)}）", _scaled(delta, macs), order=1))
    return options


Step = Callable[[Decimal, Decimal], Decimal]


def _scaled(delta: Decimal, macs: Decimal) -> Step:
    """Add `delta` (counted at the model's size) in proportion to the base it is added to."""
    def step(value: Decimal, base: Decimal) -> Decimal:
        return value + (delta * base / macs if macs else delta)
    return step


def _plus(delta: Decimal) -> Step:
    def step(value: Decimal, base: Decimal) -> Decimal:
        return value + delta
    return step


def _times(factor: Decimal) -> Step:
    def step(value: Decimal, base: Decimal) -> Decimal:
        return value * factor
    return step


def _resized(at: Decimal) -> Step:
    """The count at another input size in place of the model's own."""
    def step(value: Decimal, base: Decimal) -> Decimal:
        return value - base + at
    return step


def params_options(result: dict[str, Any]) -> list[Option]:
    """Every way of counting parameters this record lets us recompute."""
    options: list[Option] = []
    stats = result.get("bn_running_stats")
    if stats is None and result.get("params_all") is not None:
        stats = int(result["params_all"]) - int(result["params"])
    if stats:
        delta = Decimal(int(stats))
        options.append(Option("params_bn_stats", "bn", f"BatchNorm running mean and variance counted as parameters ({_signed('params', delta)})",
                              f"把 BatchNorm 的滑动均值与方差计入参数量（{_signed('params', delta)}）", _plus(delta)))
    kinds = result.get("params_by_kind") or {}
    for key, en, zh in (("bias", "biases not counted", "未计入偏置"), ("se", "squeeze-excitation FCs not counted", "未计入 SE 模块的全连接层"),
                        ("aux", "auxiliary heads not counted", "未计入辅助分类头")):
        if kinds.get(key):
            delta = -Decimal(int(kinds[key]))
            options.append(Option(f"params_omits_{key}", key, f"{en} ({_signed('params', delta)})", f"{zh}（{_signed('params', delta)}）", _plus(delta)))
    if result.get("params_deploy") is not None and result.get("params") is not None:
        delta = Decimal(int(result["params_deploy"]) - int(result["params"]))
        options.append(Option("params_deploy", "deploy", f"the deployed network counted, its re-parameterised branches fused into one convolution per block ({_signed('params', delta)})",
                              f"按结构重参数化后部署的网络计数，各分支已融合为每块一个卷积（{_signed('params', delta)}）", _plus(delta)))
    head, head_in = kinds.get("head"), kinds.get("head_in")
    if head is not None and head_in:
        outputs = result.get("outputs")
        for classes, en, zh in CLASS_COUNTS:
            if classes == outputs:
                continue
            delta = Decimal(int(head_in) * classes + classes - int(head))  # weights + biases of a k-way FC
            options.append(Option(f"head_{classes}", "head", f"a classifier head for {en} instead of {outputs} ({_signed('params', delta)})",
                                  f"分类头按 {zh}计，而非 {outputs} 类（{_signed('params', delta)}）", _plus(delta)))
    return options


def _candidates(options: list[Option], base: Decimal) -> Iterable[tuple[tuple[Option, ...], Decimal]]:
    """Each option alone, then each pair from different groups, with the value it gives."""
    for option in options:
        yield (option,), option.apply(base, base)
    for first, second in itertools.combinations(options, 2):
        if first.group == second.group:
            continue
        first, second = sorted((first, second), key=lambda o: o.order)
        yield (first, second), second.apply(first.apply(base, base), _base_after(first, base))


def _base_after(option: Option, base: Decimal) -> Decimal:
    """The count a later option scales with: the new size's count after a size change."""
    return option.apply(base, base) if option.group == "size" else base


def explain(metric: str, claimed: Decimal, measured_count: int, result: dict[str, Any], reproduces: Callable[[Decimal], bool],
            *, convention: str = "MACs", input_size: int | None = None) -> Explanation:
    """The counting convention that reproduces `claimed` (display units), or an honest "none"."""
    base = Decimal(int(measured_count))
    options = params_options(result) if metric == "params" else flops_options(result, convention, input_size)
    singles: list[tuple[Decimal, tuple[Option, ...], Decimal]] = []
    pairs: list[tuple[Decimal, tuple[Option, ...], Decimal]] = []
    for chosen, value in _candidates(options, base):
        shown = _display(metric, value)
        (singles if len(chosen) == 1 else pairs).append((abs(shown - claimed), chosen, shown))
    unit = " M" if metric == "params" else " G MACs"
    for pool in (singles, pairs):
        hits = [c for c in pool if reproduces(c[2])]
        if hits:
            _, chosen, shown = min(hits, key=lambda c: c[0])  # min() keeps the first of equals: table order breaks ties
            ids = "+".join(o.id for o in chosen)
            en = " and ".join(o.en for o in chosen)
            zh = "，且".join(o.zh for o in chosen)
            fix = "; ".join(o.fix for o in chosen if o.fix)
            fix_zh = "；".join(o.fix_zh for o in chosen if o.fix_zh)
            return Explanation(id=ids, text=f"reproduced by {en}: {_num(shown)}{unit}" + (f"; {fix}" if fix else ""),
                               text_zh=f"可由{zh}复现：{_num(shown)}{unit}" + (f"；{fix_zh}" if fix_zh else ""), reproduces=float(shown))
    tried = sorted({o.group for o in options})
    closest = min(singles + pairs, key=lambda c: c[0], default=None)
    near = ""
    near_zh = ""
    if closest is not None:
        near = f"; the closest, {' and '.join(o.en for o in closest[1])}, gives {_num(closest[2])}{unit}"
        near_zh = f"；最接近的是{'，且'.join(o.zh for o in closest[1])}，得 {_num(closest[2])}{unit}"
    missing = _missing_parts(metric, result)
    return Explanation(
        id="none",
        text=f"no usual counting convention reproduces the claim (tried: {', '.join(tried) or 'nothing'}{'; the count record lacks ' + missing if missing else ''}){near}",
        text_zh=f"常见的计数约定都无法复现该数值（已尝试：{', '.join(tried) or '无'}{'；计数记录缺少 ' + missing if missing else ''}）{near_zh}",
        reproduces=None,
    )


def _missing_parts(metric: str, result: dict[str, Any]) -> str:
    """The breakdowns an older count record does not carry (so those explanations were not tried)."""
    wanted = ("bn_running_stats", "params_by_kind") if metric == "params" else ("macs_extra", "macs_at")
    return ", ".join(key for key in wanted if key not in result)
