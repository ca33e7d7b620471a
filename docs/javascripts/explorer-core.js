// transconv explorer, part 1 of 3: the arithmetic (pure, no DOM). Both layers of the pair, a
// ConvTranspose2d and the Conv2d it is the gradient of, PyTorch's refusals for each, the round
// trip between their sizes, and the shape solver. explorer-strings.js words the refusals;
// explorer.js draws. Tested against torch in tests/test_explorer.py and test_explorer_conv.py.
(function () {
  "use strict";

  var NAMES = ["input size", "kernel_size", "stride", "padding", "output_padding", "dilation"];

  // ConvTranspose2d along one axis
  function outputSize(n, k, s, p, op, d) {
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1;
  }

  // Conv2d along one axis: how many windows of span d(k - 1) + 1, s apart, fit the padded input
  function convOutputSize(n, k, s, p, d) {
    return Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
  }

  // PyTorch's rules for one axis of `mode` ("transposed" or "conv"). Returns null or
  // {rule, vars, name, nearest}: the broken rule (a key of the string table, with its values)
  // and the nearest value of `name` that obeys it.
  function brokenRule(mode, n, k, s, p, op, d) {
    var values = {"input size": n, kernel_size: k, stride: s, padding: p, output_padding: op,
      dilation: d};
    for (var i = 0; i < NAMES.length; i++) {
      var v = values[NAMES[i]];
      if (mode === "conv" && NAMES[i] === "output_padding") { continue; }
      if (typeof v !== "number" || !Number.isInteger(v)) {
        return {rule: "ruleInteger", vars: {name: NAMES[i], got: v}, name: NAMES[i],
          nearest: Number.isFinite(v) ? Math.round(v) : 1};
      }
    }
    var positive = [["input size", n], ["kernel_size", k], ["stride", s], ["dilation", d]];
    for (i = 0; i < positive.length; i++) {
      if (positive[i][1] < 1) {
        return {rule: "rulePositive", vars: {name: positive[i][0], got: positive[i][1]},
          name: positive[i][0], nearest: 1};
      }
    }
    if (p < 0) {
      return {rule: "ruleNonNegative", vars: {name: "padding", got: p}, name: "padding", nearest: 0};
    }
    if (mode === "conv") {
      // torch: "Kernel size can't be greater than actual input size" (padding beyond half the
      // kernel is accepted: the extra windows read zeros)
      var span = d * (k - 1) + 1;
      if (n + 2 * p < span) {
        return {rule: "ruleSpan", vars: {n: n, p: p, padded: n + 2 * p, k: k, d: d, span: span},
          name: "padding", nearest: Math.ceil((span - n) / 2)};
      }
      return null;
    }
    if (op < 0) {
      return {rule: "ruleNonNegative", vars: {name: "output_padding", got: op},
        name: "output_padding", nearest: 0};
    }
    if (op >= Math.max(s, d)) {
      return {rule: "ruleOutputPadding", vars: {op: op, s: s, d: d}, name: "output_padding",
        nearest: Math.max(s, d) - 1};
    }
    var out = outputSize(n, k, s, p, op, d);
    if (out < 1) {
      return {rule: "ruleOutputSize", vars: {out: out}, name: "padding",
        nearest: Math.floor((out + 2 * p - 1) / 2)};
    }
    return null;
  }

  // The first broken rule over both axes, with the axis (0 height, 1 width); null when legal.
  function checkSetting(mode, n, k, s, p, op, d) {
    for (var ax = 0; ax < 2; ax++) {
      var broken = brokenRule(mode, n[ax], k[ax], s[ax], p[ax], op[ax], d[ax]);
      if (broken) { broken.axis = ax; return broken; }
    }
    return null;
  }

  function asPair(v, fallback) {
    if (v === undefined || v === null) { return [fallback, fallback]; }
    if (typeof v === "number") { return [v, v]; }
    if (Array.isArray(v) && v.length === 2) { return [v[0], v[1]]; }
    return null;
  }

  // A rectangular 2-D array of finite numbers -> {rows, cols}; else an error string.
  function shapeOf(a, name) {
    if (!Array.isArray(a)) { return name + " must be a 2-D array of numbers"; }
    if (a.length === 0) { return {rows: 0, cols: 0}; }
    var cols = Array.isArray(a[0]) ? a[0].length : -1;
    for (var i = 0; i < a.length; i++) {
      if (!Array.isArray(a[i]) || a[i].length !== cols) {
        return name + " must be a rectangular 2-D array (every row as long as the first)";
      }
      for (var j = 0; j < cols; j++) {
        if (typeof a[i][j] !== "number" || !isFinite(a[i][j])) {
          return name + "[" + i + "][" + j + "] must be a finite number, got " + a[i][j];
        }
      }
    }
    return {rows: a.length, cols: cols};
  }

  function parseParams(params) {
    params = params || {};
    var out = {
      s: asPair(params.stride, 1), p: asPair(params.padding, 0),
      op: asPair(params.output_padding, 0), d: asPair(params.dilation, 1)
    };
    var keys = {s: "stride", p: "padding", op: "output_padding", d: "dilation"};
    for (var key in keys) {
      if (out[key] === null) { return keys[key] + " must be a number or a pair [h, w]"; }
    }
    return out;
  }

  // Scatter: input pixel (i, j) adds x[i][j] * w[a][b] at full-output position
  // (i*sh + a*dh, j*sw + b*dw); padding crops ph rows from the top (pw columns from the left),
  // output_padding extends the bottom and right. Also counts the overlaps.
  function scatter(x, w, n, k, s, p, op, d, steps) {
    var H = outputSize(n[0], k[0], s[0], p[0], op[0], d[0]);
    var W = outputSize(n[1], k[1], s[1], p[1], op[1], d[1]);
    var out = new Float64Array(H * W);
    var count = new Int32Array(H * W);
    var last = steps === undefined ? n[0] * n[1] : steps;
    for (var t = 0; t < last; t++) {
      var i = Math.floor(t / n[1]), j = t % n[1], v = x[i][j];
      for (var a = 0; a < k[0]; a++) {
        var y = i * s[0] + a * d[0] - p[0];
        if (y < 0 || y >= H) { continue; }
        var wa = w[a];
        for (var b = 0; b < k[1]; b++) {
          var z = j * s[1] + b * d[1] - p[1];
          if (z < 0 || z >= W) { continue; }
          out[y * W + z] += v * wa[b];
          count[y * W + z] += 1;
        }
      }
    }
    return {H: H, W: W, out: out, count: count};
  }

  // Gather (Conv2d): output pixel (y, x) sums x[i][j] * w[a][b] over the taps whose input
  // pixel (y*sh - ph + a*dh, x*sw - pw + b*dw) lies inside the input (outside is padding, 0).
  // Only the first `steps` output pixels, row by row, are computed.
  function gather(x, w, n, k, s, p, d, steps) {
    var H = convOutputSize(n[0], k[0], s[0], p[0], d[0]);
    var W = convOutputSize(n[1], k[1], s[1], p[1], d[1]);
    var out = new Float64Array(H * W);
    var last = steps === undefined ? H * W : steps;
    for (var t = 0; t < last; t++) {
      var y = Math.floor(t / W), z = t % W, sum = 0;
      for (var a = 0; a < k[0]; a++) {
        var i = y * s[0] - p[0] + a * d[0];
        if (i < 0 || i >= n[0]) { continue; }
        for (var b = 0; b < k[1]; b++) {
          var j = z * s[1] - p[1] + b * d[1];
          if (j < 0 || j >= n[1]) { continue; }
          sum += x[i][j] * w[a][b];
        }
      }
      out[t] = sum;
    }
    return {H: H, W: W, out: out};
  }

  function toRows(flat, H, W) {
    var rows = [];
    for (var y = 0; y < H; y++) { rows.push(Array.prototype.slice.call(flat, y * W, (y + 1) * W)); }
    return rows;
  }

  // The shared body of the public convTranspose2d and conv2d: validate, then compute.
  function apply(mode, input, kernel, params, describe) {
    var xs = shapeOf(input, "input"), ws = shapeOf(kernel, "kernel");
    if (typeof xs === "string") { return {error: xs}; }
    if (typeof ws === "string") { return {error: ws}; }
    var q = parseParams(params);
    if (typeof q === "string") { return {error: q}; }
    if (mode === "conv") { q.op = [0, 0]; }
    var n = [xs.rows, xs.cols], k = [ws.rows, ws.cols];
    var broken = checkSetting(mode, n, k, q.s, q.p, q.op, q.d);
    if (broken) { return {error: describe(broken)}; }
    var r = mode === "conv" ? gather(input, kernel, n, k, q.s, q.p, q.d) :
      scatter(input, kernel, n, k, q.s, q.p, q.op, q.d);
    return {shape: [r.H, r.W], output: toRows(r.out, r.H, r.W)};
  }

  // ------------------------------------------------------------------ round trip

  // The Conv2d input sizes that map to m (the floor merges up to s of them), each with the
  // output_padding that makes the ConvTranspose2d of the same settings return it.
  function mergedSizes(m, k, s, p, d) {
    var base = outputSize(m, k, s, p, 0, d), list = [];
    for (var r = 0; r < s; r++) {
      if (base + r >= 1) { list.push({size: base + r, output_padding: r}); }
    }
    return list;
  }

  // Does every output pixel away from the borders receive the same number of kernel taps?
  // Taps a*d land on residue (a*d) mod s; overlap is even when each residue is hit equally
  // often (for dilation 1: when s divides k).
  function evenOverlap(k, s, d) {
    var hits = [];
    for (var r = 0; r < s; r++) { hits.push(0); }
    for (var a = 0; a < k; a++) { hits[(a * d) % s] += 1; }
    for (r = 1; r < s; r++) { if (hits[r] !== hits[0]) { return false; } }
    return true;
  }

  // ------------------------------------------------------------------ shape solver
  // Mirrors transconv.shapes.solve_transposed_conv: same bounds, same order.

  var SOLVER_MAX_STRIDE = 64;

  // The row transconv.shapes.upsampling_params(s) gives: k = 2s - s mod 2, p = floor(s / 2)
  function fcnRule(c) {
    var s = c.stride;
    return c.kernel_size === 2 * s - (s % 2) && c.padding === Math.floor(s / 2) &&
      c.output_padding === 0 && c.dilation === 1;
  }

  function solve(inputSize, targetSize) {
    if (!Number.isInteger(inputSize) || !Number.isInteger(targetSize) || inputSize < 1 ||
        targetSize < 1) {
      return [];
    }
    var n = inputSize, target = targetSize;
    var maxStride = Math.min(Math.max(1, Math.ceil(target / n)), SOLVER_MAX_STRIDE);
    var found = [];
    for (var s = 1; s <= maxStride; s++) {
      for (var d = 1; d < 2 * maxStride; d++) {
        for (var k = d === 1 ? 1 : 2; k <= 2 * maxStride; k++) {
          var span = d * (k - 1) + 1;
          if (span > 2 * maxStride) { break; }
          var full = (n - 1) * s + span;
          var p = Math.max(0, Math.ceil((full - target) / 2));
          var op = target - full + 2 * p;
          if (op < Math.max(s, d)) {
            found.push({kernel_size: k, stride: s, padding: p, output_padding: op, dilation: d});
          }
        }
      }
    }
    function key(c) {
      return [fcnRule(c) ? 0 : 1, c.dilation, c.output_padding, -c.stride, c.kernel_size];
    }
    found.sort(function (u, v) {
      var a = key(u), b = key(v);
      for (var i = 0; i < a.length; i++) { if (a[i] !== b[i]) { return a[i] - b[i]; } }
      return 0;
    });
    return found;
  }

  window.transconvExplorerCore = {
    NAMES: NAMES, outputSize: outputSize, convOutputSize: convOutputSize,
    brokenRule: brokenRule, checkSetting: checkSetting, scatter: scatter, gather: gather,
    toRows: toRows, apply: apply, mergedSizes: mergedSizes, evenOverlap: evenOverlap,
    fcnRule: fcnRule, solve: solve
  };
})();
