// transconv explorer: an interactive transposed convolution (scatter, gather, matrix views) and
// a shape solver, in plain JavaScript with no dependencies. Loaded on every page through
// extra_javascript; it only builds itself where the page holds #transconv-explorer, and
// re-initialises on Material's instant navigation (document$).
//
// Public API (tested against torch in tests/test_explorer.py):
//   transconvExplorer.convTranspose2d(input, kernel, params) -> {shape, output} | {error}
//   transconvExplorer.solve(inputSize, targetSize) -> [{kernel_size, stride, padding,
//                                                     output_padding, dilation}, ...]
//   transconvExplorer.render() -> re-computes and re-draws the current state (timed by tests)
(function () {
  "use strict";

  // ------------------------------------------------------------------ arithmetic (pure)

  var NAMES = ["input size", "kernel_size", "stride", "padding", "output_padding", "dilation"];
  var AXES = ["height", "width"];

  function outputSize(n, k, s, p, op, d) {
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1;
  }

  // PyTorch's rules for one axis, in the order F.conv_transpose2d checks them. Returns null or
  // {rule, name, nearest}: the broken rule and the nearest value of `name` that obeys it.
  function brokenRule(n, k, s, p, op, d) {
    var values = {"input size": n, kernel_size: k, stride: s, padding: p, output_padding: op,
      dilation: d};
    for (var i = 0; i < NAMES.length; i++) {
      var v = values[NAMES[i]];
      if (typeof v !== "number" || !Number.isInteger(v)) {
        return {rule: "`" + NAMES[i] + "` must be an integer, got " + v, name: NAMES[i],
          nearest: Number.isFinite(v) ? Math.round(v) : 1};
      }
    }
    var positive = [["input size", n], ["kernel_size", k], ["stride", s], ["dilation", d]];
    for (i = 0; i < positive.length; i++) {
      if (positive[i][1] < 1) {
        return {rule: "`" + positive[i][0] + "` must be at least 1, got " + positive[i][1],
          name: positive[i][0], nearest: 1};
      }
    }
    if (p < 0) { return {rule: "`padding` must be non-negative, got " + p, name: "padding", nearest: 0}; }
    if (op < 0) {
      return {rule: "`output_padding` must be non-negative, got " + op, name: "output_padding",
        nearest: 0};
    }
    if (op >= Math.max(s, d)) {
      return {rule: "`output_padding` must be smaller than either `stride` or `dilation`, got " +
        "output_padding " + op + ", stride " + s + ", dilation " + d,
        name: "output_padding", nearest: Math.max(s, d) - 1};
    }
    var out = outputSize(n, k, s, p, op, d);
    if (out < 1) {
      return {rule: "the output size must be at least 1, got " + out + " (output size is too small)",
        name: "padding", nearest: Math.floor((out + 2 * p - 1) / 2)};
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

  // The first broken rule over both axes, with the axis named; null when legal.
  function checkSetting(n, k, s, p, op, d) {
    for (var ax = 0; ax < 2; ax++) {
      var broken = brokenRule(n[ax], k[ax], s[ax], p[ax], op[ax], d[ax]);
      if (broken) { broken.axis = ax; return broken; }
    }
    return null;
  }

  // Scatter: input pixel (i, j) adds x[i][j] * w[a][b] at full-output position
  // (i*sh + a*dh, j*sw + b*dw); padding crops ph rows from the top (pw columns from the left),
  // output_padding extends the bottom and right with zeros. Also counts the overlaps.
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

  function toRows(flat, H, W) {
    var rows = [];
    for (var y = 0; y < H; y++) { rows.push(Array.prototype.slice.call(flat, y * W, (y + 1) * W)); }
    return rows;
  }

  function convTranspose2d(input, kernel, params) {
    var xs = shapeOf(input, "input"), ws = shapeOf(kernel, "kernel");
    if (typeof xs === "string") { return {error: xs}; }
    if (typeof ws === "string") { return {error: ws}; }
    var q = parseParams(params);
    if (typeof q === "string") { return {error: q}; }
    var n = [xs.rows, xs.cols], k = [ws.rows, ws.cols];
    var broken = checkSetting(n, k, q.s, q.p, q.op, q.d);
    if (broken) {
      return {error: broken.rule + " (" + AXES[broken.axis] + "); nearest legal value: " +
        broken.name + " = " + broken.nearest};
    }
    var r = scatter(input, kernel, n, k, q.s, q.p, q.op, q.d);
    return {shape: [r.H, r.W], output: toRows(r.out, r.H, r.W)};
  }

  // ------------------------------------------------------------------ shape solver
  // Mirrors transconv.shapes.solve_transposed_conv: same bounds, same order.

  var SOLVER_MAX_STRIDE = 64;

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

  // ------------------------------------------------------------------ state and URL

  var LIMITS = {n: [0, 32], k: [0, 128], s: [0, 64], p: [-1, 256], op: [-1, 127], d: [0, 128]};
  var PARAM_KEYS = ["n", "k", "s", "p", "op", "d"];
  var DEFAULTS = {n: [2, 2], k: [2, 2], s: [1, 1], p: [0, 0], op: [0, 0], d: [1, 1]};
  var MAX_DRAWN = 250000;   // cells per drawn grid; bigger outputs show sizes only
  var MAX_MATRIX = 100;     // output (and input) pixels up to which the matrix is drawn
  var MAX_TABLE = 1024;     // output pixels up to which the value table is written

  function defaultState() {
    return {n: DEFAULTS.n.slice(), k: DEFAULTS.k.slice(), s: DEFAULTS.s.slice(),
      p: DEFAULTS.p.slice(), op: DEFAULTS.op.slice(), d: DEFAULTS.d.slice(),
      x: {src: "", values: null}, w: {src: "", values: null},
      colour: "values", solveN: 10, solveT: 320};
  }

  // mulberry32: a tiny seeded generator, so that "random" values are reproducible from the URL
  function seededRandom(seed) {
    var a = seed >>> 0;
    return function () {
      a = (a + 0x6D2B79F5) >>> 0;
      var t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  // The default pattern i*W + j ([[0, 1], [2, 3]] for 2x2), seeded integers in [-3, 3], or
  // custom values resized to rows x cols (kept where they overlap, the pattern elsewhere).
  function materialise(spec, rows, cols) {
    var rand = /^r(\d+)$/.exec(spec.src);
    var next = rand ? seededRandom(Number(rand[1])) : null;
    var out = [];
    for (var i = 0; i < rows; i++) {
      var row = [];
      for (var j = 0; j < cols; j++) {
        if (next) { row.push(Math.floor(next() * 7) - 3); continue; }
        var old = spec.values;
        var keep = spec.src === "custom" && old && i < old.length && j < old[i].length;
        row.push(keep ? old[i][j] : i * cols + j);
      }
      out.push(row);
    }
    return out;
  }

  function formatNumber(v) {
    if (Number.isInteger(v)) { return String(v); }
    var s = Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
    return String(Number(s));
  }

  function valuesToText(values, rowSep, colSep) {
    return values.map(function (r) { return r.map(formatNumber).join(colSep); }).join(rowSep);
  }

  // "0 1\n2 3", "0,1;2,3" or "[[0, 1], [2, 3]]" -> [[0, 1], [2, 3]]; a string on error.
  function parseValues(text) {
    var t = String(text).trim();
    if (t.charAt(0) === "[") {
      try { t = JSON.parse(t).map(function (r) { return r.join(" "); }).join("\n"); }
      catch (e) { return "values must look like [[0, 1], [2, 3]]"; }
    }
    var rows = t.split(/\s*[;\n]\s*/).filter(function (r) { return r.length > 0; });
    var values = rows.map(function (r) {
      return r.split(/[\s,]+/).filter(function (v) { return v.length > 0; }).map(Number);
    });
    if (values.length === 0) { return "at least one row of numbers is needed"; }
    for (var i = 0; i < values.length; i++) {
      if (values[i].length !== values[0].length) {
        return "row " + (i + 1) + " has " + values[i].length + " numbers, row 1 has " +
          values[0].length + ": every row needs the same count";
      }
      for (var j = 0; j < values[i].length; j++) {
        if (!isFinite(values[i][j])) { return "row " + (i + 1) + " holds something that is not a number"; }
      }
    }
    return values;
  }

  function clampInt(v, lim) {
    v = Math.round(Number(v));
    if (!isFinite(v)) { return null; }
    return Math.min(lim[1], Math.max(lim[0], v));
  }

  function readQuery(search) {
    var st = defaultState(), q = new URLSearchParams(search);
    PARAM_KEYS.forEach(function (key) {
      if (!q.has(key)) { return; }
      var parts = q.get(key).split(",");
      var h = clampInt(parts[0], LIMITS[key]);
      var w = clampInt(parts.length > 1 ? parts[1] : parts[0], LIMITS[key]);
      if (h !== null && w !== null) { st[key] = [h, w]; }
    });
    ["x", "w"].forEach(function (key) {
      var v = q.get(key);
      if (!v) { return; }
      if (/^r\d+$/.test(v)) { st[key] = {src: v, values: null}; return; }
      var parsed = parseValues(v);
      if (typeof parsed !== "string") {
        st[key] = {src: "custom", values: parsed};
        var size = key === "x" ? "n" : "k";
        st[size] = [Math.min(parsed.length, LIMITS[size][1]),
          Math.min(parsed[0].length, LIMITS[size][1])];
      }
    });
    if (q.get("colour") === "counts") { st.colour = "counts"; }
    if (q.has("solve")) {
      var sv = q.get("solve").split(",").map(Number);
      if (sv.length === 2 && sv[0] >= 1 && sv[1] >= 1) {
        st.solveN = Math.round(sv[0]); st.solveT = Math.round(sv[1]);
      }
    }
    return st;
  }

  function writeQuery(st) {
    var parts = [];
    PARAM_KEYS.forEach(function (key) {
      var v = st[key];
      if (v[0] === DEFAULTS[key][0] && v[1] === DEFAULTS[key][1]) { return; }
      parts.push(key + "=" + (v[0] === v[1] ? v[0] : v[0] + "," + v[1]));
    });
    ["x", "w"].forEach(function (key) {
      var spec = st[key];
      if (spec.src === "") { return; }
      var v = spec.src === "custom" ? valuesToText(spec.values, ";", ",") : spec.src;
      parts.push(key + "=" + encodeURIComponent(v).replace(/%2C/g, ",").replace(/%3B/g, ";"));
    });
    if (st.colour !== "values") { parts.push("colour=" + st.colour); }
    if (st.solveN !== 10 || st.solveT !== 320) { parts.push("solve=" + st.solveN + "," + st.solveT); }
    return parts.length ? "?" + parts.join("&") : "";
  }

  // ------------------------------------------------------------------ colours

  function cssColour(root, expr) {
    var probe = document.createElement("span");
    probe.style.color = expr;
    probe.style.display = "none";
    root.appendChild(probe);
    var m = /rgba?\(([^)]+)\)/.exec(getComputedStyle(probe).color);
    root.removeChild(probe);
    var c = m ? m[1].split(/[\s,/]+/).filter(Boolean).map(Number) : [128, 128, 128];
    return [c[0], c[1], c[2], c.length > 3 ? c[3] : 1];
  }

  function mix(a, b, t) {
    return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
  }

  function rgb(c) { return "rgb(" + Math.round(c[0]) + "," + Math.round(c[1]) + "," + Math.round(c[2]) + ")"; }

  function palette(root) {
    var bg = cssColour(root, "var(--md-default-bg-color, #fff)");
    var fgA = cssColour(root, "var(--md-default-fg-color, rgba(0,0,0,0.87))");
    var fg = mix(bg, fgA, fgA[3]);
    var dark = (bg[0] + bg[1] + bg[2]) / 3 < 128;
    return {
      bg: bg, fg: fg, dark: dark,
      line: mix(bg, fg, 0.25), faint: mix(bg, fg, 0.06),
      pos: dark ? [121, 134, 203] : [57, 73, 171],
      neg: dark ? [239, 154, 154] : [198, 40, 40],
      count: dark ? [255, 183, 77] : [230, 120, 0],
      hover: dark ? [255, 213, 79] : [255, 111, 0],
      stamp: dark ? [77, 208, 225] : [0, 137, 123]
    };
  }

  // ------------------------------------------------------------------ drawing

  // Draw a rows x cols grid of cells of cs CSS px. spec: fill(y, x) -> rgb, text(y, x) -> string,
  // sub(y, x) -> small corner text, boxes: [{y, x, h, w, colour, width, dash}].
  function drawGrid(canvas, spec, pal) {
    var rows = spec.rows, cols = spec.cols, cs = spec.cs, dpr = window.devicePixelRatio || 1;
    var width = cols * cs, height = rows * cs;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
      canvas.style.width = width + "px";
      canvas.style.height = height + "px";
    }
    var ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    // cell colours as one image, scaled up without smoothing: one pass over the cells
    var img = new ImageData(cols, rows), data = img.data;
    for (var y = 0; y < rows; y++) {
      for (var x = 0; x < cols; x++) {
        var c = spec.fill(y, x), o = 4 * (y * cols + x);
        data[o] = c[0]; data[o + 1] = c[1]; data[o + 2] = c[2]; data[o + 3] = 255;
      }
    }
    var off = drawGrid.off || (drawGrid.off = document.createElement("canvas"));
    off.width = cols; off.height = rows;
    off.getContext("2d").putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, 0, 0, width, height);
    if (cs >= 5) {
      ctx.strokeStyle = rgb(pal.line);
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (y = 0; y <= rows; y++) { ctx.moveTo(0, y * cs + 0.5 - (y === rows)); ctx.lineTo(width, y * cs + 0.5 - (y === rows)); }
      for (x = 0; x <= cols; x++) { ctx.moveTo(x * cs + 0.5 - (x === cols), 0); ctx.lineTo(x * cs + 0.5 - (x === cols), height); }
      ctx.stroke();
    }
    if (spec.text && cs >= 22) {
      // labels in two passes (dark text on light cells, then light on dark), widths measured
      // once per distinct label: text is most of a redraw's cost
      var size = Math.max(10, Math.min(14, Math.floor(cs * 0.42))), widths = {};
      var fits = function (label) {
        if (widths[label] === undefined) { widths[label] = ctx.measureText(label).width; }
        return widths[label] <= cs - 2;
      };
      var lightCell = function (o) { return 0.299 * data[o] + 0.587 * data[o + 1] + 0.114 * data[o + 2] > 140; };
      var withSub = spec.sub && cs >= 30;
      [true, false].forEach(function (light) {
        ctx.font = size + "px system-ui, sans-serif";
        ctx.textAlign = "center";
        ctx.textBaseline = "middle";
        ctx.fillStyle = light ? "#000" : "#fff";
        for (var y = 0; y < rows; y++) {
          for (var x = 0; x < cols; x++) {
            if (lightCell(4 * (y * cols + x)) !== light) { continue; }
            var label = spec.text(y, x);
            if (label === null || label === "" || !fits(label)) { continue; }
            ctx.fillText(label, x * cs + cs / 2, y * cs + cs / 2 + (withSub ? 2 : 0));
          }
        }
        if (!withSub) { return; }
        ctx.font = "10px system-ui, sans-serif";
        ctx.textAlign = "right";
        ctx.textBaseline = "top";
        ctx.fillStyle = light ? "#333" : "#ddd";
        for (y = 0; y < rows; y++) {
          for (x = 0; x < cols; x++) {
            var sub = lightCell(4 * (y * cols + x)) === light && spec.sub(y, x);
            if (sub) { ctx.fillText(sub, x * cs + cs - 2, y * cs + 1); }
          }
        }
      });
    }
    if (spec.crop) { hatchOutside(ctx, spec.crop, cs, width, height, pal); }
    (spec.boxes || []).forEach(function (b) {
      ctx.strokeStyle = rgb(b.colour);
      ctx.lineWidth = b.width || 2;
      ctx.setLineDash(b.dash || []);
      var inset = ctx.lineWidth / 2;
      ctx.strokeRect(b.x * cs + inset, b.y * cs + inset, (b.w || 1) * cs - 2 * inset,
        (b.h || 1) * cs - 2 * inset);
      ctx.setLineDash([]);
    });
  }

  // Diagonal hatching over everything outside the crop rectangle (the cropped border)
  function hatchOutside(ctx, crop, cs, width, height, pal) {
    var tile = document.createElement("canvas");
    tile.width = tile.height = 6;
    var t = tile.getContext("2d");
    t.strokeStyle = rgb(mix(pal.bg, pal.fg, 0.55));
    t.lineWidth = 1;
    t.beginPath(); t.moveTo(0, 6); t.lineTo(6, 0); t.stroke();
    ctx.save();
    ctx.fillStyle = ctx.createPattern(tile, "repeat");
    ctx.beginPath();
    ctx.rect(0, 0, width, height);
    ctx.rect(crop.x * cs + crop.w * cs, crop.y * cs, -crop.w * cs, crop.h * cs);  // a hole
    ctx.fill("evenodd");
    ctx.restore();
  }

  function cellAt(canvas, cs, event) {
    var r = canvas.getBoundingClientRect();
    var scale = r.width ? canvas.width / (window.devicePixelRatio || 1) / r.width : 1;
    return {y: Math.floor((event.clientY - r.top) * scale / cs),
      x: Math.floor((event.clientX - r.left) * scale / cs)};
  }

  // ------------------------------------------------------------------ the page

  var app = null;   // the explorer on the current page (null elsewhere)

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var key in attrs || {}) {
      if (key === "text") { e.textContent = attrs[key]; }
      else if (key === "html") { e.innerHTML = attrs[key]; }
      else { e.setAttribute(key, attrs[key]); }
    }
    (children || []).forEach(function (c) { if (c) { e.appendChild(c); } });
    return e;
  }

  var TEMPLATE = [
    '<form class="tce-controls" aria-label="Transposed convolution settings" novalidate>',
    '<table class="tce-params"><thead><tr><th scope="col">per axis</th>',
    '<th scope="col">height</th><th scope="col">width</th></tr></thead><tbody></tbody></table>',
    '<div class="tce-side">',
    '<div class="tce-presets"><label for="tce-factor">Same-style upsampling ×</label>',
    '<input id="tce-factor" class="tce-factor" type="number" min="1" max="32" value="2" ',
    'aria-label="Upsampling factor s">',
    '<button type="button" class="md-button tce-apply-factor">Apply</button>',
    '<button type="button" class="md-button tce-reset">Reset</button></div>',
    '<div class="tce-values">',
    '<label>Input values<textarea class="tce-x" rows="3" spellcheck="false" ',
    'aria-describedby="tce-values-help"></textarea></label>',
    '<label>Kernel values<textarea class="tce-w" rows="3" spellcheck="false" ',
    'aria-describedby="tce-values-help"></textarea></label></div>',
    '<p id="tce-values-help" class="tce-help">One row per line, numbers separated by spaces; ',
    'a different shape resizes the input or the kernel.</p>',
    '<div class="tce-buttons"><button type="button" class="md-button tce-random">Random values</button>',
    '<button type="button" class="md-button tce-default-values">Default values</button></div>',
    '<p class="tce-msg" role="status" aria-live="polite"></p>',
    '</div></form>',
    '<div class="tce-formula" aria-live="polite"></div>',
    '<div class="tce-error admonition failure" role="alert" hidden></div>',
    '<div class="tce-result">',
    '<h2 id="scatter">Scatter</h2>',
    '<p class="tce-caption">Each input pixel stamps its scaled kernel into the full output; ',
    'overlaps add up (the small number counts them); padding crops the hatched border; ',
    'output_padding adds the dashed rows and columns of zeros. Hover or focus a cell and use the ',
    'arrow keys.</p>',
    '<fieldset class="tce-colour"><legend>Colour the output by</legend>',
    '<label><input type="radio" name="tce-colour" value="values" checked> values</label>',
    '<label><input type="radio" name="tce-colour" value="counts"> overlap counts</label></fieldset>',
    '<div class="tce-anim" role="group" aria-label="Scatter animation">',
    '<button type="button" class="md-button tce-first" aria-label="First step: nothing stamped">First</button>',
    '<button type="button" class="md-button tce-prev" aria-label="Previous step">Back</button>',
    '<button type="button" class="md-button tce-play" aria-label="Play">▶ Play</button>',
    '<button type="button" class="md-button tce-next" aria-label="Next step">Next</button>',
    '<button type="button" class="md-button tce-last" aria-label="Last step: all inputs stamped">All</button>',
    '<span class="tce-step" aria-live="polite"></span></div>',
    '<div class="tce-row">',
    '<figure><canvas class="tce-c-input" tabindex="0" role="img"></canvas><figcaption>input</figcaption></figure>',
    '<figure><canvas class="tce-c-kernel" role="img"></canvas><figcaption>kernel</figcaption></figure>',
    '<figure class="tce-wide"><canvas class="tce-c-scatter" tabindex="0" role="img"></canvas>',
    '<figcaption class="tce-scatter-caption">full output</figcaption></figure></div>',
    '<h2 id="gather">Gather</h2>',
    '<p class="tce-caption tce-gather-caption"></p>',
    '<div class="tce-row">',
    '<figure class="tce-wide"><canvas class="tce-c-zeros" role="img"></canvas>',
    '<figcaption>zero-inserted, padded input</figcaption></figure>',
    '<figure><canvas class="tce-c-flipped" role="img"></canvas><figcaption>flipped kernel</figcaption></figure>',
    '<figure class="tce-wide"><canvas class="tce-c-output" tabindex="0" role="img"></canvas>',
    '<figcaption>output</figcaption></figure></div>',
    '<h2 id="matrix">Matrix</h2>',
    '<p class="tce-caption tce-matrix-caption"></p>',
    '<div class="tce-row"><figure class="tce-wide"><canvas class="tce-c-matrix" tabindex="0" role="img"></canvas>',
    '</figure></div>',
    '<p class="tce-hover" aria-live="polite"></p>',
    '<details class="tce-table-box"><summary>Output values as a table</summary>',
    '<div class="tce-table-wrap"></div></details>',
    '</div>',
    '<h2 id="pytorch">In PyTorch</h2>',
    '<p><button type="button" class="md-button md-button--primary tce-copy">Copy PyTorch</button> ',
    '<span class="tce-copied" role="status" aria-live="polite"></span></p>',
    '<pre class="tce-code"><code></code></pre>',
    '<h2 id="solver">Shape solver</h2>',
    '<p>Every setting that turns an input of size <em>n</em> into exactly <em>T</em> along one axis: ',
    'strides up to the size ratio ⌈T / n⌉ (at most 64), kernels whose dilated span ',
    'd·(k − 1) + 1 is at most twice that, and for each the smallest padding. ',
    '★ marks the FCN rule k = 2s, p = s/2 (<code>transconv.shapes.upsampling_params</code>). ',
    'Simplest first; the same search is <code>transconv.shapes.solve_transposed_conv</code>. ',
    'Press a kernel size to show its setting in the explorer above.</p>',
    '<form class="tce-solver-form" aria-label="Shape solver" novalidate>',
    '<label>input size <input class="tce-solve-n" type="number" min="1" max="4096"></label>',
    '<label>target size <input class="tce-solve-t" type="number" min="1" max="65536"></label>',
    '</form>',
    '<p class="tce-solve-summary" aria-live="polite"></p>',
    '<div class="tce-solve-wrap"></div>',
    '<p><button type="button" class="md-button tce-solve-more">Show more</button></p>'
  ].join("");

  function buildParamRows(root) {
    var body = root.querySelector(".tce-params tbody");
    var labels = {n: "input size", k: "kernel_size", s: "stride", p: "padding", op: "output_padding",
      d: "dilation"};
    PARAM_KEYS.forEach(function (key) {
      var tr = el("tr", {}, [el("th", {scope: "row", text: labels[key]})]);
      for (var ax = 0; ax < 2; ax++) {
        tr.appendChild(el("td", {}, [el("input", {
          type: "number", step: "1", min: String(LIMITS[key][0]), max: String(LIMITS[key][1]),
          "class": "tce-in", "data-key": key, "data-axis": String(ax),
          "aria-label": labels[key] + " (" + AXES[ax] + ")"
        })]));
      }
      body.appendChild(tr);
    });
  }

  function init() {
    stopPlaying();
    var root = document.getElementById("transconv-explorer");
    if (!root) { app = null; return; }
    root.innerHTML = TEMPLATE;
    buildParamRows(root);
    app = {root: root, st: readQuery(location.search), step: null, hover: null, shown: 24,
      pal: palette(root), q: function (sel) { return root.querySelector(sel); }};
    // read once (and on resize): reading layout inside render would force a reflow per update
    app.width = root.clientWidth;
    wire(app);
    syncControls();
    render();
    renderSolver();
    if (!init.observer) {
      // Material switches palettes by changing this attribute on <body>: recolour
      init.observer = new MutationObserver(function () {
        if (app) { app.pal = palette(app.root); render(); }
      });
      init.observer.observe(document.body, {attributes: true, attributeFilter: ["data-md-color-scheme"]});
      var resizing = 0;
      window.addEventListener("resize", function () {  // cell sizes follow the column width
        clearTimeout(resizing);
        resizing = setTimeout(function () {
          if (app) { app.width = app.root.clientWidth; render(); }
        }, 150);
      });
    }
  }

  function setValues(which, spec) {
    app.st[which] = spec;
  }

  function wire(a) {
    a.root.querySelectorAll(".tce-in").forEach(function (input) {
      input.addEventListener("input", function () {
        var v = clampInt(input.value, LIMITS[input.dataset.key]);
        if (v === null || input.value === "") { return; }
        a.st[input.dataset.key][Number(input.dataset.axis)] = v;
        a.step = null;
        render();
      });
      input.addEventListener("change", syncControls);  // show the value actually used
    });
    ["x", "w"].forEach(function (which) {
      var area = a.q(".tce-" + which);
      area.addEventListener("change", function () {
        var parsed = parseValues(area.value);
        var name = which === "x" ? "input" : "kernel";
        if (typeof parsed === "string") { a.q(".tce-msg").textContent = name + " values: " + parsed; return; }
        var size = which === "x" ? "n" : "k";
        if (parsed.length > LIMITS[size][1] || parsed[0].length > LIMITS[size][1]) {
          a.q(".tce-msg").textContent = name + " values: at most " + LIMITS[size][1] + " per axis here";
          return;
        }
        a.q(".tce-msg").textContent = "";
        setValues(which, {src: "custom", values: parsed});
        a.st[size] = [parsed.length, parsed[0].length];
        a.step = null;
        syncControls();
        render();
      });
    });
    a.q(".tce-random").addEventListener("click", function () {
      var seed = Math.floor(Math.random() * 1e6);
      setValues("x", {src: "r" + seed, values: null});
      setValues("w", {src: "r" + (seed + 1), values: null});
      render();
    });
    a.q(".tce-default-values").addEventListener("click", function () {
      setValues("x", {src: "", values: null});
      setValues("w", {src: "", values: null});
      render();
    });
    a.q(".tce-apply-factor").addEventListener("click", function () { applyFactor(); });
    a.q(".tce-factor").addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); applyFactor(); }
    });
    a.q(".tce-reset").addEventListener("click", function () {
      var keep = {solveN: a.st.solveN, solveT: a.st.solveT};
      a.st = defaultState();
      a.st.solveN = keep.solveN; a.st.solveT = keep.solveT;
      a.step = null;
      syncControls();
      render();
    });
    a.root.querySelectorAll('input[name="tce-colour"]').forEach(function (radio) {
      radio.addEventListener("change", function () { a.st.colour = radio.value; render(); });
    });
    a.root.querySelector(".tce-controls").addEventListener("submit", function (e) { e.preventDefault(); });
    a.root.querySelector(".tce-solver-form").addEventListener("submit", function (e) { e.preventDefault(); });
    wireAnimation(a);
    wireHover(a);
    a.q(".tce-copy").addEventListener("click", copyCode);
    ["n", "t"].forEach(function (which) {
      a.q(".tce-solve-" + which).addEventListener("input", function (e) {
        var v = Math.round(Number(e.target.value));
        if (!(v >= 1) || v > Number(e.target.max)) { return; }
        if (which === "n") { a.st.solveN = v; } else { a.st.solveT = v; }
        a.shown = 24;
        renderSolver();
        writeUrl();
      });
    });
    a.q(".tce-solve-more").addEventListener("click", function () { a.shown += 96; renderSolver(); });
    a.q(".tce-solve-wrap").addEventListener("click", function (e) {
      var button = e.target.closest("button[data-row]");
      if (!button) { return; }
      var c = app.solverRows[Number(button.dataset.row)];
      app.st.n = [app.st.solveN, app.st.solveN]; app.st.k = [c.kernel_size, c.kernel_size]; app.st.s = [c.stride, c.stride];
      app.st.p = [c.padding, c.padding]; app.st.op = [c.output_padding, c.output_padding];
      app.st.d = [c.dilation, c.dilation];
      app.step = null;
      syncControls();
      render();
      app.q(".tce-formula").scrollIntoView({block: "nearest"});
    });
  }

  function applyFactor() {
    var f = clampInt(app.q(".tce-factor").value, [1, 32]);
    if (f === null) { return; }
    // transconv.shapes.upsampling_params: output = input * f for every input size
    app.st.k = [2 * f - f % 2, 2 * f - f % 2]; app.st.s = [f, f];
    app.st.p = [Math.floor(f / 2), Math.floor(f / 2)]; app.st.op = [0, 0]; app.st.d = [1, 1];
    app.step = null;
    syncControls();
    render();
  }

  function syncControls() {
    var st = app.st;
    app.root.querySelectorAll(".tce-in").forEach(function (input) {
      input.value = st[input.dataset.key][Number(input.dataset.axis)];
    });
    app.root.querySelectorAll('input[name="tce-colour"]').forEach(function (r) {
      r.checked = r.value === st.colour;
    });
    app.q(".tce-solve-n").value = st.solveN;
    app.q(".tce-solve-t").value = st.solveT;
  }

  function writeUrl() {
    var query = writeQuery(app.st);
    if (query !== location.search && !(query === "" && location.search === "?")) {
      history.replaceState(history.state, "", location.pathname + query + location.hash);
    }
  }

  // ------------------------------------------------------------------ render

  function current() {
    var st = app.st;
    var x = materialise(st.x, Math.max(st.n[0], 0), Math.max(st.n[1], 0));
    var w = materialise(st.w, Math.max(st.k[0], 0), Math.max(st.k[1], 0));
    st.x.values = x; st.w.values = w;
    return {x: x, w: w, broken: checkSetting(st.n, st.k, st.s, st.p, st.op, st.d)};
  }

  function render() {
    if (!app) { return null; }
    var st = app.st, cur = current();
    app.cur = cur;
    ["x", "w"].forEach(function (which) {
      var area = app.q(".tce-" + which);
      var text = valuesToText(cur[which], "\n", " ");
      if (document.activeElement !== area && area.value !== text) { area.value = text; }
      var lines = Math.min(8, Math.max(2, cur[which].length));
      if (area.rows !== lines) { area.rows = lines; }
    });
    renderFormula(cur.broken);
    var errorBox = app.q(".tce-error"), result = app.q(".tce-result");
    if (cur.broken) {
      showError(errorBox, cur.broken);
      result.hidden = true;
      put(app.q(".tce-code code"), "textContent", "# no valid layer: " + cur.broken.rule);
      writeUrl();
      return null;
    }
    errorBox.hidden = true;
    result.hidden = false;
    var n = st.n, k = st.k, s = st.s, p = st.p, op = st.op, d = st.d, area = [];
    for (var ax = 0; ax < 2; ax++) {  // the scatter canvas: the full output or the cropped one
      var out = outputSize(n[ax], k[ax], s[ax], p[ax], op[ax], d[ax]);
      area.push(Math.max(out + p[ax], (n[ax] - 1) * s[ax] + d[ax] * (k[ax] - 1) + 1));
    }
    app.big = area[0] * area[1] > MAX_DRAWN;
    var full = app.big ? {H: outputSize(n[0], k[0], s[0], p[0], op[0], d[0]),
      W: outputSize(n[1], k[1], s[1], p[1], op[1], d[1]), out: null} : scatter(cur.x, cur.w, n, k, s, p, op, d);
    app.full = full;
    drawAll();
    renderTable(full);
    renderCode(cur, full);
    writeUrl();
    return {shape: [full.H, full.W]};
  }

  function renderFormula(broken) {
    var st = app.st, html = [];
    for (var ax = 0; ax < 2; ax++) {
      var n = st.n[ax], k = st.k[ax], s = st.s[ax], p = st.p[ax], op = st.op[ax], d = st.d[ax];
      var out = outputSize(n, k, s, p, op, d);
      var sym = ax === 0 ? "H" : "W";
      html.push('<p class="tce-eq"><span class="tce-axis">' + AXES[ax] + '</span> ' +
        '<var>' + sym + '</var><sub>out</sub> = (<var>' + sym + '</var><sub>in</sub> − 1)·<var>s</var> − 2<var>p</var> + ' +
        '<var>d</var>·(<var>k</var> − 1) + <var>output_padding</var> + 1 = (' + n + ' − 1)·' + s + ' − 2·' + p +
        ' + ' + d + '·(' + k + ' − 1) + ' + op + ' + 1 = <strong class="tce-out-' + AXES[ax] + '">' + out +
        '</strong></p>');
    }
    if (!broken) {
      var H = outputSize(st.n[0], st.k[0], st.s[0], st.p[0], st.op[0], st.d[0]);
      var W = outputSize(st.n[1], st.k[1], st.s[1], st.p[1], st.op[1], st.d[1]);
      html.push('<p class="tce-shape-line">' + st.n[0] + ' × ' + st.n[1] + ' input → <output class="tce-shape">' +
        H + ' × ' + W + '</output> output</p>');
    }
    put(app.q(".tce-formula"), "innerHTML", html.join(""));
  }

  var KEY_OF = {"input size": "n", kernel_size: "k", stride: "s", padding: "p", output_padding: "op",
    dilation: "d"};

  function showError(box, broken) {
    box.hidden = false;
    box.innerHTML = "";
    var rule = broken.rule.replace(/`([^`]+)`/g, "<code>$1</code>");
    box.appendChild(el("p", {"class": "admonition-title", text: "PyTorch refuses this setting"}));
    box.appendChild(el("p", {"class": "tce-rule", html: rule + " (" + AXES[broken.axis] + ")."}));
    var fix = el("button", {type: "button", "class": "md-button tce-fix",
      text: "Use the nearest legal value: " + broken.name + " = " + broken.nearest + " (" + AXES[broken.axis] + ")"});
    fix.addEventListener("click", function () {
      var key = KEY_OF[broken.name];
      app.st[key][broken.axis] = clampInt(broken.nearest, LIMITS[key]);
      syncControls();
      render();
    });
    box.appendChild(el("p", {}, [fix]));
  }

  // Which (input, tap) pairs write output pixel (y, x): per axis, the i with
  // i*s + a*d - p = y for some tap a.
  function sources(y, x) {
    var st = app.st, per = [];
    for (var ax = 0; ax < 2; ax++) {
      var list = [], pos = ax === 0 ? y : x;
      for (var a = 0; a < st.k[ax]; a++) {
        var num = pos + st.p[ax] - a * st.d[ax];
        if (num >= 0 && num % st.s[ax] === 0 && num / st.s[ax] < st.n[ax]) { list.push([num / st.s[ax], a]); }
      }
      per.push(list);
    }
    var pairs = [];
    per[0].forEach(function (u) { per[1].forEach(function (v) { pairs.push({i: u[0], j: v[0], a: u[1], b: v[1]}); }); });
    return pairs;
  }

  function cellSize(cols, avail, max) {
    return Math.max(1, Math.min(max, Math.floor(avail / Math.max(cols, 1))));
  }

  function valueFill(pal, maxAbs) {
    return function (v) {
      if (v === 0 || maxAbs === 0) { return pal.bg; }
      return mix(pal.bg, v > 0 ? pal.pos : pal.neg, 0.18 + 0.82 * Math.min(1, Math.abs(v) / maxAbs));
    };
  }

  function maxAbsOf(arr) {
    var m = 0;
    for (var i = 0; i < arr.length; i++) { var v = Math.abs(arr[i]); if (v > m) { m = v; } }
    return m;
  }

  function flat(rows) { return [].concat.apply([], rows); }

  function drawAll() {
    var st = app.st, pal = app.pal, cur = app.cur, full = app.full;
    var avail = Math.max(200, app.width - 8);
    var n = st.n, k = st.k, s = st.s, p = st.p, op = st.op, d = st.d, H = full.H, W = full.W;
    var hov = app.hover, src = hov && hov.kind === "out" ? sources(hov.y, hov.x) : [];
    var steps = app.step === null ? n[0] * n[1] : app.step;
    var stamp = app.step !== null && app.step > 0 ?
      {i: Math.floor((app.step - 1) / n[1]), j: (app.step - 1) % n[1]} : null;
    var hovIn = hov && hov.kind === "in" ? hov : null;
    var big = app.big;
    put(app.q(".tce-scatter-caption"), "textContent", big ? "output too large to draw here (" + H + " × " + W +
      " pixels); the formula above still holds" : "full output (" + (Math.max((n[0] - 1) * s[0] + d[0] * (k[0] - 1) + 1, p[0] + H)) +
      " × " + (Math.max((n[1] - 1) * s[1] + d[1] * (k[1] - 1) + 1, p[1] + W)) + "), cropped to the " + H + " × " + W + " output");
    // input and kernel
    var xs = flat(cur.x), ws = flat(cur.w);
    var xFill = valueFill(pal, maxAbsOf(xs)), wFill = valueFill(pal, maxAbsOf(ws));
    var csIn = cellSize(Math.max(n[1], k[1]), Math.min(avail / 3, 200), 36);
    var inBoxes = src.map(function (c) { return {y: c.i, x: c.j, colour: pal.hover, width: 3}; });
    if (stamp) { inBoxes.push({y: stamp.i, x: stamp.j, colour: pal.stamp, width: 3}); }
    if (hovIn) { inBoxes.push({y: hovIn.i, x: hovIn.j, colour: pal.hover, width: 3}); }
    app.cs = {input: csIn};
    drawGrid(app.q(".tce-c-input"), {rows: n[0], cols: n[1], cs: csIn, boxes: inBoxes,
      fill: function (y, x) { return xFill(cur.x[y][x]); }, text: function (y, x) { return formatNumber(cur.x[y][x]); }}, pal);
    drawGrid(app.q(".tce-c-kernel"), {rows: k[0], cols: k[1], cs: csIn,
      boxes: src.map(function (c) { return {y: c.a, x: c.b, colour: pal.hover, width: 3}; }),
      fill: function (y, x) { return wFill(cur.w[y][x]); }, text: function (y, x) { return formatNumber(cur.w[y][x]); }}, pal);
    describeCanvas(".tce-c-input", "input, " + n[0] + " by " + n[1]);
    describeCanvas(".tce-c-kernel", "kernel, " + k[0] + " by " + k[1]);
    if (big) {
      ["scatter", "zeros", "flipped", "output", "matrix"].forEach(function (c) { app.q(".tce-c-" + c).hidden = true; });
      renderAnimLabel(steps);
      return;
    }
    ["scatter", "zeros", "flipped", "output"].forEach(function (c) { app.q(".tce-c-" + c).hidden = false; });
    drawScatter(pal, avail, src, stamp, hovIn, full);
    drawGather(pal, avail, src);
    drawMatrix(pal, avail, src, hovIn);
    renderAnimLabel(steps);
    renderHoverText(src);
  }

  function describeCanvas(sel, text) {
    var c = app.q(sel);
    if (c._tceLabel !== text) { c._tceLabel = text; c.setAttribute("aria-label", text); }
  }

  // Write a DOM property only when its value changes: an unchanged write still costs a layout
  function put(node, prop, value) {
    var key = "_tce_" + prop;
    if (node[key] === value) { return; }
    node[key] = value;
    node[prop] = value;
  }

  function drawScatter(pal, avail, src, stamp, hovIn, part) {
    var st = app.st, n = st.n, k = st.k, s = st.s, p = st.p, d = st.d, H = part.H, W = part.W;
    var fullH = (n[0] - 1) * s[0] + d[0] * (k[0] - 1) + 1, fullW = (n[1] - 1) * s[1] + d[1] * (k[1] - 1) + 1;
    var rows = Math.max(fullH, p[0] + H), cols = Math.max(fullW, p[1] + W);
    var cs = cellSize(cols, avail, 44);
    app.cs.scatter = cs;
    // values on the full canvas, including the cropped border
    var canvasVals = new Float64Array(rows * cols), canvasCount = new Int32Array(rows * cols);
    var steps = app.step === null ? n[0] * n[1] : app.step, cur = app.cur;
    for (var t = 0; t < steps; t++) {
      var i = Math.floor(t / n[1]), j = t % n[1];
      for (var a = 0; a < k[0]; a++) {
        for (var b = 0; b < k[1]; b++) {
          var o = (i * s[0] + a * d[0]) * cols + j * s[1] + b * d[1];
          canvasVals[o] += cur.x[i][j] * cur.w[a][b];
          canvasCount[o] += 1;
        }
      }
    }
    var counts = st.colour === "counts", maxCount = 0;
    for (t = 0; t < canvasCount.length; t++) { if (canvasCount[t] > maxCount) { maxCount = canvasCount[t]; } }
    var vFill = valueFill(pal, maxAbsOf(canvasVals));
    var inside = function (y, x) { return y >= p[0] && y < p[0] + H && x >= p[1] && x < p[1] + W; };
    var boxes = [{y: p[0], x: p[1], h: H, w: W, colour: pal.fg, width: 2}];
    if (H + p[0] > fullH) { boxes.push({y: fullH, x: p[1], h: H + p[0] - fullH, w: W, colour: pal.fg, width: 1, dash: [4, 3]}); }
    if (W + p[1] > fullW) { boxes.push({y: p[0], x: fullW, h: H, w: W + p[1] - fullW, colour: pal.fg, width: 1, dash: [4, 3]}); }
    if (stamp) {
      boxes.push({y: stamp.i * s[0], x: stamp.j * s[1], h: d[0] * (k[0] - 1) + 1, w: d[1] * (k[1] - 1) + 1,
        colour: pal.stamp, width: 3});
    }
    if (hovIn) {
      boxes.push({y: hovIn.i * s[0], x: hovIn.j * s[1], h: d[0] * (k[0] - 1) + 1, w: d[1] * (k[1] - 1) + 1,
        colour: pal.hover, width: 3});
    }
    if (app.hover && app.hover.kind === "out") {
      boxes.push({y: app.hover.y + p[0], x: app.hover.x + p[1], colour: pal.hover, width: 3});
    }
    drawGrid(app.q(".tce-c-scatter"), {rows: rows, cols: cols, cs: cs, boxes: boxes, crop: {y: p[0], x: p[1], h: H, w: W},
      fill: function (y, x) {
        var c = counts ? (canvasCount[y * cols + x] ? mix(pal.bg, pal.count, 0.15 + 0.85 * canvasCount[y * cols + x] / maxCount) : pal.bg)
          : vFill(canvasVals[y * cols + x]);
        return inside(y, x) ? c : mix(c, pal.bg, 0.5);
      },
      text: function (y, x) { return canvasCount[y * cols + x] || inside(y, x) ? formatNumber(canvasVals[y * cols + x]) : ""; },
      sub: function (y, x) { return canvasCount[y * cols + x] ? "×" + canvasCount[y * cols + x] : ""; }}, pal);
    describeCanvas(".tce-c-scatter", "scatter view: full output " + rows + " by " + cols + ", cropped to " + H + " by " + W +
      "; arrow keys move over the output pixels");
  }

  function drawGather(pal, avail, src) {
    var st = app.st, n = st.n, k = st.k, s = st.s, p = st.p, op = st.op, d = st.d, cur = app.cur, full = app.full;
    var e = [d[0] * (k[0] - 1) - p[0], d[1] * (k[1] - 1) - p[1]];
    var Hz = (n[0] - 1) * s[0] + 1 + 2 * e[0] + op[0], Wz = (n[1] - 1) * s[1] + 1 + 2 * e[1] + op[1];
    put(app.q(".tce-gather-caption"), "innerHTML", "The same output as a stride-1 convolution: insert " +
      "s − 1 zeros between input pixels (" + (s[0] - 1) + " down, " + (s[1] - 1) + " across), pad every side with " +
      "d·(k − 1) − p (" + e[0] + " rows, " + e[1] + " columns; a negative padding crops) plus output_padding at the bottom " +
      "and right, and slide the flipped kernel (taps d apart) over it.");
    var zeros = new Float64Array(Hz * Wz), real = new Uint8Array(Hz * Wz);
    for (var i = 0; i < n[0]; i++) {
      var r = i * s[0] + e[0];
      if (r < 0 || r >= Hz) { continue; }
      for (var j = 0; j < n[1]; j++) {
        var c = j * s[1] + e[1];
        if (c < 0 || c >= Wz) { continue; }
        zeros[r * Wz + c] = cur.x[i][j];
        real[r * Wz + c] = 1;
      }
    }
    var csZ = cellSize(Wz, avail, 36);
    var xFill = valueFill(pal, maxAbsOf(zeros));
    var boxes = [];
    var hov = app.hover;
    if (hov && hov.kind === "out") {
      boxes.push({y: hov.y, x: hov.x, h: d[0] * (k[0] - 1) + 1, w: d[1] * (k[1] - 1) + 1, colour: pal.hover, width: 1, dash: [3, 2]});
      src.forEach(function (q) { boxes.push({y: q.i * s[0] + e[0], x: q.j * s[1] + e[1], colour: pal.hover, width: 3}); });
    }
    if (hov && hov.kind === "in") {
      boxes.push({y: hov.i * s[0] + e[0], x: hov.j * s[1] + e[1], colour: pal.hover, width: 3});
    }
    app.cs.zeros = csZ;
    drawGrid(app.q(".tce-c-zeros"), {rows: Hz, cols: Wz, cs: csZ, boxes: boxes,
      fill: function (y, x) { return real[y * Wz + x] ? xFill(zeros[y * Wz + x]) : pal.faint; },
      text: function (y, x) { return real[y * Wz + x] ? formatNumber(zeros[y * Wz + x]) : ""; }}, pal);
    var ws = flat(cur.w), wFill = valueFill(pal, maxAbsOf(ws));
    var csK = cellSize(k[1], Math.min(avail / 3, 200), 36);
    drawGrid(app.q(".tce-c-flipped"), {rows: k[0], cols: k[1], cs: csK,
      boxes: src.map(function (q) { return {y: k[0] - 1 - q.a, x: k[1] - 1 - q.b, colour: pal.hover, width: 3}; }),
      fill: function (y, x) { return wFill(cur.w[k[0] - 1 - y][k[1] - 1 - x]); },
      text: function (y, x) { return formatNumber(cur.w[k[0] - 1 - y][k[1] - 1 - x]); }}, pal);
    var csO = cellSize(full.W, avail, 36);
    app.cs.output = csO;
    var oFill = valueFill(pal, maxAbsOf(full.out));
    drawGrid(app.q(".tce-c-output"), {rows: full.H, cols: full.W, cs: csO,
      boxes: hov && hov.kind === "out" ? [{y: hov.y, x: hov.x, colour: pal.hover, width: 3}] : [],
      fill: function (y, x) { return oFill(full.out[y * full.W + x]); },
      text: function (y, x) { return formatNumber(full.out[y * full.W + x]); }}, pal);
    describeCanvas(".tce-c-zeros", "zero-inserted, padded input, " + Hz + " by " + Wz);
    describeCanvas(".tce-c-flipped", "flipped kernel");
    describeCanvas(".tce-c-output", "output, " + full.H + " by " + full.W + "; arrow keys move over the output pixels");
  }

  function drawMatrix(pal, avail, src, hovIn) {
    var st = app.st, n = st.n, k = st.k, s = st.s, p = st.p, d = st.d, full = app.full, cur = app.cur;
    var rows = full.H * full.W, cols = n[0] * n[1], canvas = app.q(".tce-c-matrix");
    var caption = app.q(".tce-matrix-caption");
    if (rows > MAX_MATRIX || cols > MAX_MATRIX) {
      canvas.hidden = true;
      put(caption, "textContent", "The matrix Cᵀ (one row per output pixel, one column per input pixel) is drawn " +
        "for inputs and outputs of at most " + MAX_MATRIX + " pixels; this one would be " + rows + " × " + cols + ".");
      app.cs.matrix = 0;
      return;
    }
    canvas.hidden = false;
    put(caption, "textContent", "The output, flattened row by row, is Cᵀ times the flattened input: Cᵀ has one row per " +
      "output pixel (" + rows + ") and one column per input pixel (" + cols + "); C is the matrix of the strided convolution " +
      "that this layer transposes. Row r holds the kernel taps that write output pixel r.");
    var m = new Float64Array(rows * cols), used = new Uint8Array(rows * cols);
    for (var i = 0; i < n[0]; i++) {
      for (var j = 0; j < n[1]; j++) {
        for (var a = 0; a < k[0]; a++) {
          var y = i * s[0] + a * d[0] - p[0];
          if (y < 0 || y >= full.H) { continue; }
          for (var b = 0; b < k[1]; b++) {
            var x = j * s[1] + b * d[1] - p[1];
            if (x < 0 || x >= full.W) { continue; }
            m[(y * full.W + x) * cols + i * n[1] + j] = cur.w[a][b];
            used[(y * full.W + x) * cols + i * n[1] + j] = 1;
          }
        }
      }
    }
    var cs = cellSize(cols, avail, 30);
    app.cs.matrix = cs;
    var fill = valueFill(pal, maxAbsOf(m)), boxes = [], hov = app.hover;
    if (hov && hov.kind === "out") {
      boxes.push({y: hov.y * full.W + hov.x, x: 0, h: 1, w: cols, colour: pal.hover, width: 3});
      src.forEach(function (q) { boxes.push({y: hov.y * full.W + hov.x, x: q.i * n[1] + q.j, colour: pal.hover, width: 3}); });
    }
    if (hovIn) { boxes.push({y: 0, x: hovIn.i * n[1] + hovIn.j, h: rows, w: 1, colour: pal.hover, width: 3}); }
    drawGrid(canvas, {rows: rows, cols: cols, cs: cs, boxes: boxes,
      fill: function (y, x) { return used[y * cols + x] ? fill(m[y * cols + x]) : pal.bg; },
      text: function (y, x) { return used[y * cols + x] ? formatNumber(m[y * cols + x]) : ""; }}, pal);
    describeCanvas(".tce-c-matrix", "matrix C transposed, " + rows + " by " + cols + "; arrow keys move over its rows");
  }

  function renderHoverText(src) {
    var hov = app.hover, box = app.q(".tce-hover"), cur = app.cur, full = app.full;
    if (!hov) { put(box, "textContent", "Hover or focus an output pixel to see the input pixels and kernel taps that write it."); return; }
    if (hov.kind === "in") {
      put(box, "textContent", "input (" + hov.i + ", " + hov.j + ") = " + formatNumber(cur.x[hov.i][hov.j]) +
        " stamps " + formatNumber(cur.x[hov.i][hov.j]) + " × kernel at full-output rows from " + hov.i * app.st.s[0] +
        ", columns from " + hov.j * app.st.s[1] + ".");
      return;
    }
    var terms = src.map(function (q) {
      return "x[" + q.i + "," + q.j + "]·w[" + q.a + "," + q.b + "] = " + formatNumber(cur.x[q.i][q.j]) + "·" + formatNumber(cur.w[q.a][q.b]);
    });
    put(box, "textContent", "output (" + hov.y + ", " + hov.x + ") = " + formatNumber(full.out[hov.y * full.W + hov.x]) +
      (terms.length ? " = " + terms.join(" + ") : ": no input reaches it (padding or output_padding zeros)") +
      "; " + src.length + " overlapping stamp" + (src.length === 1 ? "" : "s") + ".");
  }

  function renderTable(full) {
    var wrap = app.q(".tce-table-wrap");
    if (!full.out || full.H * full.W > MAX_TABLE) {
      put(wrap, "innerHTML", "<p>The table is written for outputs of at most " + MAX_TABLE + " pixels.</p>");
      return;
    }
    var html = ['<table class="tce-output"><caption>output, ' + full.H + " × " + full.W +
      '</caption><thead><tr><th scope="col">row</th>'];
    for (var x = 0; x < full.W; x++) { html.push('<th scope="col">' + x + "</th>"); }
    html.push("</tr></thead><tbody>");
    for (var y = 0; y < full.H; y++) {
      html.push('<tr><th scope="row">' + y + "</th>");
      for (x = 0; x < full.W; x++) {
        html.push('<td data-y="' + y + '" data-x="' + x + '">' + formatNumber(full.out[y * full.W + x]) + "</td>");
      }
      html.push("</tr>");
    }
    html.push("</tbody></table>");
    put(wrap, "innerHTML", html.join(""));
  }

  function pyTensor(values) {
    return "[" + values.map(function (r) {
      return "[" + r.map(function (v) { return Number.isInteger(v) ? v + "." : String(v); }).join(", ") + "]";
    }).join(", ") + "]";
  }

  function renderCode(cur, full) {
    var st = app.st, pair = function (v) { return "(" + v[0] + ", " + v[1] + ")"; };
    var lines = [
      "import torch",
      "from torch import nn",
      "",
      "x = torch.tensor(" + pyTensor(cur.x) + ", dtype=torch.float64).reshape(1, 1, " + st.n[0] + ", " + st.n[1] + ")",
      "layer = nn.ConvTranspose2d(",
      "    1, 1, kernel_size=" + pair(st.k) + ", stride=" + pair(st.s) + ", padding=" + pair(st.p) + ",",
      "    output_padding=" + pair(st.op) + ", dilation=" + pair(st.d) + ", bias=False, dtype=torch.float64,",
      ")",
      "with torch.no_grad():",
      "    layer.weight.copy_(torch.tensor(" + pyTensor(cur.w) + ").reshape(1, 1, " + st.k[0] + ", " + st.k[1] + "))",
      "y = layer(x)",
      "print(y.shape)  # torch.Size([1, 1, " + full.H + ", " + full.W + "])"
    ];
    if (full.out && full.H * full.W <= MAX_TABLE) {
      lines.push("expected = torch.tensor(" + pyTensor(toRows(full.out, full.H, full.W)) + ", dtype=torch.float64)");
      lines.push("torch.testing.assert_close(y[0, 0].detach(), expected)  # the explorer's output");
    }
    put(app.q(".tce-code code"), "textContent", lines.join("\n"));
  }

  function copyCode() {
    var text = app.q(".tce-code code").textContent, status = app.q(".tce-copied");
    var done = function () { status.textContent = "Copied."; };
    var fallback = function () {
      var range = document.createRange();
      range.selectNodeContents(app.q(".tce-code code"));
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      status.textContent = "Selected: press Ctrl+C (or ⌘C) to copy.";
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  }

  // ------------------------------------------------------------------ animation

  var timer = null;

  function stopPlaying() {
    if (timer) { clearInterval(timer); timer = null; }
    if (app) { var b = app.q(".tce-play"); b.textContent = "▶ Play"; b.setAttribute("aria-label", "Play"); }
  }

  function setStep(t) {
    var total = app.st.n[0] * app.st.n[1];
    app.step = t >= total ? null : Math.max(0, t);
    render();
  }

  function wireAnimation(a) {
    var total = function () { return a.st.n[0] * a.st.n[1]; };
    var now = function () { return a.step === null ? total() : a.step; };
    a.q(".tce-first").addEventListener("click", function () { stopPlaying(); a.step = 0; render(); });
    a.q(".tce-prev").addEventListener("click", function () { stopPlaying(); a.step = Math.max(0, now() - 1); render(); });
    a.q(".tce-next").addEventListener("click", function () { stopPlaying(); setStep(now() + 1); });
    a.q(".tce-last").addEventListener("click", function () { stopPlaying(); setStep(total()); });
    a.q(".tce-play").addEventListener("click", function () {
      if (timer) { stopPlaying(); return; }
      if (now() >= total()) { a.step = 0; render(); }
      var button = a.q(".tce-play");
      button.textContent = "⏸ Pause";
      button.setAttribute("aria-label", "Pause");
      timer = setInterval(function () {
        if (!app || app !== a) { stopPlaying(); return; }
        var next = now() + 1;
        setStep(next);
        if (next >= total()) { stopPlaying(); }
      }, 700);
    });
  }

  function renderAnimLabel(steps) {
    var total = app.st.n[0] * app.st.n[1], label = app.q(".tce-step");
    if (app.step === null) { put(label, "textContent", "all " + total + " input pixels stamped"); return; }
    if (steps === 0) { put(label, "textContent", "step 0 / " + total + ": nothing stamped yet"); return; }
    var i = Math.floor((steps - 1) / app.st.n[1]), j = (steps - 1) % app.st.n[1];
    put(label, "textContent", "step " + steps + " / " + total + ": input (" + i + ", " + j + ") = " +
      formatNumber(app.cur.x[i][j]) + " stamps its scaled kernel");
  }

  // ------------------------------------------------------------------ hover and keyboard

  function wireHover(a) {
    var views = {
      ".tce-c-scatter": function (c) { return {kind: "out", y: c.y - a.st.p[0], x: c.x - a.st.p[1]}; },
      ".tce-c-output": function (c) { return {kind: "out", y: c.y, x: c.x}; },
      ".tce-c-input": function (c) { return {kind: "in", i: c.y, j: c.x}; },
      ".tce-c-matrix": function (c) { return {kind: "out", y: Math.floor(c.y / a.full.W), x: c.y % a.full.W}; }
    };
    var sizes = {".tce-c-scatter": "scatter", ".tce-c-output": "output", ".tce-c-input": "input", ".tce-c-matrix": "matrix"};
    Object.keys(views).forEach(function (sel) {
      var canvas = a.q(sel);
      canvas.addEventListener("mousemove", function (e) {
        var cs = a.cs && a.cs[sizes[sel]];
        if (!cs) { return; }
        setHover(views[sel](cellAt(canvas, cs, e)));
      });
      canvas.addEventListener("mouseleave", function () { setHover(null); });
      canvas.addEventListener("focus", function () {
        if (!a.hover) { setHover(sel === ".tce-c-input" ? {kind: "in", i: 0, j: 0} : {kind: "out", y: 0, x: 0}); }
      });
      canvas.addEventListener("blur", function () { setHover(null); });
      canvas.addEventListener("keydown", function (e) {
        var moves = {ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1]};
        if (sel === ".tce-c-matrix") { moves = {ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [0, -1], ArrowRight: [0, 1]}; }
        var m = moves[e.key];
        if (!m || !a.hover) { return; }
        e.preventDefault();
        if (a.hover.kind === "in") {
          setHover({kind: "in", i: a.hover.i + m[0], j: a.hover.j + m[1]});
        } else if (sel === ".tce-c-matrix") {
          var r = a.hover.y * a.full.W + a.hover.x + m[1];
          setHover({kind: "out", y: Math.floor(r / a.full.W), x: ((r % a.full.W) + a.full.W) % a.full.W});
        } else {
          setHover({kind: "out", y: a.hover.y + m[0], x: a.hover.x + m[1]});
        }
      });
    });
  }

  function setHover(h) {
    if (!app || !app.full) { return; }
    var st = app.st, f = app.full;
    if (h && h.kind === "out" && !(h.y >= 0 && h.y < f.H && h.x >= 0 && h.x < f.W)) { return; }
    if (h && h.kind === "in" && !(h.i >= 0 && h.i < st.n[0] && h.j >= 0 && h.j < st.n[1])) { return; }
    var same = JSON.stringify(h) === JSON.stringify(app.hover);
    if (same) { return; }
    app.hover = h;
    // one redraw per frame, however fast the mouse moves
    if (!setHover.pending) {
      setHover.pending = requestAnimationFrame(function () {
        setHover.pending = 0;
        if (app && app.full && !app.cur.broken) { drawAll(); }
      });
    }
  }

  // ------------------------------------------------------------------ solver table

  function renderSolver() {
    var rows = solve(app.st.solveN, app.st.solveT);
    app.solverRows = rows;
    var summary = app.q(".tce-solve-summary"), wrap = app.q(".tce-solve-wrap"), more = app.q(".tce-solve-more");
    summary.textContent = rows.length + " setting" + (rows.length === 1 ? "" : "s") + " reach " + app.st.solveT +
      " from " + app.st.solveN + (rows.length ? "" : " within these bounds") + ".";
    var shown = Math.min(rows.length, app.shown);
    var showable = app.st.solveN <= LIMITS.n[1];  // the explorer above draws inputs up to 32
    var html = ['<table class="tce-solve"><thead><tr><th scope="col">kernel<wbr>_size</th><th scope="col">stride</th>',
      '<th scope="col">padding</th><th scope="col">output<wbr>_padding</th><th scope="col">dilation</th>',
      '</tr></thead><tbody>'];
    for (var r = 0; r < shown; r++) {
      var c = rows[r], fcn = fcnRule(c);
      // the kernel size is the button that shows the row in the explorer: no extra column
      var label = "Show kernel_size " + c.kernel_size + ", stride " + c.stride + ", padding " + c.padding +
        ", output_padding " + c.output_padding + ", dilation " + c.dilation + " in the explorer";
      var kernel = showable ? '<button type="button" class="md-button tce-use" data-row="' + r +
        '" aria-label="' + label + '" title="' + label + '">' + c.kernel_size + "</button>" : String(c.kernel_size);
      html.push("<tr" + (fcn ? ' class="tce-fcn"' : "") + "><td>" + kernel +
        (fcn ? ' <span class="tce-star" title="the FCN rule k = 2s, p = s/2">★<span class="tce-fcn-word"> FCN</span></span>' : "") +
        "</td><td>" + c.stride + "</td><td>" + c.padding + "</td><td>" + c.output_padding + "</td><td>" + c.dilation +
        "</td></tr>");
    }
    html.push("</tbody></table>");
    wrap.innerHTML = rows.length ? html.join("") : "";
    more.hidden = shown >= rows.length;
    more.textContent = "Show more (" + shown + " of " + rows.length + " shown)";
  }

  // ------------------------------------------------------------------ public API and start

  window.transconvExplorer = {
    convTranspose2d: convTranspose2d,
    solve: solve,
    outputSize: outputSize,
    render: render,
    state: function () { return app ? JSON.parse(JSON.stringify(app.st)) : null; },
    set: function (changes) {
      if (!app) { return null; }
      for (var key in changes) { app.st[key] = changes[key]; }
      app.step = null;
      syncControls();
      return render();
    }
  };

  if (window.document$) {
    window.document$.subscribe(init);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
