// transconv explorer, part 3 of 3: the page. An interactive pair, ConvTranspose2d and Conv2d,
// each drawn three ways (scatter or gather, the window over the input, the matrix), the round
// trip between their sizes, and a shape solver, in plain JavaScript with no dependencies.
// Loaded on every page through extra_javascript after explorer-core.js (the arithmetic) and
// explorer-strings.js (every word it shows, in English and Chinese, picked by <html lang>); it
// only builds itself where the page holds #transconv-explorer, and re-initialises on
// Material's instant navigation (document$).
//
// Public API (tested against torch in tests/test_explorer*.py):
//   transconvExplorer.convTranspose2d(input, kernel, params) -> {shape, output} | {error}
//   transconvExplorer.conv2d(input, kernel, params) -> {shape, output} | {error}
//   transconvExplorer.solve(inputSize, targetSize) -> [{kernel_size, stride, padding,
//                                                     output_padding, dilation}, ...]
//   transconvExplorer.render() -> re-computes and re-draws the current state (timed by tests)
//   transconvExplorer.set({mode, n, k, s, p, op, d, ...}) -> sets the state and renders
(function () {
  "use strict";

  var core = window.transconvExplorerCore, TABLES = window.transconvExplorerStrings;
  var outputSize = core.outputSize, convOutputSize = core.convOutputSize;

  // ------------------------------------------------------------------ words

  var S = TABLES.en;   // the page's table, chosen in init

  // The string `key` of table `table` with {name} placeholders filled from vars; a function
  // entry (plurals) is called with vars.
  function say(table, key, vars) {
    var entry = table[key];
    if (entry === undefined) {
      console.error("transconv explorer: no string " + key);
      entry = TABLES.en[key] || key;
    }
    if (typeof entry === "function") { return entry(vars || {}); }
    return entry.replace(/\{(\w+)\}/g, function (m, name) {
      return vars && vars[name] !== undefined ? String(vars[name]) : m;
    });
  }

  function t(key, vars) { return say(S, key, vars); }

  function axisName(table, ax) { return say(table, ax === 0 ? "height" : "width"); }

  function paramName(table, name) {
    var label = table.paramNames[name];
    return label === undefined ? name : label;
  }

  // A refusal as one line: the rule, the axis and the nearest legal value
  function describeBroken(table, broken) {
    var vars = {};
    for (var key in broken.vars) { vars[key] = broken.vars[key]; }
    if (vars.name !== undefined) { vars.name = paramName(table, vars.name); }
    return say(table, "refusal", {rule: say(table, broken.rule, vars), axis: axisName(table, broken.axis),
      name: paramName(table, broken.name), nearest: broken.nearest});
  }

  function convTranspose2d(input, kernel, params) {
    return core.apply("transposed", input, kernel, params, function (b) { return describeBroken(TABLES.en, b); });
  }

  function conv2d(input, kernel, params) {
    var q = {};
    for (var key in params || {}) { if (key !== "output_padding") { q[key] = params[key]; } }
    return core.apply("conv", input, kernel, q, function (b) { return describeBroken(TABLES.en, b); });
  }

  // ------------------------------------------------------------------ state and URL

  var LIMITS = {n: [0, 32], k: [0, 128], s: [0, 64], p: [-1, 256], op: [-1, 127], d: [0, 128]};
  var PARAM_KEYS = ["n", "k", "s", "p", "op", "d"];
  var KEY_NAMES = {n: "input size", k: "kernel_size", s: "stride", p: "padding", op: "output_padding",
    d: "dilation"};
  var KEY_OF = {"input size": "n", kernel_size: "k", stride: "s", padding: "p", output_padding: "op",
    dilation: "d"};
  var DEFAULTS = {n: [2, 2], k: [2, 2], s: [1, 1], p: [0, 0], op: [0, 0], d: [1, 1]};
  var MAX_DRAWN = 250000;   // cells per drawn grid; bigger outputs show sizes only
  var MAX_MATRIX = 100;     // output (and input) pixels up to which the matrix is drawn
  var MAX_TABLE = 1024;     // output pixels up to which the value table is written

  function defaultState() {
    return {mode: "transposed", n: DEFAULTS.n.slice(), k: DEFAULTS.k.slice(), s: DEFAULTS.s.slice(),
      p: DEFAULTS.p.slice(), op: DEFAULTS.op.slice(), d: DEFAULTS.d.slice(),
      x: {src: "", values: null}, w: {src: "", values: null},
      colour: "values", step: null, solveN: 10, solveT: 320};
  }

  // mulberry32: a tiny seeded generator, so that "random" values are reproducible from the URL
  function seededRandom(seed) {
    var a = seed >>> 0;
    return function () {
      a = (a + 0x6D2B79F5) >>> 0;
      var r = a;
      r = Math.imul(r ^ (r >>> 15), r | 1);
      r ^= r + Math.imul(r ^ (r >>> 7), r | 61);
      return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
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

  // Custom values keep full precision in the URL (formatNumber rounds for display only)
  function valuesToQuery(values) {
    return values.map(function (r) { return r.map(String).join(","); }).join(";");
  }

  // "0 1\n2 3", "0,1;2,3" or "[[0, 1], [2, 3]]" -> [[0, 1], [2, 3]]; {error} on error.
  function parseValues(text) {
    var s = String(text).trim();
    if (s.charAt(0) === "[") {
      try { s = JSON.parse(s).map(function (r) { return r.join(" "); }).join("\n"); }
      catch (e) { return {error: t("valuesJson")}; }
    }
    var rows = s.split(/\s*[;\n]\s*/).filter(function (r) { return r.length > 0; });
    var values = rows.map(function (r) {
      return r.split(/[\s,]+/).filter(function (v) { return v.length > 0; }).map(Number);
    });
    if (values.length === 0) { return {error: t("valuesEmpty")}; }
    for (var i = 0; i < values.length; i++) {
      if (values[i].length !== values[0].length) {
        return {error: t("valuesRagged", {row: i + 1, count: values[i].length, first: values[0].length})};
      }
      for (var j = 0; j < values[i].length; j++) {
        if (!isFinite(values[i][j])) { return {error: t("valuesNaN", {row: i + 1})}; }
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
    if (q.get("mode") === "conv") { st.mode = "conv"; }
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
      if (Array.isArray(parsed)) {
        st[key] = {src: "custom", values: parsed};
        var size = key === "x" ? "n" : "k";
        st[size] = [Math.min(parsed.length, LIMITS[size][1]),
          Math.min(parsed[0].length, LIMITS[size][1])];
      }
    });
    if (q.get("colour") === "counts") { st.colour = "counts"; }
    if (q.has("step")) {
      var step = clampInt(q.get("step"), [0, 1 << 20]);
      if (step !== null) { st.step = step; }
    }
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
    if (st.mode === "conv") { parts.push("mode=conv"); }
    PARAM_KEYS.forEach(function (key) {
      var v = st[key];
      if (v[0] === DEFAULTS[key][0] && v[1] === DEFAULTS[key][1]) { return; }
      parts.push(key + "=" + (v[0] === v[1] ? v[0] : v[0] + "," + v[1]));
    });
    ["x", "w"].forEach(function (key) {
      var spec = st[key];
      if (spec.src === "") { return; }
      var v = spec.src === "custom" ? valuesToQuery(spec.values) : spec.src;
      parts.push(key + "=" + encodeURIComponent(v).replace(/%2C/g, ",").replace(/%3B/g, ";"));
    });
    if (st.colour !== "values") { parts.push("colour=" + st.colour); }
    if (st.step !== null) { parts.push("step=" + st.step); }
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
    // spec.key names everything the picture depends on: an unchanged grid is not redrawn
    if (spec.key !== undefined) {
      var key = [spec.key, rows, cols, cs, dpr, pal.bg.join(), JSON.stringify(spec.boxes || [])].join("|");
      if (canvas._tceKey === key) { return; }
      canvas._tceKey = key;
    } else {
      canvas._tceKey = undefined;
    }
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
        var small = [];  // labels too wide at this size get a second try at 10 px
        for (var y = 0; y < rows; y++) {
          for (var x = 0; x < cols; x++) {
            if (lightCell(4 * (y * cols + x)) !== light) { continue; }
            var label = spec.text(y, x);
            if (label === null || label === "") { continue; }
            if (!fits(label)) { small.push(label, x, y); continue; }
            ctx.fillText(label, x * cs + cs / 2, y * cs + cs / 2 + (withSub ? 2 : 0));
          }
        }
        if (small.length && size > 10) {
          ctx.font = "10px system-ui, sans-serif";
          for (var q = 0; q < small.length; q += 3) {
            if (ctx.measureText(small[q]).width <= cs - 2) {
              ctx.fillText(small[q], small[q + 1] * cs + cs / 2, small[q + 2] * cs + cs / 2 + (withSub ? 2 : 0));
            }
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

  function template() {
    var anim = function (cls, key) {
      return '<button type="button" class="md-button tce-' + cls + '" aria-label="' + t(key + "Aria") + '">' +
        t(key) + "</button>";
    };
    return [
      '<fieldset class="tce-mode"><legend>' + t("modeLegend") + "</legend>",
      '<label><input type="radio" name="tce-mode" value="transposed"> ' + t("modeTransposed") + "</label>",
      '<label><input type="radio" name="tce-mode" value="conv"> ' + t("modeConv") + "</label></fieldset>",
      '<form class="tce-controls" aria-label="' + t("settingsAria") + '" novalidate>',
      '<table class="tce-params"><thead><tr><th scope="col">' + t("perAxis") + "</th>",
      '<th scope="col">' + t("height") + '</th><th scope="col">' + t("width") + "</th></tr></thead>",
      "<tbody></tbody></table>",
      '<div class="tce-side">',
      '<div class="tce-presets"><label for="tce-factor">' + t("factorLabel") + "</label>",
      '<input id="tce-factor" class="tce-factor" type="number" min="1" max="32" value="2" ',
      'aria-describedby="tce-factor-help">',
      '<button type="button" class="md-button tce-apply-factor">' + t("factorApply") + "</button>",
      '<button type="button" class="md-button tce-reset">' + t("reset") + "</button></div>",
      '<p id="tce-factor-help" class="tce-help">' + t("factorHelp") + "</p>",
      '<div class="tce-values">',
      "<label>" + t("inputValues") + '<textarea class="tce-x" rows="3" spellcheck="false" ',
      'aria-describedby="tce-values-help"></textarea></label>',
      "<label>" + t("kernelValues") + '<textarea class="tce-w" rows="3" spellcheck="false" ',
      'aria-describedby="tce-values-help"></textarea></label></div>',
      '<p id="tce-values-help" class="tce-help">' + t("valuesHelp") + "</p>",
      '<div class="tce-buttons"><button type="button" class="md-button tce-random">' + t("randomValues") + "</button>",
      '<button type="button" class="md-button tce-default-values">' + t("defaultValues") + "</button></div>",
      '<p class="tce-msg" role="status" aria-live="polite"></p>',
      "</div></form>",
      '<div class="tce-formula" aria-live="polite"></div>',
      '<div class="tce-error admonition failure" role="alert" hidden></div>',
      '<div class="tce-result">',
      '<div class="tce-anim" role="group" aria-label="' + t("animAria") + '">',
      anim("first", "animFirst"), anim("prev", "animPrev"), anim("play", "animPlay"),
      anim("next", "animNext"), anim("last", "animLast"),
      '<span class="tce-step" aria-live="polite"></span></div>',
      '<section class="tce-sec-scatter">',
      '<h2 id="scatter">' + t("scatterHeading") + "</h2>",
      '<p class="tce-caption tce-scatter-text"></p>',
      '<fieldset class="tce-colour"><legend>' + t("colourLegend") + "</legend>",
      '<label><input type="radio" name="tce-colour" value="values" checked> ' + t("colourValues") + "</label>",
      '<label><input type="radio" name="tce-colour" value="counts"> ' + t("colourCounts") + "</label></fieldset>",
      '<div class="tce-anim-slot"></div>',
      '<div class="tce-row">',
      '<figure><canvas class="tce-c-input" tabindex="0" role="img"></canvas><figcaption>' + t("figInput") +
      "</figcaption></figure>",
      '<figure><canvas class="tce-c-kernel" role="img"></canvas><figcaption>' + t("figKernel") + "</figcaption></figure>",
      '<figure class="tce-wide"><canvas class="tce-c-scatter" tabindex="0" role="img"></canvas>',
      '<figcaption class="tce-scatter-caption"></figcaption></figure></div></section>',
      '<section class="tce-sec-gather">',
      '<h2 id="gather">' + t("gatherHeading") + "</h2>",
      '<p class="tce-caption tce-gather-caption"></p>',
      '<div class="tce-anim-slot"></div>',
      '<div class="tce-row">',
      '<figure class="tce-wide"><canvas class="tce-c-zeros" role="img"></canvas>',
      '<figcaption class="tce-zeros-caption"></figcaption></figure>',
      '<figure><canvas class="tce-c-flipped" role="img"></canvas><figcaption class="tce-flipped-caption">' +
      "</figcaption></figure>",
      '<figure class="tce-wide"><canvas class="tce-c-output" tabindex="0" role="img"></canvas>',
      "<figcaption>" + t("figOutput") + "</figcaption></figure></div></section>",
      '<h2 id="matrix">' + t("matrixHeading") + "</h2>",
      '<p class="tce-caption tce-matrix-caption"></p>',
      '<div class="tce-row"><figure class="tce-wide"><canvas class="tce-c-matrix" tabindex="0" role="img"></canvas>',
      "</figure></div>",
      '<p class="tce-hover" aria-live="polite"></p>',
      '<details class="tce-table-box"><summary>' + t("tableSummary") + "</summary>",
      '<div class="tce-table-wrap"></div></details>',
      '<h2 id="round-trip">' + t("roundTripHeading") + "</h2>",
      '<div class="tce-roundtrip"></div>',
      "</div>",
      '<h2 id="pytorch">' + t("pytorchHeading") + "</h2>",
      '<p><button type="button" class="md-button md-button--primary tce-copy">' + t("copy") + "</button> ",
      '<span class="tce-copied" role="status" aria-live="polite"></span></p>',
      '<pre class="tce-code"><code></code></pre>',
      '<h2 id="solver">' + t("solverHeading") + "</h2>",
      "<p>" + t("solverIntro") + "</p>",
      '<form class="tce-solver-form" aria-label="' + t("solverAria") + '" novalidate>',
      "<label>" + t("solveN") + ' <input class="tce-solve-n" type="number" min="1" max="4096"></label>',
      "<label>" + t("solveT") + ' <input class="tce-solve-t" type="number" min="1" max="65536"></label>',
      "<label>" + t("solveFilter") + ' <select class="tce-solve-filter">',
      '<option value="all">' + t("filterAll") + "</option>",
      '<option value="even">' + t("filterEven") + "</option>",
      '<option value="uneven">' + t("filterUneven") + "</option></select></label>",
      "</form>",
      '<p class="tce-solve-summary" aria-live="polite"></p>',
      '<div class="tce-solve-wrap"></div>',
      '<p><button type="button" class="md-button tce-solve-more"></button></p>'
    ].join("");
  }

  function buildParamRows(root) {
    var body = root.querySelector(".tce-params tbody");
    PARAM_KEYS.forEach(function (key) {
      var label = paramName(S, KEY_NAMES[key]);
      var tr = el("tr", {"class": "tce-row-" + key}, [el("th", {scope: "row", text: label})]);
      for (var ax = 0; ax < 2; ax++) {
        tr.appendChild(el("td", {}, [el("input", {
          type: "number", step: "1", min: String(LIMITS[key][0]), max: String(LIMITS[key][1]),
          "class": "tce-in", "data-key": key, "data-axis": String(ax),
          "aria-label": label + " (" + axisName(S, ax) + ")"
        })]));
      }
      body.appendChild(tr);
    });
  }

  function init() {
    stopPlaying();
    var root = document.getElementById("transconv-explorer");
    if (!root) { app = null; return; }
    S = /^zh/i.test(document.documentElement.lang || "") ? TABLES.zh : TABLES.en;
    root.innerHTML = template();
    buildParamRows(root);
    app = {root: root, st: readQuery(location.search), hover: null, shown: 24, filter: "all",
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

  function setMessage(text) { put(app.q(".tce-msg"), "textContent", text); }

  // Every change of setting goes through here: it clears a stale message about typed values
  // and the animation step, shows the values in the controls and redraws.
  function changed() {
    setMessage("");
    app.st.step = null;
    syncControls();
    return render();
  }

  function wire(a) {
    a.root.querySelectorAll(".tce-in").forEach(function (input) {
      input.addEventListener("input", function () {
        var v = clampInt(input.value, LIMITS[input.dataset.key]);
        if (v === null || input.value === "") { return; }
        a.st[input.dataset.key][Number(input.dataset.axis)] = v;
        setMessage("");
        a.st.step = null;
        render();
      });
      input.addEventListener("change", syncControls);  // show the value actually used
    });
    a.root.querySelectorAll('input[name="tce-mode"]').forEach(function (radio) {
      radio.addEventListener("change", function () { a.st.mode = radio.value; a.hover = null; changed(); });
    });
    ["x", "w"].forEach(function (which) {
      var area = a.q(".tce-" + which);
      area.addEventListener("change", function () {
        var parsed = parseValues(area.value);
        var name = t(which === "x" ? "inputValues" : "kernelValues");
        if (!Array.isArray(parsed)) { setMessage(t("valuesError", {name: name, error: parsed.error})); return; }
        var size = which === "x" ? "n" : "k";
        if (parsed.length > LIMITS[size][1] || parsed[0].length > LIMITS[size][1]) {
          setMessage(t("valuesError", {name: name, error: t("valuesTooMany", {max: LIMITS[size][1]})}));
          return;
        }
        a.st[which] = {src: "custom", values: parsed};
        a.st[size] = [parsed.length, parsed[0].length];
        changed();
      });
    });
    a.q(".tce-random").addEventListener("click", function () {
      var seed = Math.floor(Math.random() * 1e6);
      a.st.x = {src: "r" + seed, values: null};
      a.st.w = {src: "r" + (seed + 1), values: null};
      changed();
    });
    a.q(".tce-default-values").addEventListener("click", function () {
      a.st.x = {src: "", values: null};
      a.st.w = {src: "", values: null};
      changed();
    });
    a.q(".tce-apply-factor").addEventListener("click", function () { applyFactor(); });
    a.q(".tce-factor").addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); applyFactor(); }
    });
    a.q(".tce-reset").addEventListener("click", function () {
      var keep = {mode: a.st.mode, solveN: a.st.solveN, solveT: a.st.solveT};
      a.st = defaultState();
      a.st.mode = keep.mode; a.st.solveN = keep.solveN; a.st.solveT = keep.solveT;
      a.hover = null;
      changed();
    });
    a.root.querySelectorAll('input[name="tce-colour"]').forEach(function (radio) {
      radio.addEventListener("change", function () { a.st.colour = radio.value; render(); });
    });
    a.root.querySelector(".tce-controls").addEventListener("submit", function (e) { e.preventDefault(); });
    a.root.querySelector(".tce-solver-form").addEventListener("submit", function (e) { e.preventDefault(); });
    wireAnimation(a);
    wireHover(a);
    a.q(".tce-copy").addEventListener("click", copyCode);
    a.q(".tce-roundtrip").addEventListener("click", function (e) {
      var button = e.target.closest("button[data-carry]");
      if (button) { carry(button.dataset.carry, button.dataset); }
    });
    wireSolver(a);
  }

  function wireSolver(a) {
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
    a.q(".tce-solve-filter").addEventListener("change", function (e) {
      a.filter = e.target.value;
      a.shown = 24;
      renderSolver();
    });
    a.q(".tce-solve-more").addEventListener("click", function () { a.shown += 96; renderSolver(); });
    a.q(".tce-solve-wrap").addEventListener("click", function (e) {
      var button = e.target.closest("button[data-row]");
      if (!button) { return; }
      var c = app.solverRows[Number(button.dataset.row)], st = app.st;
      st.mode = "transposed";
      st.n = [st.solveN, st.solveN]; st.k = [c.kernel_size, c.kernel_size]; st.s = [c.stride, c.stride];
      st.p = [c.padding, c.padding]; st.op = [c.output_padding, c.output_padding];
      st.d = [c.dilation, c.dilation];
      changed();
      app.q(".tce-formula").scrollIntoView({block: "nearest"});
    });
  }

  function applyFactor() {
    var f = clampInt(app.q(".tce-factor").value, [1, 32]);
    if (f === null) { return; }
    // transconv.shapes.upsampling_params: output = input * f for every input size (and the
    // Conv2d with the same k, s, p maps n to floor(n / f))
    app.st.k = [2 * f - f % 2, 2 * f - f % 2]; app.st.s = [f, f];
    app.st.p = [Math.floor(f / 2), Math.floor(f / 2)]; app.st.op = [0, 0]; app.st.d = [1, 1];
    changed();
  }

  // Carry the setting to the other layer of the pair: the Conv2d's output size becomes the
  // ConvTranspose2d's input size (with the output_padding that returns the Conv2d's input
  // size, or the one the reader picked), or the ConvTranspose2d's output becomes the Conv2d's
  // input. Kernel values travel; input values restart (the input's size changes).
  function carry(to, data) {
    var st = app.st, sizes = app.sizes;
    if (to === "transposed") {
      var n = st.n.slice();
      if (data.axis !== undefined) { n[Number(data.axis)] = Number(data.size); }
      for (var ax = 0; ax < 2; ax++) {
        st.op[ax] = n[ax] - outputSize(sizes[ax], st.k[ax], st.s[ax], st.p[ax], 0, st.d[ax]);
      }
      st.n = sizes.slice();
    } else {
      st.n = sizes.slice();
    }
    st.mode = to;
    if (!/^r\d+$/.test(st.x.src)) { st.x = {src: "", values: null}; }
    app.hover = null;
    changed();
    app.q(".tce-formula").scrollIntoView({block: "nearest"});
  }

  function syncControls() {
    var st = app.st;
    app.root.querySelectorAll(".tce-in").forEach(function (input) {
      input.value = st[input.dataset.key][Number(input.dataset.axis)];
    });
    app.root.querySelectorAll('input[name="tce-colour"]').forEach(function (r) {
      r.checked = r.value === st.colour;
    });
    app.root.querySelectorAll('input[name="tce-mode"]').forEach(function (r) {
      r.checked = r.value === st.mode;
    });
    app.q(".tce-row-op").hidden = st.mode === "conv";
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

  function isConv() { return app.st.mode === "conv"; }

  function sizesOf(st) {
    var out = [];
    for (var ax = 0; ax < 2; ax++) {
      var n = st.n[ax], k = st.k[ax], s = st.s[ax], p = st.p[ax], d = st.d[ax];
      out.push(st.mode === "conv" ? convOutputSize(n, k, s, p, d) : outputSize(n, k, s, p, st.op[ax], d));
    }
    return out;
  }

  function current() {
    var st = app.st;
    var x = materialise(st.x, Math.max(st.n[0], 0), Math.max(st.n[1], 0));
    var w = materialise(st.w, Math.max(st.k[0], 0), Math.max(st.k[1], 0));
    st.x.values = x; st.w.values = w;
    return {x: x, w: w, broken: core.checkSetting(st.mode, st.n, st.k, st.s, st.p, st.op, st.d)};
  }

  // The number of animation steps: input pixels stamped (transposed), output pixels computed (conv)
  function totalSteps() {
    return isConv() ? app.sizes[0] * app.sizes[1] : app.st.n[0] * app.st.n[1];
  }

  function render() {
    if (!app) { return null; }
    var st = app.st, cur = current(), conv = isConv();
    app.cur = cur;
    app.sizes = sizesOf(st);
    app.text = {};
    ["x", "w"].forEach(function (which) {
      var area = app.q(".tce-" + which);
      var text = valuesToText(cur[which], "\n", " ");
      app.text[which] = valuesToQuery(cur[which]);  // full precision: the key of the drawn grids
      if (document.activeElement !== area && area.value !== text) { area.value = text; }
      var lines = Math.min(8, Math.max(2, cur[which].length));
      if (area.rows !== lines) { area.rows = lines; }
    });
    renderFormula(cur.broken);
    var errorBox = app.q(".tce-error"), result = app.q(".tce-result");
    if (cur.broken) {
      showError(errorBox, cur.broken);
      result.hidden = true;
      put(app.q(".tce-code code"), "textContent", t("codeRefused", {rule: describeBroken(S, cur.broken)}));
      writeUrl();
      return null;
    }
    errorBox.hidden = true;
    result.hidden = false;
    if (st.step !== null && st.step >= totalSteps()) { st.step = null; }
    var n = st.n, k = st.k, s = st.s, p = st.p, op = st.op, d = st.d, area = [];
    for (var ax = 0; ax < 2; ax++) {  // the biggest grid drawn: full output or padded input
      area.push(conv ? n[ax] + 2 * p[ax] :
        Math.max(app.sizes[ax] + p[ax], (n[ax] - 1) * s[ax] + d[ax] * (k[ax] - 1) + 1));
    }
    app.big = area[0] * area[1] > MAX_DRAWN || app.sizes[0] * app.sizes[1] > MAX_DRAWN;
    var full;
    if (app.big) { full = {H: app.sizes[0], W: app.sizes[1], out: null}; }
    else if (conv) { full = core.gather(cur.x, cur.w, n, k, s, p, d); }
    else { full = core.scatter(cur.x, cur.w, n, k, s, p, op, d); }
    app.full = full;
    placeAnimation(conv);
    drawAll();
    renderTable(full);
    renderCode(cur, full);
    renderRoundTrip();
    writeUrl();
    return {shape: [full.H, full.W]};
  }

  function renderFormula(broken) {
    var st = app.st, html = [], conv = isConv(), v = function (name) { return "<var>" + name + "</var>"; };
    for (var ax = 0; ax < 2; ax++) {
      var n = st.n[ax], k = st.k[ax], s = st.s[ax], p = st.p[ax], op = st.op[ax], d = st.d[ax];
      var sym = ax === 0 ? "H" : "W", out = app.sizes[ax], line;
      if (conv) {
        line = v(sym) + "<sub>out</sub> = ⌊(" + v(sym) + "<sub>in</sub> + 2" + v("p") + " − " + v("d") + "·(" +
          v("k") + " − 1) − 1) / " + v("s") + "⌋ + 1 = ⌊(" + n + " + 2·" + p + " − " + d + "·(" + k +
          " − 1) − 1) / " + s + "⌋ + 1";
      } else {
        line = v(sym) + "<sub>out</sub> = (" + v(sym) + "<sub>in</sub> − 1)·" + v("s") + " − 2" + v("p") + " + " +
          v("d") + "·(" + v("k") + " − 1) + " + v("output_padding") + " + 1 = (" + n + " − 1)·" + s + " − 2·" + p +
          " + " + d + "·(" + k + " − 1) + " + op + " + 1";
      }
      html.push('<p class="tce-eq"><span class="tce-axis">' + axisName(S, ax) + "</span> " + line +
        ' = <strong class="tce-out-' + (ax === 0 ? "height" : "width") + '">' + out + "</strong></p>");
    }
    if (!broken) {
      html.push('<p class="tce-shape-line">' + t(conv ? "shapeLineConv" : "shapeLineTransposed", {
        input: st.n[0] + " × " + st.n[1],
        output: '<output class="tce-shape">' + app.sizes[0] + " × " + app.sizes[1] + "</output>"}) + "</p>");
    }
    put(app.q(".tce-formula"), "innerHTML", html.join(""));
  }

  function codeHtml(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/`([^`]+)`/g, "<code>$1</code>");
  }

  function showError(box, broken) {
    box.hidden = false;
    box.innerHTML = "";
    var vars = {};
    for (var key in broken.vars) { vars[key] = broken.vars[key]; }
    if (vars.name !== undefined) { vars.name = paramName(S, vars.name); }
    box.appendChild(el("p", {"class": "admonition-title", text: t(isConv() ? "refusedConv" : "refusedTransposed")}));
    box.appendChild(el("p", {"class": "tce-rule", html: codeHtml(t(broken.rule, vars)) + t("axisSuffix", {axis: axisName(S, broken.axis)})}));
    if (broken.rule === "ruleOutputPadding") {
      box.appendChild(el("p", {"class": "tce-why", html: codeHtml(t("outputPaddingWhy"))}));
    }
    var fix = el("button", {type: "button", "class": "md-button tce-fix", text: t("fixButton", {
      name: paramName(S, broken.name), nearest: broken.nearest, axis: axisName(S, broken.axis)})});
    fix.addEventListener("click", function () {
      var key = KEY_OF[broken.name];
      app.st[key][broken.axis] = clampInt(broken.nearest, LIMITS[key]);
      changed();
    });
    box.appendChild(el("p", {}, [fix]));
  }

  // Which (input, tap) pairs make output pixel (y, x). Transposed: per axis, the i with
  // i*s + a*d - p = y for some tap a. Conv: the taps a whose input i = y*s - p + a*d exists.
  function sources(y, x) {
    var st = app.st, per = [], conv = isConv();
    for (var ax = 0; ax < 2; ax++) {
      var list = [], pos = ax === 0 ? y : x, s = st.s[ax], p = st.p[ax], d = st.d[ax], n = st.n[ax];
      for (var a = 0; a < st.k[ax]; a++) {
        if (conv) {
          var i = pos * s - p + a * d;
          if (i >= 0 && i < n) { list.push([i, a]); }
          continue;
        }
        var num = pos + p - a * d;
        if (num >= 0 && num % s === 0 && num / s < n) { list.push([num / s, a]); }
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

  // The animation controls sit in the section they animate: scatter (stamps) or gather (windows)
  function placeAnimation(conv) {
    var slot = app.root.querySelectorAll(".tce-anim-slot")[conv ? 1 : 0], anim = app.q(".tce-anim");
    if (anim.parentNode !== slot) { slot.appendChild(anim); }
    app.q(".tce-sec-scatter").hidden = conv;
    put(app.q(".tce-zeros-caption"), "textContent", t(conv ? "figPadded" : "figZeros"));
    put(app.q(".tce-flipped-caption"), "textContent", t(conv ? "figKernel" : "figFlipped"));
  }

  function drawAll() {
    var st = app.st, pal = app.pal, full = app.full, conv = isConv();
    var avail = Math.max(200, app.width - 8);
    var hov = app.hover, src = hov && hov.kind === "out" ? sources(hov.y, hov.x) : [];
    var steps = st.step === null ? totalSteps() : st.step;
    app.cs = {};
    if (app.big) {
      app.matrix = null;
      ["input", "kernel", "scatter", "zeros", "flipped", "output", "matrix"].forEach(function (c) {
        app.q(".tce-c-" + c).hidden = true;
      });
      put(app.q(".tce-scatter-caption"), "textContent", t("tooBig", {size: full.H + " × " + full.W}));
      put(app.q(".tce-gather-caption"), "textContent", t("tooBig", {size: full.H + " × " + full.W}));
      put(app.q(".tce-matrix-caption"), "textContent", "");
      renderAnimLabel(steps);
      renderHoverText([]);
      return;
    }
    ["input", "kernel", "scatter", "zeros", "flipped", "output"].forEach(function (c) { app.q(".tce-c-" + c).hidden = false; });
    if (conv) {
      drawGatherConv(pal, avail, src, steps);
    } else {
      var stamp = st.step !== null && st.step > 0 ?
        {i: Math.floor((st.step - 1) / st.n[1]), j: (st.step - 1) % st.n[1]} : null;
      var hovIn = hov && hov.kind === "in" ? hov : null;
      drawInputs(pal, avail, src, stamp, hovIn);
      drawScatter(pal, avail, stamp, hovIn, full, steps);
      drawGather(pal, avail, src);
    }
    drawMatrix(pal, avail, src, hov && hov.kind === "in" ? hov : null);
    renderAnimLabel(steps);
    renderHoverText(src);
  }

  function drawInputs(pal, avail, src, stamp, hovIn) {
    var st = app.st, cur = app.cur, n = st.n, k = st.k;
    var xFill = valueFill(pal, maxAbsOf(flat(cur.x))), wFill = valueFill(pal, maxAbsOf(flat(cur.w)));
    var csIn = cellSize(Math.max(n[1], k[1]), Math.min(avail / 3, 200), 36);
    var inBoxes = src.map(function (c) { return {y: c.i, x: c.j, colour: pal.hover, width: 3}; });
    if (stamp) { inBoxes.push({y: stamp.i, x: stamp.j, colour: pal.stamp, width: 3}); }
    if (hovIn) { inBoxes.push({y: hovIn.i, x: hovIn.j, colour: pal.hover, width: 3}); }
    app.cs.input = csIn;
    drawGrid(app.q(".tce-c-input"), {rows: n[0], cols: n[1], cs: csIn, boxes: inBoxes, key: app.text.x,
      fill: function (y, x) { return xFill(cur.x[y][x]); }, text: function (y, x) { return formatNumber(cur.x[y][x]); }}, pal);
    drawGrid(app.q(".tce-c-kernel"), {rows: k[0], cols: k[1], cs: csIn, key: app.text.w,
      boxes: src.map(function (c) { return {y: c.a, x: c.b, colour: pal.hover, width: 3}; }),
      fill: function (y, x) { return wFill(cur.w[y][x]); }, text: function (y, x) { return formatNumber(cur.w[y][x]); }}, pal);
    describeCanvas(".tce-c-input", t("ariaInput", {rows: n[0], cols: n[1]}));
    describeCanvas(".tce-c-kernel", t("ariaKernel", {rows: k[0], cols: k[1]}));
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

  // What padding and output_padding do to one axis of the full output, for this setting: padding
  // crops p from each end; output_padding op gives back op at the end, which are the full
  // output's own (cropped) rows while op <= p and rows of zeros past it beyond that.
  function cropSentence(ax) {
    var st = app.st, p = st.p[ax], op = st.op[ax];
    var vars = {axis: axisName(S, ax), p: p, op: op, rest: p - op, extra: op - p,
      unit: t(ax === 0 ? "unitRow" : "unitColumn"), start: t(ax === 0 ? "top" : "left"),
      end: t(ax === 0 ? "bottom" : "right")};
    if (p === 0 && op === 0) { return t("cropNone", vars); }
    if (op === 0) { return t("cropBoth", vars); }
    if (op <= p) { return t("cropKeep", vars); }
    return t(p === 0 ? "cropAddOnly" : "cropAdd", vars);
  }

  function drawScatter(pal, avail, stamp, hovIn, part, steps) {
    var st = app.st, n = st.n, k = st.k, s = st.s, p = st.p, d = st.d, H = part.H, W = part.W;
    var fullH = (n[0] - 1) * s[0] + d[0] * (k[0] - 1) + 1, fullW = (n[1] - 1) * s[1] + d[1] * (k[1] - 1) + 1;
    var rows = Math.max(fullH, p[0] + H), cols = Math.max(fullW, p[1] + W);
    var cs = cellSize(cols, avail, 44);
    app.cs.scatter = cs;
    put(app.q(".tce-scatter-text"), "textContent", [t("scatterCaption"), cropSentence(0), cropSentence(1),
      t("hoverKeys")].join(t("sentenceSeparator")));
    put(app.q(".tce-scatter-caption"), "textContent", t("figFullOutput", {full: rows + " × " + cols, out: H + " × " + W}));
    // values on the full canvas, including the cropped border
    var canvasVals = new Float64Array(rows * cols), canvasCount = new Int32Array(rows * cols), cur = app.cur;
    for (var q = 0; q < steps; q++) {
      var i = Math.floor(q / n[1]), j = q % n[1];
      for (var a = 0; a < k[0]; a++) {
        for (var b = 0; b < k[1]; b++) {
          var o = (i * s[0] + a * d[0]) * cols + j * s[1] + b * d[1];
          canvasVals[o] += cur.x[i][j] * cur.w[a][b];
          canvasCount[o] += 1;
        }
      }
    }
    var counts = st.colour === "counts", maxCount = 0;
    for (q = 0; q < canvasCount.length; q++) { if (canvasCount[q] > maxCount) { maxCount = canvasCount[q]; } }
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
    describeCanvas(".tce-c-scatter", t("ariaScatter", {rows: rows, cols: cols, H: H, W: W}));
  }

  function drawOutput(pal, avail, shown) {
    var full = app.full, hov = app.hover, csO = cellSize(full.W, avail, 36);
    app.cs.output = csO;
    var oFill = valueFill(pal, maxAbsOf(full.out));
    drawGrid(app.q(".tce-c-output"), {rows: full.H, cols: full.W, cs: csO,
      boxes: hov && hov.kind === "out" ? [{y: hov.y, x: hov.x, colour: pal.hover, width: 3}] : [],
      fill: function (y, x) { return y * full.W + x < shown ? oFill(full.out[y * full.W + x]) : pal.faint; },
      text: function (y, x) { return y * full.W + x < shown ? formatNumber(full.out[y * full.W + x]) : ""; }}, pal);
    describeCanvas(".tce-c-output", t("ariaOutput", {rows: full.H, cols: full.W}));
  }

  function drawKernel(pal, avail, src, flipped) {
    var k = app.st.k, cur = app.cur, wFill = valueFill(pal, maxAbsOf(flat(cur.w)));
    var csK = cellSize(k[1], Math.min(avail / 3, 200), 36);
    var at = function (y, x) { return flipped ? cur.w[k[0] - 1 - y][k[1] - 1 - x] : cur.w[y][x]; };
    drawGrid(app.q(".tce-c-flipped"), {rows: k[0], cols: k[1], cs: csK, key: (flipped ? "f" : "k") + app.text.w,
      boxes: src.map(function (q) {
        return flipped ? {y: k[0] - 1 - q.a, x: k[1] - 1 - q.b, colour: app.pal.hover, width: 3} :
          {y: q.a, x: q.b, colour: app.pal.hover, width: 3};
      }),
      fill: function (y, x) { return wFill(at(y, x)); },
      text: function (y, x) { return formatNumber(at(y, x)); }}, pal);
    describeCanvas(".tce-c-flipped", t(flipped ? "figFlipped" : "figKernel"));
  }

  function drawGather(pal, avail, src) {
    var st = app.st, n = st.n, k = st.k, s = st.s, p = st.p, op = st.op, d = st.d, cur = app.cur;
    var e = [d[0] * (k[0] - 1) - p[0], d[1] * (k[1] - 1) - p[1]];
    var Hz = (n[0] - 1) * s[0] + 1 + 2 * e[0] + op[0], Wz = (n[1] - 1) * s[1] + 1 + 2 * e[1] + op[1];
    put(app.q(".tce-gather-caption"), "textContent", t("gatherCaption", {sh: s[0] - 1, sw: s[1] - 1, eh: e[0], ew: e[1]}));
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
    drawKernel(pal, avail, src, true);
    drawOutput(pal, avail, Infinity);
    describeCanvas(".tce-c-zeros", t("ariaZeros", {rows: Hz, cols: Wz}));
  }

  // Conv2d: the window (taps d apart) at output pixel (y, x) covers padded-input rows y*s + a*d
  // (a < k) and columns x*s + b*d; the animation computes output pixels row by row.
  function drawGatherConv(pal, avail, src, steps) {
    var st = app.st, n = st.n, k = st.k, s = st.s, p = st.p, d = st.d, cur = app.cur, full = app.full;
    var Hp = n[0] + 2 * p[0], Wp = n[1] + 2 * p[1];
    put(app.q(".tce-gather-caption"), "textContent", t("gatherCaptionConv", {ph: p[0], pw: p[1],
      dh: d[0], dw: d[1], sh: s[0], sw: s[1]}));
    var hov = app.hover, at = null;
    if (hov && hov.kind === "out") { at = {y: hov.y, x: hov.x, colour: pal.hover}; }
    else if (st.step !== null && st.step > 0) {
      at = {y: Math.floor((st.step - 1) / full.W), x: (st.step - 1) % full.W, colour: pal.stamp};
    }
    var boxes = [];
    if (at) {
      boxes.push({y: at.y * s[0], x: at.x * s[1], h: d[0] * (k[0] - 1) + 1, w: d[1] * (k[1] - 1) + 1,
        colour: at.colour, width: 1, dash: [3, 2]});
      for (var a = 0; a < k[0]; a++) {
        for (var b = 0; b < k[1]; b++) {
          boxes.push({y: at.y * s[0] + a * d[0], x: at.x * s[1] + b * d[1], colour: at.colour, width: 2});
        }
      }
    }
    var xFill = valueFill(pal, maxAbsOf(flat(cur.x))), csP = cellSize(Wp, avail, 36);
    var real = function (y, x) { return y >= p[0] && y < p[0] + n[0] && x >= p[1] && x < p[1] + n[1]; };
    app.cs.zeros = csP;
    drawGrid(app.q(".tce-c-zeros"), {rows: Hp, cols: Wp, cs: csP, boxes: boxes,
      fill: function (y, x) { return real(y, x) ? xFill(cur.x[y - p[0]][x - p[1]]) : pal.faint; },
      text: function (y, x) { return real(y, x) ? formatNumber(cur.x[y - p[0]][x - p[1]]) : ""; }}, pal);
    describeCanvas(".tce-c-zeros", t("ariaPadded", {rows: Hp, cols: Wp}));
    drawKernel(pal, avail, src, false);
    drawOutput(pal, avail, steps);
  }

  // The matrix of the pair, numbered the same in both modes: C (Conv2d) has one row per output
  // pixel and one column per input pixel, both row by row; the transposed mode draws Cᵀ for the
  // Conv2d whose input is this layer's output, so its rows are this layer's output pixels.
  function drawMatrix(pal, avail, src, hovIn) {
    var st = app.st, n = st.n, k = st.k, s = st.s, p = st.p, d = st.d, full = app.full, cur = app.cur;
    var rows = full.H * full.W, cols = n[0] * n[1], canvas = app.q(".tce-c-matrix"), conv = isConv();
    var caption = app.q(".tce-matrix-caption");
    if (rows > MAX_MATRIX || cols > MAX_MATRIX) {
      canvas.hidden = true;
      app.matrix = null;
      put(caption, "textContent", t(conv ? "matrixTooBigConv" : "matrixTooBig", {max: MAX_MATRIX, rows: rows, cols: cols}));
      app.cs.matrix = 0;
      return;
    }
    canvas.hidden = false;
    put(caption, "textContent", t(conv ? "matrixCaptionConv" : "matrixCaption", {rows: rows, cols: cols}));
    var m = new Float64Array(rows * cols), used = new Uint8Array(rows * cols);
    for (var i = 0; i < n[0]; i++) {
      for (var j = 0; j < n[1]; j++) {
        for (var a = 0; a < k[0]; a++) {
          // transposed: input i writes output i*s + a*d - p; conv: output y reads input y*s - p + a*d
          var yy = conv ? (i + p[0] - a * d[0]) / s[0] : i * s[0] + a * d[0] - p[0];
          if (!(Number.isInteger(yy) && yy >= 0 && yy < full.H)) { continue; }
          for (var b = 0; b < k[1]; b++) {
            var xx = conv ? (j + p[1] - b * d[1]) / s[1] : j * s[1] + b * d[1] - p[1];
            if (!(Number.isInteger(xx) && xx >= 0 && xx < full.W)) { continue; }
            m[(yy * full.W + xx) * cols + i * n[1] + j] = cur.w[a][b];
            used[(yy * full.W + xx) * cols + i * n[1] + j] = 1;
          }
        }
      }
    }
    app.matrix = {rows: rows, cols: cols, values: m};
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
    describeCanvas(".tce-c-matrix", t(conv ? "ariaMatrixConv" : "ariaMatrix", {rows: rows, cols: cols}));
  }

  function renderHoverText(src) {
    var hov = app.hover, box = app.q(".tce-hover"), cur = app.cur, full = app.full;
    if (!hov || !full.out) { put(box, "textContent", t("hoverNone")); return; }
    if (hov.kind === "in") {
      put(box, "textContent", t("hoverInput", {i: hov.i, j: hov.j, v: formatNumber(cur.x[hov.i][hov.j]),
        row: hov.i * app.st.s[0], col: hov.j * app.st.s[1]}));
      return;
    }
    var terms = src.map(function (q) {
      return "x[" + q.i + "," + q.j + "]·w[" + q.a + "," + q.b + "] = " + formatNumber(cur.x[q.i][q.j]) + "·" + formatNumber(cur.w[q.a][q.b]);
    });
    var vars = {y: hov.y, x: hov.x, v: formatNumber(full.out[hov.y * full.W + hov.x]), terms: terms.join(" + "),
      count: src.length, taps: app.st.k[0] * app.st.k[1]};
    if (isConv()) {
      put(box, "textContent", t(terms.length ? "hoverConv" : "hoverConvNone", vars));
    } else {
      put(box, "textContent", t(terms.length ? "hoverOutput" : "hoverOutputNone", vars));
    }
  }

  function renderTable(full) {
    var wrap = app.q(".tce-table-wrap");
    if (!full.out || full.H * full.W > MAX_TABLE) {
      put(wrap, "innerHTML", "<p>" + t("tableTooBig", {max: MAX_TABLE}) + "</p>");
      return;
    }
    var html = ['<table class="tce-output"><caption>' + t("tableCaption", {size: full.H + " × " + full.W}) +
      '</caption><thead><tr><th scope="col">' + t("tableRow") + "</th>"];
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
    var layer = isConv() ? [
      "layer = nn.Conv2d(",
      "    1, 1, kernel_size=" + pair(st.k) + ", stride=" + pair(st.s) + ", padding=" + pair(st.p) + ",",
      "    dilation=" + pair(st.d) + ", bias=False, dtype=torch.float64,",
      ")"
    ] : [
      "layer = nn.ConvTranspose2d(",
      "    1, 1, kernel_size=" + pair(st.k) + ", stride=" + pair(st.s) + ", padding=" + pair(st.p) + ",",
      "    output_padding=" + pair(st.op) + ", dilation=" + pair(st.d) + ", bias=False, dtype=torch.float64,",
      ")"
    ];
    var lines = [
      "import torch",
      "from torch import nn",
      "",
      "x = torch.tensor(" + pyTensor(cur.x) + ", dtype=torch.float64).reshape(1, 1, " + st.n[0] + ", " + st.n[1] + ")"
    ].concat(layer, [
      "w = torch.tensor(" + pyTensor(cur.w) + ", dtype=torch.float64)",
      "with torch.no_grad():",
      "    layer.weight.copy_(w.reshape(1, 1, " + st.k[0] + ", " + st.k[1] + "))",
      "y = layer(x)",
      "print(y.shape)  # torch.Size([1, 1, " + full.H + ", " + full.W + "])"
    ]);
    if (full.out && full.H * full.W <= MAX_TABLE) {
      lines.push("expected = torch.tensor(" + pyTensor(core.toRows(full.out, full.H, full.W)) + ", dtype=torch.float64)");
      lines.push("torch.testing.assert_close(y[0, 0].detach(), expected)  # " + t("codeComment"));
    }
    put(app.q(".tce-code code"), "textContent", lines.join("\n"));
  }

  function copyCode() {
    var text = app.q(".tce-code code").textContent, status = app.q(".tce-copied");
    var done = function () { status.textContent = t("copied"); };
    var fallback = function () {
      var range = document.createRange();
      range.selectNodeContents(app.q(".tce-code code"));
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      status.textContent = t("copySelected");
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  }

  // ------------------------------------------------------------------ round trip

  function sizeList(list, axis, button) {
    return list.map(function (e) {
      var text = t("rtSize", {size: e.size, op: e.output_padding});
      if (!button) { return text; }
      var current = e.size === app.st.n[axis];
      return '<button type="button" class="md-button tce-carry-size' + (current ? " tce-current" : "") +
        '" data-carry="transposed" data-axis="' + axis + '" data-size="' + e.size + '" title="' +
        t("rtSizeTitle", {size: e.size, axis: axisName(S, axis)}) + '"' +
        (current ? ' aria-current="true"' : "") + ">" + text + "</button>";
    }).join(t("listSeparator"));
  }

  function renderRoundTrip() {
    var st = app.st, conv = isConv(), html = ["<p>" + t("rtIntro") + "</p>"], offStride = false;
    for (var ax = 0; ax < 2; ax++) {
      var n = st.n[ax], k = st.k[ax], s = st.s[ax], p = st.p[ax], d = st.d[ax], op = st.op[ax];
      var out = app.sizes[ax], vars = {axis: axisName(S, ax), n: n, m: out, s: s, d: d, op: op};
      if (conv) {
        var merged = core.mergedSizes(out, k, s, p, d);
        vars.count = merged.length;
        vars.list = sizeList(merged, ax, true);
        html.push('<p class="tce-rt-axis">' + t(merged.length === 1 ? "rtConvAxisOne" : "rtConvAxis", vars) + "</p>");
      } else {
        vars.m = n;
        vars.n_out = out;
        vars.list = sizeList(core.mergedSizes(n, k, s, p, d), ax, false);
        vars.back = convOutputSize(out, k, s, p, d);
        offStride = offStride || op >= s;
        html.push('<p class="tce-rt-axis">' + t(op < s ? "rtTransposedAxis" : "rtTransposedOff", vars) + "</p>");
      }
    }
    if (!conv && (offStride || st.d[0] > st.s[0] || st.d[1] > st.s[1])) {
      html.push('<p class="tce-why">' + codeHtml(t("outputPaddingWhy")) + "</p>");
    }
    var size = app.sizes[0] + " × " + app.sizes[1];
    html.push('<p><button type="button" class="md-button md-button--primary tce-carry" data-carry="' +
      (conv ? "transposed" : "conv") + '">' +
      t(conv ? "rtToTransposed" : "rtToConv", {size: size, n: st.n[0] + " × " + st.n[1]}) + "</button></p>");
    put(app.q(".tce-roundtrip"), "innerHTML", html.join(""));
  }

  // ------------------------------------------------------------------ animation

  var timer = null;

  function stopPlaying() {
    if (timer) { clearInterval(timer); timer = null; }
    if (app) { var b = app.q(".tce-play"); b.textContent = t("animPlay"); b.setAttribute("aria-label", t("animPlayAria")); }
  }

  function setStep(step) {
    app.st.step = step >= totalSteps() ? null : Math.max(0, step);
    render();
  }

  function wireAnimation(a) {
    var now = function () { return a.st.step === null ? totalSteps() : a.st.step; };
    a.q(".tce-first").addEventListener("click", function () { stopPlaying(); setStep(0); });
    a.q(".tce-prev").addEventListener("click", function () { stopPlaying(); setStep(Math.max(0, now() - 1)); });
    a.q(".tce-next").addEventListener("click", function () { stopPlaying(); setStep(now() + 1); });
    a.q(".tce-last").addEventListener("click", function () { stopPlaying(); setStep(totalSteps()); });
    a.q(".tce-play").addEventListener("click", function () {
      if (timer) { stopPlaying(); return; }
      if (now() >= totalSteps()) { setStep(0); }
      var button = a.q(".tce-play");
      button.textContent = t("animPause");
      button.setAttribute("aria-label", t("animPauseAria"));
      timer = setInterval(function () {
        if (!app || app !== a) { stopPlaying(); return; }
        var next = now() + 1;
        setStep(next);
        if (next >= totalSteps()) { stopPlaying(); }
      }, 700);
    });
  }

  function renderAnimLabel(steps) {
    var total = totalSteps(), label = app.q(".tce-step"), conv = isConv(), cur = app.cur;
    if (app.st.step === null) { put(label, "textContent", t(conv ? "animAllConv" : "animAll", {total: total})); return; }
    if (steps === 0) { put(label, "textContent", t(conv ? "animZeroConv" : "animZero", {total: total})); return; }
    if (conv) {
      var W = app.full.W, y = Math.floor((steps - 1) / W), x = (steps - 1) % W;
      put(label, "textContent", t("animStepConv", {step: steps, total: total, y: y, x: x,
        v: app.full.out ? formatNumber(app.full.out[steps - 1]) : "?"}));
      return;
    }
    var i = Math.floor((steps - 1) / app.st.n[1]), j = (steps - 1) % app.st.n[1];
    put(label, "textContent", t("animStep", {step: steps, total: total, i: i, j: j, v: formatNumber(cur.x[i][j])}));
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
    var all = core.solve(app.st.solveN, app.st.solveT), filter = app.filter;
    var rows = all.filter(function (c) {
      if (filter === "all") { return true; }
      return core.evenOverlap(c.kernel_size, c.stride, c.dilation) === (filter === "even");
    });
    app.solverRows = rows;
    var summary = app.q(".tce-solve-summary"), wrap = app.q(".tce-solve-wrap"), more = app.q(".tce-solve-more");
    var vars = {count: all.length, shown: rows.length, n: app.st.solveN, target: app.st.solveT};
    summary.textContent = t(all.length ? "solveSummary" : "solveNone", vars) +
      (filter === "all" || !all.length ? "" : " " + t(filter === "even" ? "solveEvenCount" : "solveUnevenCount", vars));
    var shown = Math.min(rows.length, app.shown);
    var showable = app.st.solveN <= LIMITS.n[1];  // the explorer above draws inputs up to 32
    var html = ['<table class="tce-solve"><thead><tr><th scope="col">kernel<wbr>_size</th><th scope="col">stride</th>',
      '<th scope="col">padding</th><th scope="col">output<wbr>_padding</th><th scope="col">dilation</th>',
      '<th scope="col" class="tce-even-head" title="' + t("evenTitle") + '">' + t("evenHead") + "</th>",
      "</tr></thead><tbody>"];
    for (var r = 0; r < shown; r++) {
      var c = rows[r], fcn = core.fcnRule(c), even = core.evenOverlap(c.kernel_size, c.stride, c.dilation);
      // the kernel size is the button that shows the row in the explorer: no extra column
      var label = t("solveRowLabel", {k: c.kernel_size, s: c.stride, p: c.padding, op: c.output_padding, d: c.dilation});
      var kernel = showable ? '<button type="button" class="md-button tce-use" data-row="' + r +
        '" aria-label="' + label + '" title="' + label + '">' + c.kernel_size + "</button>" : String(c.kernel_size);
      html.push("<tr" + (fcn ? ' class="tce-fcn"' : "") + "><td>" + kernel +
        (fcn ? ' <span class="tce-star" title="' + t("starTitle") + '">★<span class="tce-fcn-word"> FCN</span></span>' : "") +
        "</td><td>" + c.stride + "</td><td>" + c.padding + "</td><td>" + c.output_padding + "</td><td>" + c.dilation +
        '</td><td class="tce-even">' + t(even ? "evenYes" : "evenNo") + "</td></tr>");
    }
    html.push("</tbody></table>");
    wrap.innerHTML = rows.length ? html.join("") : "";
    more.hidden = shown >= rows.length;
    more.textContent = t("showMore", {shown: shown, count: rows.length});
  }

  // ------------------------------------------------------------------ public API and start

  window.transconvExplorer = {
    convTranspose2d: convTranspose2d,
    conv2d: conv2d,
    solve: core.solve,
    evenOverlap: core.evenOverlap,
    mergedSizes: core.mergedSizes,
    outputSize: outputSize,
    convOutputSize: convOutputSize,
    strings: TABLES,
    render: render,
    // the drawn matrix (C in conv mode, Cᵀ in transposed mode) as rows of numbers; null when not drawn
    matrix: function () {
      var m = app && !app.cur.broken && app.matrix;
      return m ? core.toRows(m.values, m.rows, m.cols) : null;
    },
    state: function () { return app ? JSON.parse(JSON.stringify(app.st)) : null; },
    set: function (changes) {
      if (!app) { return null; }
      for (var key in changes) { app.st[key] = changes[key]; }
      return changed();
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
