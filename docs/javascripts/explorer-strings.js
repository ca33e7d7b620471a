// transconv explorer, part 2 of 3: every word the explorer shows, in English and in Chinese
// (简体中文, with d2l-zh's terms: 转置卷积, 卷积, 填充, 步幅, 输出填充, 膨胀, 卷积核, 上采样 …).
// explorer.js picks the table by the page's language (<html lang="zh…"> gives Chinese). Code
// identifiers and PyTorch's argument names (kernel_size, stride, padding, output_padding,
// dilation) stay as they are in both. An entry is a string with {name} placeholders, or a
// function of those values where English needs a plural. tests/test_explorer_i18n.py checks
// that both tables have the same keys.
(function () {
  "use strict";

  // "1 row", "2 rows"
  function count(n, unit) { return n + " " + unit + (n === 1 ? "" : "s"); }

  var en = {
    paramNames: {"input size": "input size"},
    height: "height", width: "width",
    top: "top", bottom: "bottom", left: "left", right: "right",
    unitRow: "row", unitColumn: "column",
    listSeparator: ", ",
    sentenceSeparator: " ",

    // controls
    modeLegend: "Layer",
    modeTransposed: "transposed convolution (ConvTranspose2d)",
    modeConv: "convolution (Conv2d)",
    settingsAria: "Layer settings",
    perAxis: "per axis",
    factorLabel: "Factor f",
    factorApply: "Apply FCN's k, s, p",
    factorHelp: "Sets FCN's rule for a factor f: kernel_size = 2f − f mod 2, stride = f, padding = ⌊f/2⌋ " +
      "(output_padding 0, dilation 1). The ConvTranspose2d then turns any size n into f·n; the Conv2d " +
      "with the same settings turns n into ⌊n/f⌋.",
    reset: "Reset",
    inputValues: "Input values",
    kernelValues: "Kernel values",
    valuesHelp: "One row per line, numbers separated by spaces; a different shape resizes the input or " +
      "the kernel.",
    randomValues: "Random values",
    defaultValues: "Default values",
    valuesError: "{name}: {error}",
    valuesJson: "values must look like [[0, 1], [2, 3]]",
    valuesEmpty: "at least one row of numbers is needed",
    valuesRagged: function (v) {
      return "row " + v.row + " has " + count(v.count, "number") + ", row 1 has " + v.first +
        ": every row needs the same count";
    },
    valuesNaN: "row {row} holds something that is not a number",
    valuesTooMany: "at most {max} per axis here",

    // formula and refusals
    shapeLineTransposed: "{input} input → {output} output",
    shapeLineConv: "{input} input → {output} output",
    refusedTransposed: "PyTorch refuses this ConvTranspose2d",
    refusedConv: "PyTorch refuses this Conv2d",
    refusal: "{rule} ({axis}); nearest legal value: {name} = {nearest}",
    axisSuffix: " ({axis})",
    fixButton: "Use the nearest legal value: {name} = {nearest} ({axis})",
    ruleInteger: "`{name}` must be an integer, got {got}",
    rulePositive: "`{name}` must be at least 1, got {got}",
    ruleNonNegative: "`{name}` must be non-negative, got {got}",
    ruleOutputPadding: "`output_padding` must be smaller than either `stride` or `dilation`, got " +
      "output_padding {op}, stride {s}, dilation {d}",
    ruleOutputSize: "the output size must be at least 1, got {out} (output size is too small)",
    ruleSpan: "the padded input must be at least as large as the dilated kernel (kernel size can't be " +
      "greater than actual input size), got {n} + 2·{p} = {padded}, smaller than the span " +
      "{d}·({k} − 1) + 1 = {span}",
    outputPaddingWhy: "Why this rule: a Conv2d with stride s maps s neighbouring input sizes to one " +
      "output size (the floor in its formula merges them), and output_padding picks which of them the " +
      "ConvTranspose2d returns, so values below `stride` are the useful ones. PyTorch's check is " +
      "`output_padding < max(stride, dilation)`: values from `stride` up to `dilation` − 1 pass too, " +
      "but they pick no merged size; dilation makes no sizes ambiguous. With stride 1, dilation 2, " +
      "output_padding 1 and no padding, the extra row is all zeros.",
    tooBig: "output too large to draw here ({size} pixels); the formula above still holds",

    // animation
    animAria: "Animation",
    animFirst: "First", animFirstAria: "First step: nothing done yet",
    animPrev: "Back", animPrevAria: "Previous step",
    animPlay: "▶ Play", animPlayAria: "Play",
    animPause: "⏸ Pause", animPauseAria: "Pause",
    animNext: "Next", animNextAria: "Next step",
    animLast: "All", animLastAria: "Last step: everything done",
    animAll: "all {total} input pixels stamped",
    animZero: "step 0 / {total}: nothing stamped yet",
    animStep: "step {step} / {total}: input ({i}, {j}) = {v} stamps its scaled kernel",
    animAllConv: "all {total} output pixels computed",
    animZeroConv: "step 0 / {total}: nothing computed yet",
    animStepConv: "step {step} / {total}: output ({y}, {x}) = {v}, the sum of the window's taps times " +
      "the pixels under them",

    // scatter
    scatterHeading: "Scatter",
    scatterCaption: "Each input pixel stamps its scaled kernel into the full output; overlaps add up " +
      "(the small number counts them).",
    cropNone: "{axis}: no padding and no output_padding, so nothing is cropped.",
    cropBoth: function (v) {
      return v.axis + ": padding " + v.p + " crops " + count(v.p, v.unit) + " from the " + v.start +
        " and from the " + v.end + " (hatched).";
    },
    cropKeep: function (v) {
      return v.axis + ": padding " + v.p + " crops " + count(v.p, v.unit) + " from the " + v.start + " and " +
        (v.rest === 0 ? "none" : count(v.rest, v.unit)) + " from the " + v.end + ": output_padding " + v.op +
        " gives back " + (v.op === 1 ? "the " + v.unit : count(v.op, v.unit)) + " that padding would crop there, " +
        "which hold" + (v.op === 1 ? "s" : "") + " the full output's values, not zeros.";
    },
    cropAdd: function (v) {
      return v.axis + ": padding " + v.p + " crops " + count(v.p, v.unit) + " from the " + v.start +
        "; output_padding " + v.op + " keeps the " + count(v.p, v.unit) + " at the " + v.end + " (values) and adds " +
        count(v.extra, v.unit) + " of zeros past the full output (dashed).";
    },
    cropAddOnly: function (v) {
      return v.axis + ": output_padding " + v.op + " adds " + count(v.op, v.unit) +
        " of zeros past the full output (dashed).";
    },
    hoverKeys: "Hover or focus a cell and use the arrow keys.",
    colourLegend: "Colour the output by",
    colourValues: "values",
    colourCounts: "overlap counts",
    figInput: "input",
    figKernel: "kernel",
    figFullOutput: "full output ({full}), cropped to the {out} output",

    // gather
    gatherHeading: "Gather",
    gatherCaption: function (v) {
      return "The same output as a stride-1 convolution: insert s − 1 zeros between input pixels (" + v.sh +
        " down, " + v.sw + " across), pad every side with d·(k − 1) − p (" + count(v.eh, "row") + ", " +
        count(v.ew, "column") + "; a negative padding crops) plus output_padding at the bottom and right, " +
        "and slide the flipped kernel (taps d apart) over it.";
    },
    gatherCaptionConv: function (v) {
      return "Pad the input with zeros (" + count(v.ph, "row") + " above and below, " + count(v.pw, "column") +
        " left and right) and slide the kernel over it, " + count(v.sh, "row") + " down and " +
        count(v.sw, "column") + " across at a step; its taps are " + count(v.dh, "row") + " and " +
        count(v.dw, "column") + " apart (dilation). Each output pixel is the sum of the taps times the " +
        "pixels under them.";
    },
    figZeros: "zero-inserted, padded input",
    figPadded: "padded input",
    figFlipped: "flipped kernel",
    figOutput: "output",

    // matrix
    matrixHeading: "Matrix",
    matrixCaption: "The output, flattened row by row, is Cᵀ times the flattened input. C is the matrix " +
      "of the Conv2d with the same settings, which maps this layer's output back to its input's size; " +
      "Cᵀ has one row per output pixel ({rows}) and one column per input pixel ({cols}), numbered row " +
      "by row from 0. Row r holds the kernel taps that write output pixel r. Switch to Conv2d below to " +
      "see C itself, with the same numbering.",
    matrixCaptionConv: "The output, flattened row by row, is C times the flattened input: C has one row " +
      "per output pixel ({rows}) and one column per input pixel ({cols}), numbered row by row from 0. " +
      "Row r holds the kernel taps that output pixel r reads. The ConvTranspose2d with the same " +
      "settings multiplies by Cᵀ: switch to it below to see the transpose, with the same numbering.",
    matrixTooBig: "The matrix Cᵀ (one row per output pixel, one column per input pixel) is drawn for " +
      "inputs and outputs of at most {max} pixels; this one would be {rows} × {cols}.",
    matrixTooBigConv: "The matrix C (one row per output pixel, one column per input pixel) is drawn for " +
      "inputs and outputs of at most {max} pixels; this one would be {rows} × {cols}.",

    // hover
    hoverNone: "Hover or focus an output pixel to see the input pixels and kernel taps that make it.",
    hoverInput: "input ({i}, {j}) = {v} stamps {v} × kernel at full-output rows from {row}, columns " +
      "from {col}.",
    hoverOutput: function (v) {
      return "output (" + v.y + ", " + v.x + ") = " + v.v + " = " + v.terms + "; " + v.count +
        " overlapping stamp" + (v.count === 1 ? "" : "s") + ".";
    },
    hoverOutputNone: "output ({y}, {x}) = {v}: no input reaches it (padding or output_padding zeros); " +
      "0 overlapping stamps.",
    hoverConv: function (v) {
      return "output (" + v.y + ", " + v.x + ") = " + v.v + " = " + v.terms + "; " + v.count + " of the " +
        v.taps + " taps fall on the input, the others on padding zeros.";
    },
    hoverConvNone: "output ({y}, {x}) = {v}: every tap of the window falls on padding zeros.",
    tableSummary: "Output values as a table",
    tableCaption: "output, {size}",
    tableRow: "row",
    tableTooBig: "The table is written for outputs of at most {max} pixels.",

    // round trip
    roundTripHeading: "Round trip",
    rtIntro: "A Conv2d and a ConvTranspose2d with the same kernel_size, stride, padding and dilation " +
      "map sizes in opposite directions: the Conv2d maps n to ⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1. " +
      "The floor merges up to s input sizes into one output size, and output_padding chooses which of " +
      "them the ConvTranspose2d returns (its output has the size of the Conv2d input whose gradient it " +
      "computes).",
    rtSize: "{size} (output_padding {op})",
    rtSizeTitle: "Show the ConvTranspose2d that returns {size} ({axis})",
    rtConvAxis: "{axis}: the Conv2d maps {n} to {m}. The floor merges {count} sizes into {m}; the " +
      "ConvTranspose2d with the same settings returns each with its output_padding: {list}.",
    rtConvAxisOne: "{axis}: the Conv2d maps {n} to {m}; only one size maps to {m}: {list}.",
    rtTransposedAxis: "{axis}: the Conv2d with these settings maps {list} to {m}; this layer's " +
      "output_padding {op} returns {n_out}.",
    rtTransposedOff: "{axis}: the Conv2d with these settings maps {list} to {m}. output_padding {op} " +
      "is not below stride {s} (PyTorch accepts it because it is below dilation {d}), so the output " +
      "{n_out} is none of those sizes: the Conv2d maps {n_out} to {back}, not {m}.",
    rtToTransposed: "Show the ConvTranspose2d that returns {n}",
    rtToConv: "Show the Conv2d on this {size} output",

    // PyTorch
    pytorchHeading: "In PyTorch",
    copy: "Copy PyTorch",
    copied: "Copied.",
    copySelected: "Selected: press Ctrl+C (or ⌘C) to copy.",
    codeComment: "the explorer's output",
    codeRefused: "# no valid layer: {rule}",

    // solver
    solverHeading: "Shape solver",
    solverIntro: "Every ConvTranspose2d setting that turns an input of size <em>n</em> into exactly " +
      "<em>T</em> along one axis: strides up to the size ratio ⌈T / n⌉ (at most 64), kernels whose " +
      "dilated span d·(k − 1) + 1 is at most twice that, and for each the smallest padding. " +
      "★ marks FCN's rule, the setting <code>transconv.shapes.upsampling_params(s)</code> gives for " +
      "every stride s: k = 2s − s mod 2, p = ⌊s/2⌋, output_padding 0, dilation 1 (k = 2s, p = s/2 for " +
      "even s; k = 2s − 1, p = (s − 1)/2 for odd s); it appears when T = s·n. <em>Even overlap</em> " +
      "means every output pixel away from the borders gets the same number of kernel taps (with " +
      "dilation 1: s divides k); the others are prone to checkerboard artefacts. Simplest first; the " +
      "same search is <code>transconv.shapes.solve_transposed_conv</code>. Press a kernel size to show " +
      "its setting in the explorer above.",
    solverAria: "Shape solver",
    solveN: "input size",
    solveT: "target size",
    solveFilter: "show",
    filterAll: "all settings",
    filterEven: "even overlap only",
    filterUneven: "uneven overlap only",
    solveSummary: function (v) {
      return v.count + " setting" + (v.count === 1 ? "" : "s") + " reach " + v.target + " from " + v.n + ".";
    },
    solveNone: "0 settings reach {target} from {n} within these bounds.",
    solveEvenCount: function (v) {
      return v.shown + " of them " + (v.shown === 1 ? "has" : "have") + " even overlap.";
    },
    solveUnevenCount: function (v) {
      return v.shown + " of them " + (v.shown === 1 ? "has" : "have") + " uneven overlap.";
    },
    evenHead: "even overlap",
    evenTitle: "every output pixel away from the borders gets the same number of kernel taps " +
      "(for dilation 1: stride divides kernel_size)",
    evenYes: "yes",
    evenNo: "no",
    starTitle: "FCN's rule: k = 2s − s mod 2, p = ⌊s/2⌋",
    solveRowLabel: "Show kernel_size {k}, stride {s}, padding {p}, output_padding {op}, dilation {d} " +
      "in the explorer",
    showMore: "Show more ({shown} of {count} shown)",

    // canvases, for screen readers
    ariaInput: "input, {rows} by {cols}",
    ariaKernel: "kernel, {rows} by {cols}",
    ariaScatter: "scatter view: full output {rows} by {cols}, cropped to {H} by {W}; arrow keys move " +
      "over the output pixels",
    ariaZeros: "zero-inserted, padded input, {rows} by {cols}",
    ariaPadded: "padded input, {rows} by {cols}",
    ariaOutput: "output, {rows} by {cols}; arrow keys move over the output pixels",
    ariaMatrix: "matrix C transposed, {rows} by {cols}; arrow keys move over its rows",
    ariaMatrixConv: "matrix C, {rows} by {cols}; arrow keys move over its rows"
  };

  var zh = {
    paramNames: {"input size": "输入大小"},
    height: "高", width: "宽",
    top: "上边", bottom: "下边", left: "左边", right: "右边",
    unitRow: "行", unitColumn: "列",
    listSeparator: "、",
    sentenceSeparator: "",

    modeLegend: "层",
    modeTransposed: "转置卷积（ConvTranspose2d）",
    modeConv: "卷积（Conv2d）",
    settingsAria: "层的设置",
    perAxis: "每个轴",
    factorLabel: "倍数 f",
    factorApply: "套用 FCN 的 k、s、p",
    factorHelp: "按 FCN 的规则为倍数 f 设置：kernel_size = 2f − f mod 2，stride = f，padding = ⌊f/2⌋" +
      "（output_padding 为 0，dilation 为 1）。这时转置卷积把任意大小 n 变成 f·n；同样设置的卷积把 n 变成 ⌊n/f⌋。",
    reset: "重置",
    inputValues: "输入的值",
    kernelValues: "卷积核的值",
    valuesHelp: "每行写一排数字，数字之间用空格分隔；形状改变时，输入或卷积核的大小随之改变。",
    randomValues: "随机值",
    defaultValues: "默认值",
    valuesError: "{name}：{error}",
    valuesJson: "值应写成 [[0, 1], [2, 3]] 的形式",
    valuesEmpty: "至少需要一行数字",
    valuesRagged: "第 {row} 行有 {count} 个数，第 1 行有 {first} 个：每行的个数必须相同",
    valuesNaN: "第 {row} 行含有不是数字的内容",
    valuesTooMany: "这里每个轴最多 {max} 个",

    shapeLineTransposed: "输入 {input} → 输出 {output}",
    shapeLineConv: "输入 {input} → 输出 {output}",
    refusedTransposed: "PyTorch 拒绝这个转置卷积",
    refusedConv: "PyTorch 拒绝这个卷积",
    refusal: "{rule}（{axis}）；最近的合法值：{name} = {nearest}",
    axisSuffix: "（{axis}）",
    fixButton: "改用最近的合法值：{name} = {nearest}（{axis}）",
    ruleInteger: "`{name}` 必须是整数，实际为 {got}",
    rulePositive: "`{name}` 至少为 1，实际为 {got}",
    ruleNonNegative: "`{name}` 不能为负，实际为 {got}",
    ruleOutputPadding: "`output_padding` 必须小于 `stride` 或 `dilation` 之一，实际 output_padding 为 {op}，" +
      "stride 为 {s}，dilation 为 {d}",
    ruleOutputSize: "输出大小至少为 1，实际为 {out}（输出太小）",
    ruleSpan: "填充后的输入不能小于膨胀后的卷积核（卷积核不能比实际输入大），实际为 {n} + 2·{p} = {padded}，" +
      "小于卷积核跨度 {d}·({k} − 1) + 1 = {span}",
    outputPaddingWhy: "为什么有这条规则：步幅为 s 的卷积会把 s 个相邻的输入大小映射到同一个输出大小（公式中的向下取整把它们合并了），" +
      "输出填充（output_padding）决定转置卷积还原成其中哪一个，所以有用的是小于 `stride` 的值。PyTorch 的检查是 " +
      "`output_padding < max(stride, dilation)`：从 `stride` 到 `dilation` − 1 的值也能通过，但它们不对应任何被合并的大小；" +
      "膨胀不会让大小产生歧义。步幅为 1、膨胀率为 2、输出填充为 1 且没有填充时，多出的一行全是零。",
    tooBig: "输出太大，这里画不下（{size} 个像素）；上面的公式仍然成立",

    animAria: "动画",
    animFirst: "开头", animFirstAria: "第一步：还什么都没做",
    animPrev: "上一步", animPrevAria: "上一步",
    animPlay: "▶ 播放", animPlayAria: "播放",
    animPause: "⏸ 暂停", animPauseAria: "暂停",
    animNext: "下一步", animNextAria: "下一步",
    animLast: "全部", animLastAria: "最后一步：全部完成",
    animAll: "全部 {total} 个输入像素都已印上",
    animZero: "第 0 步 / 共 {total} 步：还没有印上任何像素",
    animStep: "第 {step} 步 / 共 {total} 步：输入 ({i}, {j}) = {v} 把按它缩放的卷积核印到输出上",
    animAllConv: "全部 {total} 个输出像素都已算出",
    animZeroConv: "第 0 步 / 共 {total} 步：还没有算出任何像素",
    animStepConv: "第 {step} 步 / 共 {total} 步：输出 ({y}, {x}) = {v}，即窗口中各个卷积核元素与其下像素的乘积之和",

    scatterHeading: "散射（scatter）",
    scatterCaption: "每个输入像素把按它缩放的卷积核印到完整输出上；重叠处相加（小数字是重叠次数）。",
    cropNone: "{axis}：没有填充也没有输出填充，不裁剪。",
    cropBoth: "{axis}：填充 {p} 从{start}和{end}各裁掉 {p} {unit}（斜线部分）。",
    cropKeep: "{axis}：填充 {p} 从{start}裁掉 {p} {unit}，从{end}只裁掉 {rest} {unit}：输出填充 {op} 在{end}找回了本该被裁掉的 " +
      "{op} {unit}，里面是完整输出本来的值，不是零。",
    cropAdd: "{axis}：填充 {p} 从{start}裁掉 {p} {unit}；输出填充 {op} 保留{end}的 {p} {unit}（有值），并在完整输出之外补上 " +
      "{extra} {unit}零（虚线部分）。",
    cropAddOnly: "{axis}：输出填充 {op} 在完整输出之外补上 {op} {unit}零（虚线部分）。",
    hoverKeys: "把鼠标移到某个格子上，或让它获得焦点后用方向键移动。",
    colourLegend: "输出的着色依据",
    colourValues: "值",
    colourCounts: "重叠次数",
    figInput: "输入",
    figKernel: "卷积核",
    figFullOutput: "完整输出（{full}），裁剪成 {out} 的输出",

    gatherHeading: "聚集（gather）",
    gatherCaption: "同一个输出也是一次步幅为 1 的卷积：在输入像素之间插入 s − 1 个零（纵向 {sh} 个，横向 {sw} 个），" +
      "四周各填充 d·(k − 1) − p（{eh} 行、{ew} 列；为负时表示裁剪），下边和右边再加上输出填充，然后让翻转后的卷积核" +
      "（元素间隔为 d）在上面滑动。",
    gatherCaptionConv: "在输入四周填充零（上下各 {ph} 行，左右各 {pw} 列），让卷积核在上面滑动，每步纵向移动 {sh} 行、" +
      "横向移动 {sw} 列；卷积核元素纵向相隔 {dh} 行、横向相隔 {dw} 列（即膨胀率）。每个输出像素是卷积核元素与其下像素的乘积之和。",
    figZeros: "插零并填充后的输入",
    figPadded: "填充后的输入",
    figFlipped: "翻转后的卷积核",
    figOutput: "输出",

    matrixHeading: "矩阵",
    matrixCaption: "把输出按行展平，它等于 Cᵀ 乘以按行展平的输入。C 是同样设置的卷积的矩阵，它把这一层的输出映射回输入的大小；" +
      "Cᵀ 每个输出像素一行（共 {rows} 行），每个输入像素一列（共 {cols} 列），都从 0 开始按行编号。第 r 行是写入输出像素 r " +
      "的卷积核元素。在下面切换到卷积，可以看到编号相同的 C 本身。",
    matrixCaptionConv: "把输出按行展平，它等于 C 乘以按行展平的输入：C 每个输出像素一行（共 {rows} 行），每个输入像素一列" +
      "（共 {cols} 列），都从 0 开始按行编号。第 r 行是输出像素 r 读取的卷积核元素。同样设置的转置卷积乘的是 Cᵀ：" +
      "在下面切换过去，可以看到编号相同的转置。",
    matrixTooBig: "矩阵 Cᵀ（每个输出像素一行，每个输入像素一列）只在输入和输出都不超过 {max} 个像素时画出；" +
      "这个矩阵会是 {rows} × {cols}。",
    matrixTooBigConv: "矩阵 C（每个输出像素一行，每个输入像素一列）只在输入和输出都不超过 {max} 个像素时画出；" +
      "这个矩阵会是 {rows} × {cols}。",

    hoverNone: "把鼠标移到某个输出像素上（或让它获得焦点），可以看到产生它的输入像素和卷积核元素。",
    hoverInput: "输入 ({i}, {j}) = {v} 把 {v} × 卷积核印到完整输出从第 {row} 行、第 {col} 列开始的位置。",
    hoverOutput: "输出 ({y}, {x}) = {v} = {terms}；{count} 次重叠。",
    hoverOutputNone: "输出 ({y}, {x}) = {v}：没有输入到达这里（填充或输出填充的零）；0 次重叠。",
    hoverConv: "输出 ({y}, {x}) = {v} = {terms}；{taps} 个卷积核元素中有 {count} 个落在输入上，其余落在填充的零上。",
    hoverConvNone: "输出 ({y}, {x}) = {v}：窗口中的卷积核元素全都落在填充的零上。",
    tableSummary: "以表格列出输出的值",
    tableCaption: "输出，{size}",
    tableRow: "行",
    tableTooBig: "只为不超过 {max} 个像素的输出列出表格。",

    roundTripHeading: "往返",
    rtIntro: "kernel_size、stride、padding 和 dilation 相同的卷积与转置卷积沿相反方向映射大小：卷积把 n 映射为 " +
      "⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1。向下取整把最多 s 个输入大小合并成同一个输出大小，输出填充决定转置卷积还原成" +
      "其中哪一个（转置卷积计算的是卷积的梯度，输出的大小就是那个卷积的输入大小）。",
    rtSize: "{size}（output_padding {op}）",
    rtSizeTitle: "显示还原成 {size} 的转置卷积（{axis}）",
    rtConvAxis: "{axis}：卷积把 {n} 映射为 {m}。向下取整把 {count} 个大小合并成 {m}；同样设置的转置卷积用各自的输出填充" +
      "还原它们：{list}。",
    rtConvAxisOne: "{axis}：卷积把 {n} 映射为 {m}；只有一个大小映射为 {m}：{list}。",
    rtTransposedAxis: "{axis}：同样设置的卷积把 {list} 映射为 {m}；这一层的输出填充 {op} 还原成 {n_out}。",
    rtTransposedOff: "{axis}：同样设置的卷积把 {list} 映射为 {m}。输出填充 {op} 不小于步幅 {s}（PyTorch 接受它，因为它小于膨胀率 " +
      "{d}），所以输出 {n_out} 不是其中任何一个：卷积把 {n_out} 映射为 {back}，而不是 {m}。",
    rtToTransposed: "显示还原成 {n} 的转置卷积",
    rtToConv: "显示作用在这个 {size} 输出上的卷积",

    pytorchHeading: "在 PyTorch 中",
    copy: "复制 PyTorch 代码",
    copied: "已复制。",
    copySelected: "已选中：按 Ctrl+C（或 ⌘C）复制。",
    codeComment: "the explorer's output",
    codeRefused: "# no valid layer: {rule}",

    solverHeading: "形状求解器",
    solverIntro: "沿一个轴把大小为 <em>n</em> 的输入恰好变成 <em>T</em> 的所有转置卷积设置：步幅最大到大小之比 ⌈T / n⌉" +
      "（不超过 64），卷积核膨胀后的跨度 d·(k − 1) + 1 不超过它的两倍，每种取最小的填充。★ 标出 FCN 的规则，即对每个步幅 s，" +
      "<code>transconv.shapes.upsampling_params(s)</code> 给出的设置：k = 2s − s mod 2，p = ⌊s/2⌋，output_padding 为 0，" +
      "dilation 为 1（s 为偶数时 k = 2s，p = s/2；s 为奇数时 k = 2s − 1，p = (s − 1)/2）；它在 T = s·n 时出现。" +
      "<em>均匀重叠</em>指离边界较远的每个输出像素得到相同个数的卷积核元素（膨胀率为 1 时即 s 整除 k）；其余设置容易产生棋盘效应。" +
      "最简单的排在前面；同样的搜索是 <code>transconv.shapes.solve_transposed_conv</code>。点击卷积核大小，可以在上面的交互演示中" +
      "显示该设置。",
    solverAria: "形状求解器",
    solveN: "输入大小",
    solveT: "目标大小",
    solveFilter: "显示",
    filterAll: "全部设置",
    filterEven: "只看均匀重叠",
    filterUneven: "只看不均匀重叠",
    solveSummary: "从 {n} 得到 {target} 的设置共 {count} 种。",
    solveNone: "在这些范围内，没有设置能从 {n} 得到 {target}。",
    solveEvenCount: "其中 {shown} 种均匀重叠。",
    solveUnevenCount: "其中 {shown} 种不均匀重叠。",
    evenHead: "均匀重叠",
    evenTitle: "离边界较远的每个输出像素得到相同个数的卷积核元素（膨胀率为 1 时：stride 整除 kernel_size）",
    evenYes: "是",
    evenNo: "否",
    starTitle: "FCN 的规则：k = 2s − s mod 2，p = ⌊s/2⌋",
    solveRowLabel: "在交互演示中显示 kernel_size {k}、stride {s}、padding {p}、output_padding {op}、dilation {d}",
    showMore: "显示更多（已显示 {count} 种中的 {shown} 种）",

    ariaInput: "输入，{rows} × {cols}",
    ariaKernel: "卷积核，{rows} × {cols}",
    ariaScatter: "散射视图：完整输出 {rows} × {cols}，裁剪成 {H} × {W}；方向键在输出像素间移动",
    ariaZeros: "插零并填充后的输入，{rows} × {cols}",
    ariaPadded: "填充后的输入，{rows} × {cols}",
    ariaOutput: "输出，{rows} × {cols}；方向键在输出像素间移动",
    ariaMatrix: "矩阵 C 的转置，{rows} × {cols}；方向键在行间移动",
    ariaMatrixConv: "矩阵 C，{rows} × {cols}；方向键在行间移动"
  };

  window.transconvExplorerStrings = {en: en, zh: zh};
})();
