// stylize serve: the page. Plain JavaScript, no build step; the HTTP contract
// is crates/stylize-serve/API.md.
"use strict";

(() => {
  const $ = (sel, root = document) => root.querySelector(sel);

  // ---------------------------------------------------------------- state
  const state = {
    info: null,
    jobs: new Map(),        // id -> JOB (as the server last described it)
    lastSeq: -1,            // the newest event seq applied
    costs: new Map(),       // id -> [{it, total, content, style}]
    liveId: null,           // the job the live panel shows
    content: null,          // {file, name, url, w, h, ok}
    styles: [],             // [{kind: "file"|"builtin", file?, name, title?, url, w, h, ok, weight?}] (weight: of a blend, default 1)
    networkStyle: null,     // the fast network's built-in style ("3", or a mix "3:0.5,12:0.5"), or null
    heldColors: null,       // the colours chosen for the optimiser ("histogram") while the fast network shows luminance
    serverStopped: false,   // a `shutdown` came, and no snapshot of a server since
    epoch: 0,               // counts the servers seen: a costs file asked of an older one is dropped
  };

  const SETTINGS_FIELDS = [
    // [key, element id, kind]
    ["size", "size", "int"],
    ["iterations", "iterations", "int"],
    ["strength", "strength", "float"],
    ["fast_strength", "fast-strength", "float"],
    ["preserve_colors", "preserve-colors", "text"],
    ["optimizer", "optimizer", "text"],
    ["seed", "seed", "int"],
    ["tv_weight", "tv-weight", "float"],
    ["init", "init", "text"],
    ["init_noise", "init-noise", "float"],
    ["learning_rate", "learning-rate", "float-or-null"],
    ["scales", "scales", "int"],
    ["style_scale", "style-scale", "float"],
  ];

  // ---------------------------------------------------------------- helpers
  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  function fmtTime(s) {
    if (s === null || s === undefined || !isFinite(s)) return "–";
    s = Math.max(0, Math.round(s));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const r = String(s % 60).padStart(2, "0");
    // An hour or more as h:mm:ss (483:46 read as hours and minutes).
    return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
  }

  function fmtNum(x) {
    if (x === null || x === undefined) return "–";
    if (typeof x !== "number") return String(x);
    if (x === 0) return "0";
    const a = Math.abs(x);
    if (a >= 1e5 || a < 1e-3) return x.toExponential(2);
    return String(+x.toPrecision(4));
  }

  function fmtBytes(b) {
    if (b === null || b === undefined) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (b >= 1024 && i < units.length - 1) { b /= 1024; i++; }
    return `${b.toFixed(b >= 100 || i === 0 ? 0 : 1)} ${units[i]}`;
  }

  function fmtStrength(v) {
    const n = Math.round(Number(v) * 10) / 10;
    return n === 0 ? "0" : (n > 0 ? String(n) : "−" + String(-n));
  }

  function setStrengthOutput(out, v) {
    out.replaceChildren("×10", el("sup", { text: fmtStrength(v) }));
    // Read as a factor, not as "×10" then the exponent.
    const factor = 10 ** Number(v);
    $("#strength").setAttribute("aria-valuetext", `${factor >= 10 ? Math.round(factor) : +factor.toPrecision(2)} times the style`);
  }

  // The fast network's strength, shown and read as a percentage.
  function setFastStrengthOutput() {
    const text = `${Math.round(100 * $("#fast-strength").value)}%`;
    $("#fast-strength-value").textContent = text;
    $("#fast-strength").setAttribute("aria-valuetext", text);
  }

  function jobTitle(job) {
    const ns = job.settings?.network_style;
    const names = (job.style_names || []).join(" + ");
    const styles = ns ? describeNetworkStyle(ns) : names || (job.settings?.sheet ? "the 26 built-in styles" : "?");
    return `${job.content_name || "photo"} × ${styles}`;
  }

  function settingsSummary(s) {
    if (!s) return "";
    if (s.method === "fast") {
      const parts = s.sheet ? ["fast network", "contact sheet", `${s.size} px a tile`] : ["fast network", `${s.size} px`];
      if (s.fast_strength !== undefined && s.fast_strength < 1) parts.push(`strength ${Math.round(100 * s.fast_strength)}%`);
      if (s.preserve_colors && s.preserve_colors !== "none") parts.push("photo's colours");
      return parts.join(" · ");
    }
    const parts = [s.preset, `${s.size} px`, `${s.iterations} it`];
    if (s.init === "fast") parts.push("from the fast network");
    if (s.scales > 1) parts.push(`${s.scales} scales`);
    if (s.strength) parts.push(`strength ×10^${fmtStrength(s.strength)}`);
    if (s.preserve_colors && s.preserve_colors !== "none") parts.push(`colours: ${s.preserve_colors}`);
    parts.push(s.optimizer === "lbfgs" ? "L-BFGS" : "Adam");
    if (s.seed) parts.push(`seed ${s.seed}`);
    return parts.join(" · ");
  }

  async function errorFrom(resp) {
    let msg = "";
    try {
      const text = await resp.text();
      try { msg = JSON.parse(text).error || text; } catch { msg = text; }
    } catch { /* ignore */ }
    return `${msg || resp.statusText || "request failed"} (HTTP ${resp.status})`;
  }

  // The error's text is the alert (not its close button): shown first,
  // then filled, so that it is announced.
  function showError(msg) {
    $("#error-text").textContent = "";
    $("#error").hidden = false;
    $("#error-text").textContent = msg;
  }
  function clearError() {
    // Focus inside the error (its close button) would fall to the page's
    // top as it hides: it goes back to the form.
    const hadFocus = $("#error").contains(document.activeElement);
    $("#error").hidden = true;
    $("#error-text").textContent = "";
    if (hadFocus) ($("#start").disabled ? $("#new-job-title") : $("#start")).focus();
  }

  // Disables `button`, or enables it again. Chromium moves the focus of a
  // control that becomes disabled to the page's top: where `button` held
  // it, it goes to `fallback` first.
  function setDisabled(button, off, fallback) {
    if (off && document.activeElement === button) fallback.focus();
    button.disabled = off;
  }

  // Whether the user asked for less motion (smooth scrolls become jumps).
  function scrollBehavior() {
    return window.matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth";
  }

  let noticeTimer = 0;
  function notice(msg) {
    const n = $("#notice");
    n.textContent = msg;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { n.textContent = ""; }, 5000);
  }

  function loadImage(url) {
    return new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => resolve(img);
      img.onerror = () => reject(new Error("image failed to load"));
      img.src = url;
    });
  }

  // ---------------------------------------------------------------- info + form
  async function loadInfo() {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await fetch("/api/info", { cache: "no-store" });
        if (!r.ok) throw new Error(await errorFrom(r));
        state.info = await r.json();
        break;
      } catch (e) {
        if (attempt === 0) showError(`Cannot reach the server: ${e.message}. Retrying…`);
        await new Promise((res) => setTimeout(res, Math.min(5000, 500 * (attempt + 1))));
      }
    }
    clearError();
    const info = state.info;
    $("#device").textContent = [info.device, info.weights].filter(Boolean).join(" · ");
    $("#device").title = `stylize ${info.version || ""}`;
    showKeeping();

    const preset = $("#preset");
    preset.replaceChildren();
    // Each preset named with what it sets, so that "seed" (the program
    // this tool started from) is not read as the Seed field.
    const presetNotes = { seed: "the blog post's program", gatys: "the paper" };
    for (const [name, d] of Object.entries(info.presets || {})) {
      const optimizer = d.optimizer === "lbfgs" ? "L-BFGS" : "Adam";
      const about = [presetNotes[name], `${optimizer}, ${d.size} px, ${d.iterations} iterations`].filter(Boolean).join(": ");
      preset.append(el("option", { value: name, text: `${name} (${about})` }));
    }
    preset.value = info.default_preset in (info.presets || {}) ? info.default_preset : preset.options[0]?.value;

    const ranges = info.ranges || {};
    if (ranges.size) { $("#size").min = ranges.size[0]; $("#size").max = ranges.size[1]; }
    if (ranges.iterations) { $("#iterations").min = ranges.iterations[0]; $("#iterations").max = ranges.iterations[1]; }
    if (ranges.strength) { $("#strength").min = ranges.strength[0]; $("#strength").max = ranges.strength[1]; }
    if (ranges.scales) { $("#scales").min = ranges.scales[0]; $("#scales").max = ranges.scales[1]; }

    // The fast network, when the server has its model files.
    const noFast = "needs the model files: run scripts/fetch-fast-models, then restart stylize serve";
    for (const option of [$("#method option[value=fast]"), $("#init option[value=fast]")]) {
      option.disabled = !info.fast;
      if (!info.fast) option.textContent += ` (${noFast})`;
    }
    applyPreset(preset.value);
    applyMethod("optimize");
    buildGallery(info.styles || []);
    buildNetworkGallery(info.network_styles || []);
    await restoreDraft();
    document.body.dataset.ready = "true";
  }

  // Where the results live: said before there are any to lose.
  function showKeeping() {
    const keeping = $("#history-keeping");
    keeping.hidden = false;
    keeping.textContent = state.info.keeps_results
      ? "Each finished result is also saved in the server's output folder."
      : "Results are kept only until the server stops: download the ones you want (or start it with --output-dir FOLDER to save each one).";
  }

  // A restarted server may keep its results or not, unlike the one the
  // page was loaded from (the form stays as it is).
  async function refreshKeeping() {
    try {
      const r = await fetch("/api/info", { cache: "no-store" });
      if (!r.ok) return;
      state.info.keeps_results = !!(await r.json()).keeps_results;
      showKeeping();
    } catch { /* said again at the next restart */ }
  }

  function presetDefaults(name) {
    return (state.info && state.info.presets && state.info.presets[name]) || {};
  }

  function describeDefault(key, v) {
    if (key === "learning_rate" && (v === null || v === undefined)) return "default: the optimiser's";
    if (key === "strength") return `default ×10^${fmtStrength(v || 0)}`;
    if (key === "fast_strength") return `default ${Math.round(100 * (v ?? 1))}%`;
    if (key === "preserve_colors" && v === "none") return "default off";
    if (key === "optimizer") return `default ${v === "lbfgs" ? "L-BFGS" : "Adam"}`;
    if (key === "init" && v === "content") return "default photo";
    return `default ${v}`;
  }

  function setField(key, id, kind, v) {
    const input = document.getElementById(id);
    if (kind === "float-or-null") input.value = v === null || v === undefined ? "" : String(v);
    else if (v !== undefined && v !== null) input.value = String(v);
  }

  function applySettings(s) {
    if (s.method) applyMethod(s.method);
    if ("network_style" in s) setNetworkStyle(s.network_style ?? null);
    if ("sheet" in s) $("#sheet").checked = !!s.sheet;
    for (const [key, id, kind] of SETTINGS_FIELDS) if (key in s) setField(key, id, kind, s[key]);
    // The colours given are the choice now, not one held for the optimiser.
    if ("preserve_colors" in s) state.heldColors = null;
    setStrengthOutput($("#strength-value"), $("#strength").value);
    setFastStrengthOutput();
    updateDefaults();
  }

  function applyPreset(name) {
    $("#preset").value = name;
    // A preset sets the optimiser's settings, not the method.
    const d = { ...presetDefaults(name) };
    delete d.method;
    delete d.sheet;
    applySettings(d);
  }

  // The optimiser, or the fast network (which uses the size and colours).
  function applyMethod(method) {
    const fast = method === "fast" && !!(state.info && state.info.fast);
    $("#method").value = fast ? "fast" : "optimize";
    $("#settings").dataset.method = $("#method").value;
    // Hidden settings are not checked (nor used).
    for (const el of document.querySelectorAll("#settings .optimizer-only input, #settings .optimizer-only select")) {
      el.disabled = fast;
    }
    for (const el of document.querySelectorAll("#settings .fast-only input")) el.disabled = !fast;
    // The network keeps colours by luminance only: a histogram chosen for
    // the optimiser shows as luminance meanwhile, and comes back with it.
    const colors = $("#preserve-colors");
    const histogram = $("#preserve-colors option[value=histogram]");
    histogram.disabled = fast;
    histogram.textContent = fast ? "histogram (the optimiser only)" : "histogram";
    if (fast && colors.value === "histogram") {
      state.heldColors = "histogram";
      colors.value = "luminance";
    } else if (!fast && state.heldColors) {
      if (colors.value === "luminance") colors.value = state.heldColors;
      state.heldColors = null;
    }
    renderColorsHint();
    $("#method-hint").textContent = fast
      ? "Magenta's arbitrary-style network: any painting, or one of the 26 styles below, in one pass; of the settings it uses the size, its strength and the colours"
      : "the optimiser (Gatys et al.) repaints the photo step by step";
  }

  function renderColorsHint() {
    const hint = $("#preserve-colors-hint");
    hint.hidden = $("#method").value !== "fast";
    // (Read with the field only while it shows.)
    if (hint.hidden) $("#preserve-colors").removeAttribute("aria-describedby");
    else $("#preserve-colors").setAttribute("aria-describedby", "preserve-colors-hint");
    hint.textContent = state.heldColors
      ? "the fast network keeps colours by luminance only: your histogram choice comes back with the optimiser"
      : "the fast network keeps colours by luminance only (histogram is the optimiser's)";
  }

  function updateDefaults() {
    const d = presetDefaults($("#preset").value);
    for (const [key, id] of SETTINGS_FIELDS) {
      const hint = document.querySelector(`[data-default-for="${key}"]`);
      if (hint) hint.textContent = describeDefault(key, d[key]);
      const input = document.getElementById(id);
      const cur = readField(key);
      const changed = cur !== undefined && JSON.stringify(cur) !== JSON.stringify(d[key] ?? null);
      input.closest(".field")?.classList.toggle("changed", changed);
    }
  }

  function readField(key) {
    const spec = SETTINGS_FIELDS.find((f) => f[0] === key);
    const input = document.getElementById(spec[1]);
    const raw = input.value.trim();
    switch (spec[2]) {
      case "int": return raw === "" ? undefined : Number(raw);
      case "float": return raw === "" ? undefined : Number(raw);
      case "float-or-null": return raw === "" ? null : Number(raw);
      default: return raw;
    }
  }

  function readSettings() {
    const blend = styleBlend();
    if ($("#method").value === "fast") {
      const s = { method: "fast" };
      for (const key of ["size", "fast_strength", "preserve_colors"]) {
        const v = readField(key);
        if (v !== undefined) s[key] = v;
      }
      if (sheetOn()) {
        // Each style alone, in its own colours.
        s.sheet = true;
        s.preserve_colors = "none";
        return s;
      }
      if (state.networkStyle !== null) s.network_style = state.networkStyle;
      else if (blend) s.style_blend = blend;
      return s;
    }
    const s = { method: "optimize", preset: $("#preset").value };
    for (const [key] of SETTINGS_FIELDS) {
      const v = readField(key);
      if (v !== undefined) s[key] = v;
    }
    if (blend) s.style_blend = blend;
    return s;
  }

  function settingsProblem() {
    for (const [key, id] of SETTINGS_FIELDS) {
      const input = document.getElementById(id);
      const label = document.querySelector(`label[for="${id}"]`);
      const name = label ? label.childNodes[0].textContent.trim() : key;
      if (!input.checkValidity()) {
        const v = input.validity;
        if (v.valueMissing) return `${name} is empty.`;
        if (v.rangeUnderflow) return `${name} must be at least ${input.min}.`;
        if (v.rangeOverflow) return `${name} must be at most ${input.max}.`;
        if (v.stepMismatch) return `${name} must be a whole number.`;
        return `${name} is not valid.`;
      }
    }
    const photo = state.content;
    const asVideo = $("#as-video").checked;
    if (photo && photo.file.size === 0) return `The ${asVideo ? "clip" : "photo"} ${photo.name} is empty (0 bytes).`;
    const empty = state.styles.find((s) => s.file && s.file.size === 0);
    if (empty && !usesNetworkStyle()) return `The painting ${empty.name} is empty (0 bytes).`;
    if (photo && asVideo && photo.still) return `${photo.name} is a still photo: untick “Paint as video”.`;
    if (photo && !asVideo && isVideoFile(photo.file)) return `${photo.name} is a clip: tick “Paint as video”.`;
    if (asVideo && $("#method").value !== "fast" && $("#init").value === "fast") return "Starting from “the fast network's painting” is for a photo: a clip's shots start from the frame; the fast method paints a clip with the network.";
    if (sheetOn()) {
      if (asVideo) return "A contact sheet is of a photo: untick “Paint as video”.";
      return null;  // (each painting alone: no blend)
    }
    if (usesNetworkStyle()) {
      const parts = networkParts(state.networkStyle);
      if (parts.length > 1) return blendProblem(parts.map((p) => p.weight), "the mixed styles");
    } else if (state.styles.length > 1) {
      return blendProblem(state.styles.map((s) => s.weight ?? 1), "the paintings");
    }
    return null;
  }

  // ---------------------------------------------------------------- images chosen
  function isImageFile(f) {
    return f && (!f.type || f.type.startsWith("image/") || /\.(png|jpe?g|webp|gif)$/i.test(f.name || ""));
  }

  // Whether a file is an image of one frame, which cannot be painted as a
  // clip, from its first bytes (never the whole of a large file): a JPEG;
  // a PNG whose image data comes before any animation chunk (acTL); a
  // WebP without VP8X's animation flag; a GIF with one image (its blocks
  // walked, within its first 8 MB). False for anything else, a video, or
  // what cannot be told from those bytes.
  async function isStillImage(file) {
    if (isVideoFile(file)) return false;
    try {
      const head = async (n) => new Uint8Array(await file.slice(0, n).arrayBuffer());
      let bytes = await head(65536);
      const at = (i, text) => i + text.length <= bytes.length && [...text].every((c, k) => bytes[i + k] === c.charCodeAt(0));
      if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return true;
      if (at(1, "PNG")) {
        // Chunks: length (4, big-endian), type (4), data, CRC (4).
        for (let i = 8; i + 8 <= bytes.length;) {
          if (at(i + 4, "acTL")) return false;
          if (at(i + 4, "IDAT")) return true;
          i += 12 + ((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]) >>> 0;
        }
        return false;
      }
      if (at(0, "RIFF") && at(8, "WEBP")) return !(at(12, "VP8X") && (bytes[20] & 0x02));
      if (at(0, "GIF8")) {
        bytes = await head(8 << 20);
        const table = (flags) => (flags & 0x80 ? 3 << ((flags & 7) + 1) : 0);
        let i = 13 + table(bytes[10]);
        const skipBlocks = () => { while (i < bytes.length && bytes[i] !== 0) i += bytes[i] + 1; i += 1; };
        let images = 0;
        while (i < bytes.length) {
          const block = bytes[i];
          if (block === 0x3b) return images <= 1;          // the trailer
          if (block === 0x21) { i += 2; skipBlocks(); }    // an extension
          else if (block === 0x2c) {                       // an image
            if (++images > 1) return false;
            i += 10 + table(bytes[i + 9]) + 1;             // descriptor, its colours, LZW size
            skipBlocks();
          } else return false;
        }
        return false;
      }
      return false;
    } catch { return false; }
  }

  function isVideoFile(f) {
    return !!f && ((f.type || "").startsWith("video/") || /\.(mp4|webm|m4v|mov)$/i.test(f.name || ""));
  }

  // A video's frame size, once its metadata has loaded, and its first
  // frame as a PNG data URL (for the mask's brush; null when the browser
  // cannot draw it).
  function loadVideoSize(url) {
    return new Promise((resolve, reject) => {
      const v = document.createElement("video");
      v.muted = true;
      v.preload = "auto";
      let size = null;
      let timer = 0;
      let settled = false;
      // The size, with the first frame or without it (a browser that does
      // not decode it, or not without a click, in 3 s); the video let go.
      const done = (poster) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        v.removeAttribute("src");
        v.load();
        resolve([size[0], size[1], poster]);
      };
      v.onloadedmetadata = () => {
        size = [v.videoWidth, v.videoHeight];
        timer = setTimeout(() => done(null), 3000);
      };
      v.onloadeddata = () => {
        if (!size) size = [v.videoWidth, v.videoHeight];
        let poster = null;
        try {
          // At most the mask's size: a 4K frame's PNG would be tens of MB.
          const k = Math.min(1, MASK_SIDE / Math.max(1, v.videoWidth, v.videoHeight));
          const c = document.createElement("canvas");
          c.width = Math.max(1, Math.round(v.videoWidth * k));
          c.height = Math.max(1, Math.round(v.videoHeight * k));
          c.getContext("2d").drawImage(v, 0, 0, c.width, c.height);
          poster = c.toDataURL("image/png");
        } catch { poster = null; }
        done(poster);
      };
      v.onerror = () => {
        if (size) done(null);
        else if (!settled) { settled = true; reject(new Error("video failed to load")); }
      };
      v.src = url;
    });
  }

  async function describeFile(file) {
    const url = URL.createObjectURL(file);
    const item = { kind: "file", file, name: file.name || "pasted.png", url, w: 0, h: 0, ok: false, video: isVideoFile(file), still: await isStillImage(file) };
    if (item.video) {
      try {
        [item.w, item.h, item.poster] = await loadVideoSize(url);
        item.ok = item.w > 0 && item.h > 0;
      } catch { item.ok = false; }
      return item;
    }
    try {
      const img = await loadImage(url);
      item.w = img.naturalWidth; item.h = img.naturalHeight; item.ok = item.w > 0 && item.h > 0;
    } catch { item.ok = false; }
    return item;
  }

  async function setContentFile(file) {
    if (!file) return;
    clearError();
    const item = await describeFile(file);
    if (state.content) URL.revokeObjectURL(state.content.url);
    state.content = item;
    // A video file can only be painted as a video, an image of one frame
    // only as a photo; an animated image is the user's call.
    if (item.video) $("#as-video").checked = true;
    else if (item.still) $("#as-video").checked = false;
    resetMask();
    renderChosen();
    scheduleEstimate();
  }

  async function addStyleFiles(files) {
    clearError();
    const items = [];
    for (const f of files) items.push(await describeFile(f));
    state.styles.push(...items);
    renderChosen();
    scheduleEstimate();
  }

  function removeStyle(i) {
    clearError();
    // The focused × goes with its chip: the focus moves to the next
    // chip's (or the last one's), or to the Style box when none is left.
    const hadFocus = $("#style-chosen").contains(document.activeElement);
    const [s] = state.styles.splice(i, 1);
    if (s && s.kind === "file") URL.revokeObjectURL(s.url);
    renderChosen();
    syncGallery();
    scheduleEstimate();
    if (hadFocus) {
      const left = document.querySelectorAll("#style-chosen .chip-remove");
      (left[Math.min(i, left.length - 1)] || $("#style-zone")).focus();
    }
  }

  function dimsText(item) {
    if (item.file && item.file.size === 0) return "empty file (0 bytes)";
    return item.ok ? `${item.w}×${item.h}` : "not readable here; the server will check it";
  }

  function renderChosen() {
    const c = $("#content-chosen");
    if (!state.content) {
      c.replaceChildren(el("p", { class: "zone-empty", id: "content-zone-hint", text: "Drop, paste or choose the photo" }));
    } else {
      const it = state.content;
      c.replaceChildren(el("figure", { class: "chosen" + (it.ok ? "" : " bad"), "data-testid": "content-thumb" },
        !it.ok ? el("div", { class: "thumb-bad", text: "?" })
          : it.video ? el("video", { src: it.url, muted: true, loop: true, autoplay: true, playsinline: true, "aria-label": `Clip: ${it.name}` })
          : el("img", { src: it.url, alt: `Photo: ${it.name}` }),
        el("figcaption", {}, el("span", { class: "name", text: it.name }), el("span", { class: "dims muted", text: dimsText(it) }))));
    }
    const s = $("#style-chosen");
    if (state.styles.length === 0) {
      s.replaceChildren(el("p", { class: "zone-empty", id: "style-zone-hint", text: "Drop, paste or choose a painting, or pick one below" }));
    } else {
      s.replaceChildren(...state.styles.map((it, i) => el("figure", { class: "chosen style-chip" + (it.ok ? "" : " bad"), "data-testid": "style-thumb", "data-kind": it.kind },
        it.ok ? el("img", { src: it.url, alt: `Style: ${it.title || it.name}` }) : el("div", { class: "thumb-bad", text: "?" }),
        el("figcaption", {}, el("span", { class: "name", text: it.title || it.name }), el("span", { class: "dims muted", text: it.kind === "builtin" ? "bundled" : dimsText(it) })),
        state.styles.length > 1 ? weightInput(it.weight ?? 1, `Weight of style ${it.title || it.name} in the blend`, "style-weight",
          (v) => { it.weight = v; scheduleEstimate(); }) : null,
        el("button", { type: "button", class: "chip-remove", "aria-label": `Remove style ${it.title || it.name}`, text: "×", onclick: () => removeStyle(i) }))));
    }
    // A zone's hint describes it only while it is there.
    for (const [zone, hint] of [["#content-zone", "content-zone-hint"], ["#style-zone", "style-zone-hint"]]) {
      if (document.getElementById(hint)) $(zone).setAttribute("aria-describedby", hint);
      else $(zone).removeAttribute("aria-describedby");
    }
    updateStart();
  }

  // A blend weight (>= 0; the blend is normalised), calling `onChange`
  // with the number, or NaN while the field is not one.
  function weightInput(value, label, testid, onChange) {
    return el("label", { class: "blend-weight", title: "weight in the blend (normalised: only the proportions count)" }, el("span", { class: "weight-word", text: "weight " }),
      el("input", {
        type: "number", min: "0", step: "0.1", value: Number.isNaN(value) ? "" : String(value), required: true, "aria-label": label, "data-testid": testid,
        oninput: (e) => onChange(e.target.value.trim() === "" ? NaN : Number(e.target.value)),
      }));
  }

  // The paintings' blend weights for the settings (`style_blend`), or null
  // for equal parts (one painting, or all weights alike).
  function styleBlend() {
    if (state.styles.length < 2) return null;
    const w = state.styles.map((s) => s.weight ?? 1);
    return alike(w) ? null : w;
  }

  // Whether a blend's weights are all the same (equal parts).
  function alike(weights) {
    return weights.every((w) => w === weights[0]);
  }

  // What is wrong with a list of blend weights, or null.
  function blendProblem(weights, what) {
    if (weights.some((w) => !Number.isFinite(w) || w < 0)) return `The weights of ${what} must be numbers of at least 0.`;
    if (!weights.some((w) => w > 0)) return `The weights of ${what} are all 0: give at least one a weight.`;
    return null;
  }

  function buildGallery(styles) {
    const g = $("#gallery");
    g.replaceChildren();
    for (const st of styles) {
      const b = el("button", {
        type: "button", class: "gallery-item", "data-testid": "builtin-style", "data-name": st.name,
        "aria-pressed": "false", title: st.title || st.name, "aria-label": `Style: ${st.title || st.name}`,
      }, el("img", { src: st.url, alt: "", loading: "lazy" }), el("span", { class: "gallery-name", text: st.name.replace(/_/g, " ") }));
      b.addEventListener("click", () => toggleBuiltin(st));
      g.append(b);
    }
  }

  // A bundled style as a chosen item; `loaded` resolves once its size is known.
  function builtinItem(st) {
    const item = { kind: "builtin", name: st.name, title: st.title, url: st.url, w: 0, h: 0, ok: true };
    item.loaded = loadImage(st.url).then((img) => {
      item.w = img.naturalWidth; item.h = img.naturalHeight;
    }, () => { item.ok = false; });
    return item;
  }

  async function toggleBuiltin(st) {
    const i = state.styles.findIndex((s) => s.kind === "builtin" && s.name === st.name);
    if (i >= 0) { removeStyle(i); return; }
    clearError();
    const item = builtinItem(st);
    state.styles.push(item);
    renderChosen();
    syncGallery();
    await item.loaded;
    renderChosen();
    scheduleEstimate();
  }

  // The fast network's 26 built-in styles, each shown on the same photo.
  function buildNetworkGallery(styles) {
    const g = $("#network-styles");
    g.replaceChildren();
    for (const st of styles) {
      const n = String(st.index);
      const b = el("button", {
        type: "button", class: "gallery-item", "data-testid": "network-style", "data-index": n,
        "aria-pressed": "false", "aria-label": `The network's built-in style ${n}`,
      }, el("img", { src: st.url, alt: "", loading: "lazy" }), el("span", { class: "gallery-name", text: `#${n}` }));
      // A click picks one style (again: none); with Shift or Ctrl it adds
      // the style to the mix (weight 1), or takes it out.
      b.addEventListener("click", (e) => {
        const parts = networkParts(state.networkStyle);
        const has = parts.some((p) => p.index === n);
        let next;
        if (e.shiftKey || e.ctrlKey || e.metaKey) {
          next = has ? parts.filter((p) => p.index !== n) : [...parts, { index: n, weight: 1 }];
        } else {
          next = parts.length === 1 && has ? [] : [{ index: n, weight: 1 }];
        }
        setNetworkStyle(networkValue(next));
      });
      g.append(b);
    }
    $("#network-style-field").hidden = styles.length === 0;
    setNetworkStyle(state.networkStyle);
  }

  // The style numbers in a network_style ("3", "3,12" or "3:0.5,12:0.5").
  function networkIndices(value) {
    return networkParts(value).map((p) => p.index);
  }

  // A network_style as [{index, weight}] (weight 1 where none is written).
  function networkParts(value) {
    if (value === null || value === undefined) return [];
    return String(value).split(",").map((p) => p.split(":")).filter((p) => p[0].trim() !== "")
      .map(([i, w]) => ({ index: i.trim(), weight: w === undefined ? 1 : Number(w) }));
  }

  // [{index, weight}] as a network_style: "5" or "5,12" when the weights
  // are alike, "5:0.7,12:0.3" otherwise; null for none.
  function networkValue(parts) {
    if (!parts.length) return null;
    const equal = alike(parts.map((p) => p.weight));
    return parts.map((p) => (equal ? p.index : `${p.index}:${p.weight}`)).join(",");
  }

  // One weight field per chosen style of a mix (none for a single style).
  function renderNetworkWeights() {
    const box = $("#network-weights");
    const parts = networkParts(state.networkStyle);
    box.replaceChildren(...(parts.length > 1 ? parts : []).map((p) => el("span", { class: "network-weight" },
      el("span", { class: "gallery-name", text: `#${p.index}` }),
      weightInput(p.weight, `Weight of built-in style ${p.index} in the mix`, "network-weight", (v) => {
        const now = networkParts(state.networkStyle);
        const part = now.find((q) => q.index === p.index);
        if (part) part.weight = v;
        setNetworkStyle(networkValue(now), { fromField: true });
      }))));
    box.hidden = parts.length < 2;
  }

  function describeNetworkStyle(value) {
    const ids = networkIndices(value);
    if (ids.length <= 1) return `built-in style ${value}`;
    return String(value).includes(":")
      ? `a mix of built-in styles ${value}`
      : `built-in styles ${ids.join(" + ")} in equal parts`;
  }

  // Whether a job started now paints with a built-in style, not the paintings.
  function usesNetworkStyle() {
    return $("#method").value === "fast" && state.networkStyle !== null;
  }

  // `fromField`: the change came from a weight field, which stays as it is
  // (and keeps the focus).
  function setNetworkStyle(value, { fromField = false } = {}) {
    state.networkStyle = value === null || value === undefined || value === "" ? null : String(value);
    const chosen = networkIndices(state.networkStyle);
    for (const b of document.querySelectorAll("#network-styles .gallery-item")) {
      b.setAttribute("aria-pressed", chosen.includes(b.dataset.index) ? "true" : "false");
    }
    $("#network-style-hint").textContent = state.networkStyle === null
      ? "pick one to paint with it instead of the painting(s) above (Shift-click to mix several)"
      : `${describeNetworkStyle(state.networkStyle)}: the painting(s) above are not used (click it again to use them)`;
    $("#style-zone").classList.toggle("superseded", usesNetworkStyle());
    if (!fromField) renderNetworkWeights();
    updateStart();
    scheduleEstimate();
  }

  function syncGallery() {
    for (const b of document.querySelectorAll("#gallery .gallery-item")) {
      const on = state.styles.some((s) => s.kind === "builtin" && s.name === b.dataset.name);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    }
  }

  function setupZone(zone, input, onFiles) {
    input.addEventListener("change", () => {
      const files = Array.from(input.files || []);
      input.value = "";
      if (files.length) onFiles(files);
    });
    zone.addEventListener("dragover", (e) => {
      if (!e.dataTransfer || !Array.from(e.dataTransfer.types || []).includes("Files")) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
      zone.classList.add("dragging");
    });
    zone.addEventListener("dragleave", (e) => {
      if (!zone.contains(e.relatedTarget)) zone.classList.remove("dragging");
    });
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("dragging");
      const files = Array.from(e.dataTransfer.files || []);
      if (files.length) onFiles(files);
    });
    zone.addEventListener("paste", (e) => {
      const files = Array.from(e.clipboardData?.files || []).filter(isImageFile);
      if (!files.length) return;
      e.preventDefault();
      onFiles(files);
    });
    // Clicking the zone focuses it, so that a paste (Ctrl+V) lands here
    // (not when clicking the thumbnails' buttons).
    zone.addEventListener("click", (e) => {
      if (e.target.closest("button, label, input, a")) return;
      zone.focus();
    });
    // From the keyboard, Enter or Space on the zone, and Enter on its
    // (hidden) file field, open the file picker.
    zone.addEventListener("keydown", (e) => {
      const onZone = e.target === zone && (e.key === "Enter" || e.key === " ");
      const onInput = e.target === input && e.key === "Enter";
      if (!onZone && !onInput) return;
      e.preventDefault();
      input.click();
    });
  }

  // Files dropped or pasted elsewhere on the page. A file dropped beside
  // the boxes would make the browser open it in place of the page (and
  // its form): it goes to the photo's box while no photo is chosen, else
  // the page says where to drop it. A paste outside the boxes and text
  // fields goes to the photo's box, or once there is a photo, to the
  // paintings.
  function setupPage() {
    const hasFiles = (e) => Array.from(e.dataTransfer?.types || []).includes("Files");
    const inZone = (e) => !!e.target.closest?.("#content-zone, #style-zone");
    window.addEventListener("dragover", (e) => {
      if (e.defaultPrevented || inZone(e) || !hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = state.content ? "none" : "copy";
    });
    window.addEventListener("drop", (e) => {
      if (e.defaultPrevented || inZone(e) || !hasFiles(e)) return;
      e.preventDefault();
      const files = Array.from(e.dataTransfer.files || []);
      if (!files.length) return;
      if (!state.content) setContentFile(files[0]);
      else notice("Drop a file onto the Photo box or the Painting box.");
    });
    document.addEventListener("paste", (e) => {
      if (e.defaultPrevented || inZone(e) || e.target.closest?.("input, textarea, select, [contenteditable]")) return;
      const files = Array.from(e.clipboardData?.files || []).filter(isImageFile);
      if (!files.length) return;
      e.preventDefault();
      if (!state.content) setContentFile(files[0]);
      else addStyleFiles(files);
    });
  }

  // ---------------------------------------------------------------- paint mask
  // Where the result shows the painting: held in #mask-canvas, tinted where
  // it paints (partly clear for a mix, clear where the photo is kept), in
  // the photo's shape with its longer side at most MASK_SIDE; sent as a
  // white-on-black PNG (`mask`), or as the file loaded when it was not
  // edited since. The server applies it to the finished picture.
  const MASK_SIDE = 1024;
  const MASK_TINT = [255, 61, 127];
  const mask = { on: false, erase: false, file: null, last: null, coverage: 0 };
  const MASK_UNREADABLE = Symbol("unreadable mask");

  function maskCanvas() { return $("#mask-canvas"); }

  // A photo, or a clip whose first frame the browser can show (the mask
  // is the same over every frame): the mask applies, but to a sheet.
  function maskApplies() {
    const it = state.content;
    return !!it && it.ok && (!it.video || !!it.poster) && !sheetOn();
  }

  // What the brush is drawn over: the photo, or a clip's first frame.
  function maskUnderlay() {
    const it = state.content;
    if (!it || !it.ok) return null;
    return it.video ? it.poster : it.url;
  }

  // ---------------------------------------------------------------- contact sheet
  // The fast network's contact sheet: the photo, then each painting chosen
  // in its own numbered tile, or (with none, or a network style picked)
  // the network's 26 built-in styles, numbered as the swatches below.
  function sheetOn() {
    return $("#method").value === "fast" && $("#sheet").checked;
  }

  function renderSheetHint() {
    const n = usesNetworkStyle() ? 0 : state.styles.length;
    $("#sheet-hint").textContent = n === 0
      ? "the photo, then the network's 26 styles on it, numbered 0 to 25 as below (pick one by its number)"
      : n === 1 ? "the photo, then the painting above on it, numbered 1"
      : `the photo, then each of the ${n} paintings above on it, numbered 1 to ${n} (each alone, not blended)`;
  }

  function renderMask() {
    $("#mask-panel").hidden = !maskApplies();
    // The photo under the brush, whenever the panel may show.
    const under = maskUnderlay();
    const photo = $("#mask-photo");
    if (under) {
      if (photo.getAttribute("src") !== under) photo.src = under;
    } else {
      photo.removeAttribute("src");
    }
    $("#mask-on").checked = mask.on;
    $("#mask-stage").dataset.on = mask.on ? "true" : "false";
    $("#mask-brush").setAttribute("aria-pressed", mask.erase ? "false" : "true");
    $("#mask-eraser").setAttribute("aria-pressed", mask.erase ? "true" : "false");
    // Short, so that the line never wraps and the canvas never moves under the brush.
    $("#mask-summary").textContent = mask.on ? `${Math.round(100 * mask.coverage)}% painted` : "all of it";
  }

  // An empty mask in the shape of the chosen photo, off.
  function resetMask() {
    const c = maskCanvas();
    const it = state.content;
    const [w, h] = it && it.ok ? [it.w, it.h] : [1, 1];
    const k = Math.min(1, MASK_SIDE / Math.max(w, h));
    c.width = Math.max(1, Math.round(w * k));  // (also clears it)
    c.height = Math.max(1, Math.round(h * k));
    const view = $("#mask-view");
    view.width = c.width;
    view.height = c.height;
    $("#mask-soft").value = $("#mask-soft").defaultValue;
    Object.assign(mask, { on: false, file: null, last: null, coverage: 0 });
    renderMask();
  }

  // After a change of the mask's pixels: it is on, and no longer the file loaded.
  function maskEdited({ keepFile = false } = {}) {
    clearError();
    const c = maskCanvas();
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let sum = 0;
    for (let i = 3; i < d.length; i += 4) sum += d[i];
    mask.coverage = sum / (255 * (d.length / 4));
    mask.on = true;
    if (!keepFile) mask.file = null;
    renderMaskView();
    renderMask();
  }

  // The view: the mask as it will be sent, its edge softened.
  function renderMaskView() {
    const view = $("#mask-view");
    const ctx = view.getContext("2d");
    ctx.clearRect(0, 0, view.width, view.height);
    ctx.drawImage(blurred(maskCanvas(), maskSoftness()), 0, 0);
  }

  function maskPoint(e) {
    const c = maskCanvas();
    const r = c.getBoundingClientRect();
    return [(e.clientX - r.left) * c.width / r.width, (e.clientY - r.top) * c.height / r.height];
  }

  // A brush stroke from `from` to `to` (a dot when they are the same), its
  // width a share of the photo's longer side.
  function brush(from, to) {
    const c = maskCanvas();
    // On the mask, and (unsoftened until the stroke ends) on its view.
    for (const target of [c, $("#mask-view")]) stroke(target, c, from, to);
  }

  // One stroke on `target`, its width a share of the mask `c`'s longer side.
  function stroke(target, c, from, to) {
    const ctx = target.getContext("2d");
    ctx.save();
    ctx.globalCompositeOperation = mask.erase ? "destination-out" : "source-over";
    ctx.strokeStyle = ctx.fillStyle = `rgb(${MASK_TINT.join(",")})`;
    const width = Math.max(1, Number($("#mask-size").value) / 100 * Math.max(c.width, c.height));
    ctx.lineWidth = width;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    if (from[0] === to[0] && from[1] === to[1]) {
      ctx.arc(to[0], to[1], width / 2, 0, 2 * Math.PI);
      ctx.fill();
    } else {
      ctx.moveTo(from[0], from[1]);
      ctx.lineTo(to[0], to[1]);
      ctx.stroke();
    }
    ctx.restore();
  }

  // Every pixel's share of the painting through `f(alpha) -> alpha` (0..255).
  function mapMask(f) {
    const c = maskCanvas();
    const ctx = c.getContext("2d");
    const d = ctx.getImageData(0, 0, c.width, c.height);
    for (let i = 0; i < d.data.length; i += 4) {
      d.data[i] = MASK_TINT[0]; d.data[i + 1] = MASK_TINT[1]; d.data[i + 2] = MASK_TINT[2];
      d.data[i + 3] = f(d.data[i + 3], i);
    }
    ctx.putImageData(d, 0, 0);
  }

  // A mask image: its brightness (times its opacity) is the share painted,
  // as the server reads it; stretched to the photo's shape.
  // A mask image file decoded, for applyMaskImage.
  async function decodeMask(file) {
    return { file, bitmap: await createImageBitmap(file) };
  }

  // A decoded mask image over the chosen photo (at once: no photo can
  // change under it), sent as its own file until it is edited.
  function applyMaskImage({ file, bitmap }) {
    const c = maskCanvas();
    const t = document.createElement("canvas");
    t.width = c.width; t.height = c.height;
    const tctx = t.getContext("2d");
    tctx.drawImage(bitmap, 0, 0, t.width, t.height);
    bitmap.close?.();
    const src = tctx.getImageData(0, 0, t.width, t.height).data;
    mapMask((_, i) => Math.round((0.299 * src[i] + 0.587 * src[i + 1] + 0.114 * src[i + 2]) * src[i + 3] / 255));
    mask.file = file;
    // Its own edges as drawn: not softened (moving the slider softens them).
    $("#mask-soft").value = "0";
    maskEdited({ keepFile: true });
    $("#mask-panel").open = true;
  }

  async function loadMaskFile(file) {
    const photo = state.content;
    let decoded;
    try {
      decoded = await decodeMask(file);
    } catch {
      showError(`The mask ${file.name || ""} could not be read here (a PNG, JPEG, WebP or GIF image).`);
      return;
    }
    // Another photo chosen meanwhile: this mask was meant for the last one.
    if (state.content !== photo) { decoded.bitmap.close?.(); return; }
    applyMaskImage(decoded);
  }

  // The soft edge's blur radius, in the mask's pixels: a share of the
  // photo's longer side.
  function maskSoftness() {
    const c = maskCanvas();
    return Number($("#mask-soft").value) / 100 * Math.max(c.width, c.height);
  }

  // `src` blurred by `radius` px: the canvas filter where the browser has
  // one, else by way of a smaller copy (smoothing does the blur).
  // The picture's own edge is not softened: `src` is blurred with its
  // border pixels repeated outward, then cut back to its size.
  function blurred(src, radius) {
    const out = document.createElement("canvas");
    out.width = src.width; out.height = src.height;
    const ctx = out.getContext("2d");
    if (radius <= 0) {
      ctx.drawImage(src, 0, 0);
      return out;
    }
    const [w, h] = [src.width, src.height];
    const p = Math.ceil(3 * radius);
    const pad = document.createElement("canvas");
    pad.width = w + 2 * p; pad.height = h + 2 * p;
    const pctx = pad.getContext("2d");
    pctx.imageSmoothingEnabled = false;
    pctx.drawImage(src, p, p);
    // The edges' rows and columns, then the corners, stretched outward.
    pctx.drawImage(src, 0, 0, w, 1, p, 0, w, p);
    pctx.drawImage(src, 0, h - 1, w, 1, p, p + h, w, p);
    pctx.drawImage(src, 0, 0, 1, h, 0, p, p, h);
    pctx.drawImage(src, w - 1, 0, 1, h, p + w, p, p, h);
    pctx.drawImage(src, 0, 0, 1, 1, 0, 0, p, p);
    pctx.drawImage(src, w - 1, 0, 1, 1, p + w, 0, p, p);
    pctx.drawImage(src, 0, h - 1, 1, 1, 0, p + h, p, p);
    pctx.drawImage(src, w - 1, h - 1, 1, 1, p + w, p + h, p, p);
    const soft = blurFilter(pad, radius);
    ctx.drawImage(soft, p, p, w, h, 0, 0, w, h);
    return out;
  }

  // `src` blurred by `radius` px: the canvas filter where the browser has
  // one, else by way of a smaller copy (smoothing does the blur).
  function blurFilter(src, radius) {
    const out = document.createElement("canvas");
    out.width = src.width; out.height = src.height;
    const ctx = out.getContext("2d");
    ctx.filter = `blur(${radius}px)`;
    if (ctx.filter === `blur(${radius}px)`) {
      ctx.drawImage(src, 0, 0);
      return out;
    }
    const k = Math.max(1, radius);
    const small = document.createElement("canvas");
    small.width = Math.max(1, Math.round(src.width / k));
    small.height = Math.max(1, Math.round(src.height / k));
    const sctx = small.getContext("2d");
    sctx.imageSmoothingQuality = "high";
    sctx.drawImage(src, 0, 0, small.width, small.height);
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(small, 0, 0, out.width, out.height);
    return out;
  }

  // The mask to send: the file loaded (unless softened), or the canvas as
  // white on black, its edge softened.
  async function maskUpload() {
    if (mask.file) return [mask.file, mask.file.name || "mask.png"];
    const out = blurred(maskCanvas(), maskSoftness());
    const ctx = out.getContext("2d");
    ctx.filter = "none";
    ctx.globalCompositeOperation = "source-in";
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.globalCompositeOperation = "destination-over";
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, out.width, out.height);
    const blob = await new Promise((resolve) => out.toBlob(resolve, "image/png"));
    if (!blob) throw new Error("the browser could not encode the mask");
    return [blob, "mask.png"];
  }

  function setupMask() {
    const c = maskCanvas();
    c.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      e.preventDefault();
      c.setPointerCapture?.(e.pointerId);
      const p = maskPoint(e);
      brush(p, p);
      mask.last = p;
    });
    c.addEventListener("pointermove", (e) => {
      if (!mask.last) return;
      const p = maskPoint(e);
      brush(mask.last, p);
      mask.last = p;
    });
    // No text selection or image drag from a stroke.
    $("#mask-stage").addEventListener("mousedown", (e) => e.preventDefault());
    $("#mask-stage").addEventListener("dragstart", (e) => e.preventDefault());
    const end = () => { if (mask.last) { mask.last = null; maskEdited(); } };
    c.addEventListener("pointerup", end);
    c.addEventListener("pointercancel", end);
    $("#mask-on").addEventListener("change", (e) => { mask.on = e.target.checked; clearError(); renderMask(); });
    // A softer edge is a new mask: a loaded file is sent as drawn from then on.
    $("#mask-soft").addEventListener("input", () => { mask.file = null; renderMaskView(); renderMask(); });
    $("#mask-brush").addEventListener("click", () => { mask.erase = false; renderMask(); });
    $("#mask-eraser").addEventListener("click", () => { mask.erase = true; renderMask(); });
    $("#mask-all").addEventListener("click", () => { mapMask(() => 255); maskEdited(); });
    $("#mask-none").addEventListener("click", () => { mapMask(() => 0); maskEdited(); });
    $("#mask-invert").addEventListener("click", () => { mapMask((a) => 255 - a); maskEdited(); });
    const input = $("#mask-input");
    input.addEventListener("change", () => {
      const f = input.files?.[0];
      input.value = "";
      if (f) loadMaskFile(f);
    });
  }

  // ---------------------------------------------------------------- estimate
  let estimateTimer = 0;
  let estimateToken = 0;
  const est = { state: "idle", fits: true };

  function scheduleEstimate() {
    clearTimeout(estimateTimer);
    // The shown estimate is stale from now on (Start stays as it was until the reply).
    $("#estimate").dataset.state = "pending";
    estimateTimer = setTimeout(runEstimate, 250);
    updateStart();
    // Whatever changed the estimate is the form's: kept for a reload.
    scheduleDraft();
  }

  // ---------------------------------------------------------------- draft
  // The New image form (photo, paintings, settings; not the mask) survives
  // a reload of this tab: kept in IndexedDB (the files as they are) under
  // this tab's own key (in its sessionStorage), so a new tab or window
  // starts empty and two tabs keep their own forms. Drafts not saved for a
  // week are deleted when the page loads. Where storage is refused (a
  // private window), the form is just not kept.
  const DRAFT_DB = "stylize-draft";
  const DRAFT_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
  let draftTimer = 0;
  let draftRestoring = false;
  // The files as last stored: a file (a clip may be large) is written again
  // only when it is another one, not at every change of a setting.
  const draftFiles = { content: undefined, styles: undefined };

  // Runs `use(store)`, which returns requests, in one transaction; resolves
  // with their results.
  function draftStore(mode, use) {
    return new Promise((resolve, reject) => {
      const open = indexedDB.open(DRAFT_DB, 1);
      open.onupgradeneeded = () => open.result.createObjectStore("drafts");
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const db = open.result;
        const tx = db.transaction("drafts", mode);
        const reqs = use(tx.objectStore("drafts"));
        tx.oncomplete = () => { db.close(); resolve(reqs.map((r) => r.result)); };
        tx.onerror = tx.onabort = () => { db.close(); reject(tx.error); };
      };
    });
  }

  // This tab's key (made when it first saves), or null.
  function draftKey(make) {
    let id = sessionStorage.getItem(DRAFT_DB);
    if (!id && make) {
      id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
      sessionStorage.setItem(DRAFT_DB, id);
    }
    return id;
  }

  // Deletes the drafts of tabs that have not saved for a week.
  async function pruneDrafts() {
    try {
      const [keys] = await draftStore("readonly", (store) => [store.getAllKeys()]);
      const ids = keys.filter((k) => typeof k === "string" && k.endsWith(":form")).map((k) => k.slice(0, -5));
      const forms = await draftStore("readonly", (store) => ids.map((id) => store.get(`${id}:form`)));
      const old = ids.filter((id, i) => !(forms[i]?.savedAt > Date.now() - DRAFT_MAX_AGE_MS));
      if (old.length) {
        await draftStore("readwrite", (store) => old.flatMap((id) => ["form", "content", "styles"].map((part) => store.delete(`${id}:${part}`))));
      }
    } catch { /* nothing to prune */ }
  }

  function sameFiles(a, b) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((f, i) => f === b[i]);
  }

  function scheduleDraft() {
    if (draftRestoring || !window.indexedDB) return;
    clearTimeout(draftTimer);
    draftTimer = setTimeout(saveDraft, 300);
  }

  async function saveDraft() {
    const content = state.content ? state.content.file : null;
    const files = state.styles.filter((s) => s.kind === "file").map((s) => s.file);
    let k = 0;
    const draft = {
      savedAt: Date.now(),
      preset: $("#preset").value,
      method: $("#method").value,
      fields: Object.fromEntries(SETTINGS_FIELDS.map(([, id]) => [id, document.getElementById(id).value])),
      asVideo: $("#as-video").checked,
      sheet: $("#sheet").checked,
      networkStyle: state.networkStyle,
      heldColors: state.heldColors,
      advanced: $("#advanced").open,
      styles: state.styles.map((s) => (s.kind === "builtin"
        ? { kind: "builtin", name: s.name, weight: s.weight }
        : { kind: "file", index: k++, weight: s.weight })),
    };
    const newContent = content !== draftFiles.content;
    const newStyles = !sameFiles(files, draftFiles.styles);
    try {
      const id = draftKey(true);
      await draftStore("readwrite", (store) => [
        store.put(draft, `${id}:form`),
        ...(newContent ? [store.put(content, `${id}:content`)] : []),
        ...(newStyles ? [store.put(files, `${id}:styles`)] : []),
      ]);
      draftFiles.content = content;
      draftFiles.styles = files;
      document.body.dataset.draftSaved = String(Date.now());
    } catch { /* not kept */ }
  }

  async function restoreDraft() {
    if (!window.indexedDB) return;
    await pruneDrafts();
    const id = draftKey(false);
    if (!id) return;
    let d, content, files;
    try {
      [d, content, files] = await draftStore("readonly", (store) => ["form", "content", "styles"].map((part) => store.get(`${id}:${part}`)));
    } catch { return; }
    if (!d) return;
    files = Array.isArray(files) ? files : [];
    draftRestoring = true;
    try {
      if (d.preset && d.preset in (state.info.presets || {})) applyPreset(d.preset);
      applyMethod(d.method);
      for (const [id, v] of Object.entries(d.fields || {})) {
        const input = document.getElementById(id);
        if (input && typeof v === "string") input.value = v;
      }
      setStrengthOutput($("#strength-value"), $("#strength").value);
      setFastStrengthOutput();
      $("#sheet").checked = !!d.sheet;
      $("#advanced").open = !!d.advanced;
      state.heldColors = $("#method").value === "fast" && d.heldColors === "histogram" ? "histogram" : null;
      renderColorsHint();
      setNetworkStyle(d.networkStyle ?? null);
      updateDefaults();
      if (content instanceof Blob) state.content = await describeFile(content);
      $("#as-video").checked = !!d.asVideo;
      const bundled = new Map((state.info.styles || []).map((st) => [st.name, st]));
      const styles = [];
      for (const s of d.styles || []) {
        let item = null;
        if (s.kind === "builtin" && bundled.has(s.name)) {
          item = builtinItem(bundled.get(s.name));
          await item.loaded;
        } else if (s.kind === "file" && files[s.index] instanceof Blob) {
          item = await describeFile(files[s.index]);
        }
        if (!item) continue;
        if (s.weight !== undefined) item.weight = s.weight;
        styles.push(item);
      }
      state.styles = styles;
      // What is stored is what the form now holds.
      draftFiles.content = state.content ? state.content.file : null;
      draftFiles.styles = styles.filter((s) => s.kind === "file").map((s) => s.file);
      renderChosen();
      syncGallery();
      renderMask();
    } catch { /* a draft that cannot be read back: the form as it is */ }
    finally { draftRestoring = false; }
    scheduleEstimate();
  }

  function setEstimate(stateName, text, message, fraction) {
    const box = $("#estimate");
    box.dataset.state = stateName;
    box.dataset.fits = stateName === "refused" ? "false" : (stateName === "fits" ? "true" : "");
    $("#estimate-text").textContent = text;
    const m = $("#estimate-message");
    m.hidden = !message;
    // (The server's messages start lower-case, as errors do on a command line.)
    m.textContent = message ? message[0].toUpperCase() + message.slice(1) : "";
    const bar = $("#estimate-bar");
    bar.style.width = fraction === null || fraction === undefined ? "0%" : `${Math.min(100, Math.max(2, fraction * 100))}%`;
    est.state = stateName;
    updateStart();
  }

  async function runEstimate() {
    const token = ++estimateToken;
    const problem = settingsProblem();
    if (problem) { setEstimate("invalid", "—", problem, null); return; }
    const network = usesNetworkStyle();
    if (!state.content || (state.styles.length === 0 && !network && !sheetOn())) {
      setEstimate("idle", "Choose a photo and a style to see the memory estimate.", "", null);
      return;
    }
    if (!state.content.ok || (!network && state.styles.some((s) => !s.ok || !s.w))) {
      setEstimate("unknown", "Unknown: an image could not be read in the browser.", "", null);
      return;
    }
    // Over the server's upload limit: said now, not after the upload.
    const limit = state.info && state.info.max_upload_bytes;
    const sending = uploadBytes();
    if (limit && sending > limit) {
      setEstimate("refused", "Too large to upload.",
        `The files come to ${fmtBytes(sending)}; this server takes at most ${fmtBytes(limit)} a job (stylize serve --max-upload). Scale the photo or paintings down, or start the server with a larger --max-upload.`, null);
      return;
    }
    const body = {
      settings: readSettings(),
      content: [state.content.w, state.content.h],
      styles: network ? [] : state.styles.map((s) => [s.w, s.h]),
      clip: $("#as-video").checked,
    };
    $("#estimate").dataset.state = "pending";
    try {
      const r = await fetch("/api/estimate", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      if (token !== estimateToken) return;
      if (!r.ok) { setEstimate("invalid", "—", await errorFrom(r), null); return; }
      const e = await r.json();
      if (token !== estimateToken) return;
      const limit = e.limit_bytes;
      if (e.bytes === null || e.bytes === undefined) {  // the images are too small for the settings
        setEstimate("refused", "Not possible with these settings.", e.message || "The images are too small for these settings.", null);
        return;
      }
      const text = `about ${e.human || fmtBytes(e.bytes)}` + (limit ? ` of ${fmtBytes(limit)} allowed` : " (no limit set)");
      const frac = limit ? e.bytes / limit : null;
      if (e.fits === false) setEstimate("refused", text, e.message || "This does not fit in memory.", frac);
      else setEstimate("fits", text, "", frac);
    } catch (err) {
      if (token !== estimateToken) return;
      setEstimate("unknown", "Could not get an estimate.", "", null);
    }
  }

  // The bytes a job's upload sends: the photo (or clip) and the uploaded
  // paintings (the mask, drawn small, is left out).
  function uploadBytes() {
    const styles = usesNetworkStyle() ? [] : state.styles.filter((s) => s.file);
    return (state.content ? state.content.file.size : 0) + styles.reduce((n, s) => n + s.file.size, 0);
  }

  function updateStart() {
    const start = $("#start");
    const ready = !!state.content && (state.styles.length > 0 || usesNetworkStyle() || sheetOn());
    renderSheetHint();
    const blocked = est.state === "refused" || est.state === "invalid";
    // While its upload goes, Start keeps the focus (aria-disabled; the
    // click waits its turn in startJob); otherwise the focus leaves it
    // for the form's title before it is disabled.
    setDisabled(start, !ready || blocked, $("#new-job-title"));
    start.setAttribute("aria-disabled", state.starting ? "true" : "false");
    const busy = [...state.jobs.values()].some((j) => j.state === "running" || j.state === "queued");
    start.textContent = state.starting ? "Uploading…" : busy ? "Add to queue" : "Start";
  }

  // ---------------------------------------------------------------- start a job
  async function startJob(e) {
    e.preventDefault();
    if ($("#start").disabled || state.starting) return;
    clearError();
    const problem = settingsProblem();
    if (problem) { showError(problem); return; }
    // One job a click: Start waits, saying so, until the server answers
    // (an upload of a large photo takes a while).
    state.starting = true;
    updateStart();
    try {
      await sendJob();
    } finally {
      state.starting = false;
      updateStart();
    }
  }

  async function sendJob() {
    const settings = readSettings();
    const fd = new FormData();
    fd.append($("#as-video").checked ? "video" : "content", state.content.file, state.content.name);
    // A built-in network style replaces the paintings.
    for (const s of usesNetworkStyle() ? [] : state.styles) {
      if (s.kind === "builtin") fd.append("builtin", s.name);
      else fd.append("style", s.file, s.name);
    }
    if (mask.on && maskApplies()) {
      if (mask.coverage === 0) {
        showError("The mask paints nothing: brush where to paint, or untick “Paint only where I brush”.");
        return;
      }
      try {
        const [blob, name] = await maskUpload();
        fd.append("mask", blob, name);
      } catch (err) {
        showError(`Could not send the mask: ${err.message}`);
        return;
      }
    }
    fd.append("settings", JSON.stringify(settings));
    let r;
    try {
      r = await fetch("/api/jobs", { method: "POST", body: fd });
    } catch (err) {
      showError(`Could not reach the server: ${err.message}`);
      return;
    }
    if (r.status !== 201 && !r.ok) {
      showError(`Could not start the job: ${await errorFrom(r)}`);
      return;
    }
    const job = await r.json();
    // Taken after a stop: a restarted server, which numbers its jobs from
    // 1 again. The old ones go before its reply could be read as theirs,
    // and its events are asked for now (not at the next retry).
    if (state.serverStopped) {
      serverBack();
      reconnectDelay = 500;
      connect();
    }
    upsertJob(job, true);
    // A new job is "queued" until the worker takes it, at once when idle:
    // it waits only behind other jobs.
    const ahead = [...state.jobs.values()].filter((j) => j.id < job.id && (j.state === "running" || j.state === "queued")).length;
    notice(ahead ? `Job #${job.id} queued: ${ahead} ${ahead === 1 ? "job" : "jobs"} ahead.` : `Job #${job.id} started.`);
  }

  // ---------------------------------------------------------------- jobs
  function upsertJob(job, fromRequest = false) {
    const old = state.jobs.get(job.id);
    // A request's reply can arrive after the events that followed it: never go back in state.
    if (fromRequest && old && old.state !== "queued") return;
    state.jobs.set(job.id, Object.assign(old || {}, job));
    scheduleRender();
  }

  async function cancelJob(id) {
    try {
      const r = await fetch(`/api/jobs/${id}/cancel`, { method: "POST" });
      if (!r.ok) { showError(`Could not cancel job #${id}: ${await errorFrom(r)}`); return; }
      // The reply says "running" for a running job; its "cancelled" event
      // may come first (a job stopped before its first step ends at once).
      upsertJob(await r.json(), true);
    } catch (err) { showError(`Could not cancel: ${err.message}`); }
  }

  async function removeJob(id, btn) {
    // Focus on the button goes, after, to the same button of the item that
    // takes its place (or the one before), else to the list's heading: not
    // lost to the page's body.
    // The neighbours are noted now: the server's "removed" event may take
    // the item out of the page before its reply comes.
    const hadFocus = !!btn && document.activeElement === btn;
    const li = btn?.closest("li");
    const section = btn?.closest("section");
    const neighbours = [li?.nextElementSibling, li?.previousElementSibling].map((n) => n?.dataset.jobId).filter(Boolean);
    let removed = false;
    if (btn) btn.disabled = true;
    try {
      const r = await fetch(`/api/jobs/${id}`, { method: "DELETE" });
      if (r.status === 204 || r.ok) {
        state.jobs.delete(id);
        removed = true;
      } else {
        showError(`Could not remove job #${id}: ${await errorFrom(r)}`);
        if (btn) btn.disabled = false;
      }
    } catch (err) {
      showError(`Could not remove: ${err.message}`);
      if (btn) btn.disabled = false;
    }
    if (!removed) return;
    if (!hadFocus) { scheduleRender(); return; }
    render();
    const same = neighbours
      .map((jid) => $(`[data-job-id="${jid}"] [data-testid="${btn.dataset.testid}"]`, section))
      .find((b) => b);
    (same || $("h2", section))?.focus();
  }

  // ---------------------------------------------------------------- events
  let es = null;
  let reconnectTimer = 0;
  let reconnectDelay = 500;

  function setConnection(s, text) {
    const c = $("#connection");
    c.dataset.state = s;
    c.textContent = text;
  }

  function connect() {
    clearTimeout(reconnectTimer);
    if (es) es.close();
    setConnection("connecting", "connecting…");
    es = new EventSource("/api/events");
    es.addEventListener("open", () => { reconnectDelay = 500; });
    es.addEventListener("error", () => {
      // After a shutdown the pill keeps saying so while the page retries.
      const stopped = state.serverStopped ? "server stopped, " : "";
      if (es.readyState === EventSource.CLOSED) {
        setConnection("offline", `${stopped || "offline, "}retrying…`);
        reconnectTimer = setTimeout(connect, reconnectDelay);
        reconnectDelay = Math.min(10000, reconnectDelay * 2);
      } else if (stopped) {
        setConnection("offline", `${stopped}reconnecting…`);
      } else {
        setConnection("connecting", "reconnecting…");
      }
    });
    es.addEventListener("snapshot", (ev) => onSnapshot(parse(ev)));
    for (const type of ["queued", "started", "done", "failed", "cancelled"]) {
      es.addEventListener(type, (ev) => onJobEvent(type, parse(ev)));
    }
    es.addEventListener("progress", (ev) => onProgress(parse(ev)));
    es.addEventListener("preview", (ev) => onPreview(parse(ev)));
    es.addEventListener("removed", (ev) => onRemoved(parse(ev)));
    // The server is stopping; the stream ends and the browser reconnects by itself.
    es.addEventListener("shutdown", onShutdown);
  }

  function parse(ev) {
    try { return JSON.parse(ev.data); } catch { return null; }
  }

  function fresh(d) {
    if (!d || typeof d.seq !== "number") return !!d;
    if (d.seq <= state.lastSeq) return false;
    state.lastSeq = d.seq;
    return true;
  }

  // The server stopped: its running and waiting jobs end with it (a
  // restarted server starts with none), rather than show as running
  // forever. The running one stopped as a cancel stops it (its image so
  // far kept with --output-dir); the waiting ones never ran. Neither
  // failed. (No event comes for them: `shutdown` stands for them.)
  function onShutdown() {
    state.serverStopped = true;
    setConnection("offline", "server stopped");
    let stopped = null;
    let unrun = 0;
    for (const job of state.jobs.values()) {
      if (job.state === "running") {
        job.state = "stopped";
        job.stopNote = stoppedNote(job);
        stopped = job;
      } else if (job.state === "queued") {
        job.state = "not-run";
        job.stopNote = "It was waiting when the server stopped, and never ran.";
        unrun++;
      }
    }
    const ended = [
      stopped && `job #${stopped.id} stopped part-way`,
      unrun && `${unrun} waiting ${unrun === 1 ? "job" : "jobs"} did not run`,
    ].filter(Boolean);
    showError(`The server stopped${ended.length ? `: ${ended.join("; ")}` : ""}. Start stylize serve again to go on; this page reconnects by itself.`);
    scheduleRender();
  }

  // Where a job that the stop ended while it ran left its picture so far:
  // the server keeps it, as a cancel does, when it keeps results (named as
  // the result, with `-stopped`); a fast photo's pass cut short leaves none.
  function stoppedNote(job) {
    const fast = job.settings?.method === "fast";
    const video = job.kind === "video";
    const at = video ? (job.frames ? ` after ${job.frames_done || 0} of ${job.frames} frames` : "")
      : fast ? "" : ` at iteration ${job.iteration || 0} of ${job.iterations}`;
    if (fast && !video) return `Stopped with the server${at}: the fast network's pass, cut short, leaves no picture.`;
    const what = video ? "the GIF of its finished frames" : "its image so far";
    if (!state.info?.keeps_results) return `Stopped with the server${at}. This server keeps no results: ${what} went with it (one started with --output-dir keeps it there).`;
    const m = /^(.*?)(\.[^.]*)?$/.exec(job.result_name || "");
    const name = m[1] ? `${m[1]}-stopped${m[2] || (video ? ".gif" : ".png")}` : null;
    const as = name ? `, as ${name} (numbered where that name was taken)` : "";
    // No step (or frame) seen done: the stop may have come in the set-up,
    // which leaves nothing to keep (before: said kept, and none was); one
    // done after the last the page saw is kept all the same.
    const none = video ? !(job.frames_done > 0) : !(job.iteration > 0);
    if (none) return `Stopped with the server${at}, before a ${video ? "frame" : "step"} was done here: ${what} is kept in the server's output folder${as} only if one was done after all; otherwise nothing was painted.`;
    return `Stopped with the server${at}: ${what} is kept in the server's output folder${as}.`;
  }

  // A restarted server numbers its jobs from 1 again: nothing the page
  // held for the old server's jobs (their costs, the live card's job, the
  // preview shown and how far it got) may pass to a new job of an old id.
  function forgetJobs() {
    state.epoch++;
    state.jobs = new Map();
    state.costs.clear();
    state.liveId = null;
    state.lastSeq = -1;
    previewClear();
    historyEls.forEach((entry) => entry.el.remove());
    historyEls.clear();
    $("#queue").replaceChildren();
    scheduleRender();
  }

  // Back after a stop: the old jobs are gone (results kept with
  // --output-dir stay on disk), and so is the reason for the error.
  function serverBack() {
    state.serverStopped = false;
    forgetJobs();
    clearError();
    notice("Connected again: the server was restarted, and the jobs before it are gone.");
    refreshKeeping();
  }

  // Whether a job the page knows and a snapshot's job of the same id are
  // two jobs (of two servers): other names, or one that had ended and now
  // waits or runs, or fewer previews.
  function otherJob(old, job) {
    if (!old) return false;
    const ended = (j) => !["queued", "running"].includes(j.state);
    return old.content_name !== job.content_name
      || JSON.stringify(old.style_names) !== JSON.stringify(job.style_names)
      || (ended(old) && !ended(job))
      || (job.preview_seq || 0) < (old.preview_seq || 0);
  }

  function onSnapshot(d) {
    if (!d) return;
    // Another server than the last one seen: one that stopped, or whose
    // events count from lower again (it was stopped unseen), or that knows
    // an id as another job. Names alone do not tell: the same photo and
    // painting may be sent again.
    if (state.serverStopped) serverBack();
    else if ((typeof d.seq === "number" && d.seq < state.lastSeq) || (d.jobs || []).some((j) => otherJob(state.jobs.get(j.id), j))) forgetJobs();
    setConnection("live", "live");
    state.lastSeq = typeof d.seq === "number" ? d.seq : -1;
    const ids = new Set();
    for (const job of d.jobs || []) ids.add(job.id);
    for (const id of [...state.costs.keys()]) if (!ids.has(id)) state.costs.delete(id);
    if (state.liveId !== null && !ids.has(state.liveId)) {
      state.liveId = null;
      previewClear();
    }
    state.jobs = new Map((d.jobs || []).map((j) => [j.id, j]));
    historyEls.forEach((entry) => entry.el.remove());
    historyEls.clear();
    $("#queue").replaceChildren();
    for (const job of state.jobs.values()) {
      if (job.state === "running" && (state.costs.get(job.id) || []).length === 0) backfillCosts(job.id);
    }
    if (state.liveId !== null) { const j = state.jobs.get(state.liveId); previewWant(j.id, j.preview_seq || 0); }
    scheduleRender();
  }

  function onJobEvent(type, job) {
    if (!fresh(job) || !job || job.id === undefined) return;
    const copy = Object.assign({}, job);
    delete copy.seq;
    if (type === "started") state.costs.set(job.id, []);
    upsertJob(copy);
    // A job's end is said (a failure is, by the live card's alert).
    if (type === "done" || type === "cancelled") notice(`Job #${job.id} ${type}.`);
  }

  function onProgress(d) {
    if (!fresh(d)) return;
    const job = state.jobs.get(d.id);
    if (!job) return;
    for (const k of ["iteration", "iterations", "costs", "its_per_s", "eta_s", "elapsed_s", "scale", "scales", "frames", "frames_done"]) {
      if (k in d) job[k] = d[k];
    }
    if (job.state === "queued") job.state = "running";
    if (d.costs) {
      let list = state.costs.get(d.id);
      if (!list) { list = []; state.costs.set(d.id, list); }
      // A clip's frames each count their iterations from 1: its steps are
      // plotted one after another. A new frame is told by the frames done
      // (each frame's preview comes before the next frame's progress), as
      // a frame of one iteration repeats the number.
      if (list.step === undefined) { list.step = 0; list.frameIt = 0; list.frame = job.frames_done || 0; }
      const newFrame = (job.frames_done || 0) !== list.frame || d.iteration < list.frameIt;
      if (newFrame || d.iteration > list.frameIt) {
        list.step += newFrame ? d.iteration : d.iteration - list.frameIt;
        list.frameIt = d.iteration;
        list.frame = job.frames_done || 0;
        list.push({ it: list.step, total: d.costs.total, content: d.costs.content, style: d.costs.style });
      }
    }
    scheduleRender();
  }

  function onPreview(d) {
    if (!fresh(d)) return;
    const job = state.jobs.get(d.id);
    if (job) {
      job.preview_seq = Math.max(job.preview_seq || 0, d.preview_seq);
      if (typeof d.frame === "number") {  // a video job: one preview per finished frame
        job.frames_done = Math.max(job.frames_done || 0, d.frame);
        if (typeof d.frames === "number") job.frames = d.frames;
        scheduleRender();
      }
    }
    previewWant(d.id, d.preview_seq);
  }

  function onRemoved(d) {
    if (!fresh(d)) return;
    state.jobs.delete(d.id);
    scheduleRender();
  }

  async function backfillCosts(id) {
    const epoch = state.epoch;
    try {
      const r = await fetch(`/api/jobs/${id}/costs.csv`, { cache: "no-store" });
      if (!r.ok) return;
      const lines = (await r.text()).trim().split(/\r?\n/);
      const head = lines.shift().split(",");
      const col = (n) => head.indexOf(n);
      const [ci, ct, cc, cs] = [col("iteration"), col("total"), col("content"), col("style")];
      // (An old server's file, come after a restart, is not the new job's.)
      if (epoch !== state.epoch) return;
      const rows = lines.map((l) => l.split(","));
      const pts = rows.map((r, i) => ({ it: i + 1, total: +r[ct], content: +r[cc], style: +r[cs] }));
      // Use the file's iteration numbers when they count over all scales (strictly increasing).
      const its = rows.map((r) => +r[ci]);
      if (ci >= 0 && its.every((v, i) => i === 0 || v > its[i - 1])) pts.forEach((p, i) => { p.it = its[i]; });
      const job = state.jobs.get(id);
      if (job && job.kind === "video") {
        // A clip's rows are its frames' steps one after another: the file
        // so far is the plot, and live steps go on from its last.
        pts.step = pts.length;
        pts.frameIt = job.iteration || 0;
        pts.frame = job.frames_done || 0;
        state.costs.set(id, pts);
        scheduleRender();
        return;
      }
      const cur = state.costs.get(id) || [];
      const firstLive = cur.length ? cur[0].it : Infinity;
      state.costs.set(id, pts.filter((p) => p.it < firstLive).concat(cur));
      scheduleRender();
    } catch { /* the plot just starts later */ }
  }

  // ---------------------------------------------------------------- preview (no flicker)
  // One fetch at a time. While one is in flight, newer previews only raise
  // `wanted`; when it finishes, the latest one is fetched. The visible image
  // is swapped only after the new one has loaded.
  const pv = { jobId: null, gen: 0, inFlight: false, wanted: 0, shown: 0, kind: "none", wantResult: false, resultShown: false, url: null };

  function previewSwitch(job) {
    pv.gen++;
    pv.jobId = job.id;
    pv.wanted = job.preview_seq || 0;
    pv.shown = 0;
    pv.wantResult = false;
    pv.resultShown = false;
    pv.kind = "none";
    const img = $("#preview");
    img.dataset.job = String(job.id);
    // Until the first preview, show the photo (the optimisation starts from it).
    const gen = pv.gen;
    const url = `/api/jobs/${job.id}/content`;
    loadImage(url).then(() => {
      if (gen !== pv.gen || pv.kind !== "none") return;
      swapPreview(url, 0, "content", false);
    }).catch(() => {});
    pumpPreview();
  }

  // No job to show (the last one was removed): back to the empty frame and
  // its hint; a preview still on its way is dropped (the generation moves on).
  function previewClear() {
    pv.gen++;
    pv.jobId = null;
    pv.wanted = 0;
    pv.shown = 0;
    pv.wantResult = false;
    pv.resultShown = false;
    pv.kind = "none";
    if (pv.url) URL.revokeObjectURL(pv.url);
    pv.url = null;
    const img = $("#preview");
    img.hidden = true;
    img.removeAttribute("src");
    img.dataset.seq = "0";
    img.dataset.kind = "none";
    delete img.dataset.job;
    $("#preview-empty").hidden = false;
  }

  function previewWant(jobId, seq) {
    if (pv.jobId !== jobId) return;
    if (seq > pv.wanted) pv.wanted = seq;
    pumpPreview();
  }

  function previewWantResult(jobId) {
    if (pv.jobId !== jobId || pv.resultShown) return;
    pv.wantResult = true;
    pumpPreview();
  }

  function swapPreview(url, seq, kind, isBlob) {
    const img = $("#preview");
    const old = pv.url;
    img.src = url;
    img.dataset.seq = String(seq);
    img.dataset.kind = kind;
    img.alt = kind === "result" ? `Result of job #${pv.jobId}` : kind === "content" ? `Photo of job #${pv.jobId}` : `Live preview of job #${pv.jobId}`;
    img.hidden = false;
    $("#preview-empty").hidden = true;
    pv.kind = kind;
    pv.url = isBlob ? url : null;
    // Keep the old object URL alive a little (anyone reading it right now).
    if (old) setTimeout(() => URL.revokeObjectURL(old), 10000);
    img.dispatchEvent(new CustomEvent("preview-swap", { detail: { seq, kind } }));
  }

  async function pumpPreview() {
    if (pv.inFlight || pv.jobId === null) return;
    const gen = pv.gen;
    const id = pv.jobId;
    let seq = 0;
    let url;
    let kind;
    if (pv.wanted > pv.shown) { seq = pv.wanted; url = `/api/jobs/${id}/preview?seq=${seq}`; kind = "preview"; }
    else if (pv.wantResult && !pv.resultShown) { url = `/api/jobs/${id}/result`; kind = "result"; seq = pv.shown; }
    else return;
    pv.inFlight = true;
    try {
      const r = await fetch(url, { cache: "no-store" });
      if (r.ok) {
        const blob = await r.blob();
        const obj = URL.createObjectURL(blob);
        try {
          const img = await loadImage(obj);
          if (img.decode) await img.decode().catch(() => {});
          if (gen === pv.gen) swapPreview(obj, seq, kind, true);
          else URL.revokeObjectURL(obj);
        } catch { URL.revokeObjectURL(obj); }
      }
    } catch { /* the next preview event retries */ }
    finally {
      pv.inFlight = false;
      if (gen === pv.gen) {
        if (kind === "preview") pv.shown = Math.max(pv.shown, seq);
        else pv.resultShown = true;
      }
    }
    pumpPreview();
  }

  // ---------------------------------------------------------------- cost plot
  // Drawn in this order: the total (about content + style) last, dashed, so the
  // part it covers stays visible.
  const PLOT_SERIES = [
    ["content", "--plot-content"],
    ["style", "--plot-style"],
    ["total", "--plot-total"],
  ];

  function drawPlot() {
    const canvas = $("#cost-plot");
    const rect = canvas.getBoundingClientRect();
    if (rect.width === 0) return;
    const dpr = window.devicePixelRatio || 1;
    const W = Math.round(rect.width * dpr), H = Math.round(rect.height * dpr);
    if (canvas.width !== W || canvas.height !== H) { canvas.width = W; canvas.height = H; }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const w = rect.width, h = rect.height;
    ctx.clearRect(0, 0, w, h);
    const cs = getComputedStyle(document.documentElement);
    const grid = cs.getPropertyValue("--plot-grid").trim() || "#8884";
    const text = cs.getPropertyValue("--muted").trim() || "#888";
    const job = state.liveId !== null ? state.jobs.get(state.liveId) : null;
    const pts = (job && state.costs.get(job.id)) || [];
    const padL = 44, padR = 10, padT = 8, padB = 20;
    const pw = w - padL - padR, ph = h - padT - padB;
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = text;
    let lo = Infinity, hi = -Infinity;
    for (const p of pts) for (const [k] of PLOT_SERIES) {
      const v = p[k];
      if (v > 0 && isFinite(v)) { const l = Math.log10(v); if (l < lo) lo = l; if (l > hi) hi = l; }
    }
    if (!isFinite(lo)) {
      ctx.strokeStyle = grid;
      ctx.strokeRect(0.5, 0.5, w - 1, h - 1);
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      const empty = !job ? "the costs appear here as the job runs"
        : job.settings?.method === "fast" ? "the fast network paints in one pass: no costs"
        : "waiting for the first costs…";
      ctx.fillText(empty, w / 2, h / 2);
      return;
    }
    lo = Math.floor(lo * 2) / 2; hi = Math.ceil(hi * 2) / 2;
    if (hi - lo < 1) { hi = Math.ceil(hi); lo = Math.min(lo, hi - 1); }
    const xMax = Math.max((job && job.iterations) || 1, pts[pts.length - 1].it);
    const xMin = Math.min(pts[0].it, 0);
    const X = (it) => padL + ((it - xMin) / Math.max(1, xMax - xMin)) * pw;
    const Y = (v) => padT + (1 - (Math.log10(v) - lo) / (hi - lo)) * ph;
    // grid: decades
    ctx.strokeStyle = grid;
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    const step = hi - lo > 8 ? 2 : 1;
    for (let d = Math.ceil(lo); d <= Math.floor(hi); d += step) {
      const y = Math.round(padT + (1 - (d - lo) / (hi - lo)) * ph) + 0.5;
      ctx.beginPath(); ctx.moveTo(padL, y); ctx.lineTo(padL + pw, y); ctx.stroke();
      ctx.fillText(`1e${d}`, padL - 6, y);
    }
    ctx.strokeRect(padL + 0.5, padT + 0.5, pw, ph);
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    ctx.fillText("0", X(0), padT + ph + 4);
    ctx.fillText(String(xMax), Math.min(X(xMax), padL + pw - 12), padT + ph + 4);
    ctx.fillText("iteration", padL + pw / 2, padT + ph + 4);
    for (const [k, varName] of PLOT_SERIES) {
      ctx.strokeStyle = cs.getPropertyValue(varName).trim() || "#888";
      ctx.lineWidth = k === "total" ? 1.5 : 2;
      ctx.setLineDash(k === "total" ? [5, 4] : []);
      ctx.beginPath();
      let pen = false;
      for (const p of pts) {
        const v = p[k];
        if (!(v > 0) || !isFinite(v)) { pen = false; continue; }
        const x = X(p.it), y = Y(v);
        if (pen) ctx.lineTo(x, y); else { ctx.moveTo(x, y); pen = true; }
      }
      ctx.stroke();
    }
    ctx.setLineDash([]);
  }

  // ---------------------------------------------------------------- rendering
  let renderQueued = false;
  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => { renderQueued = false; render(); });
  }

  function render() {
    renderLive();
    renderQueue();
    renderHistory();
    updateStart();
  }

  function pickLive() {
    const jobs = [...state.jobs.values()];
    const running = jobs.find((j) => j.state === "running");
    if (running) return running.id;
    // Else the last job to have run: a newer one that started and ended
    // between two renders (a quick fast job) replaces the one shown.
    // (Not one the server's stop left unrun.)
    const ended = jobs.filter((j) => j.state !== "queued" && j.state !== "not-run").reduce((a, j) => (!a || j.id > a.id ? j : a), null);
    if (ended && (state.liveId === null || !state.jobs.has(state.liveId) || ended.id > state.liveId)) return ended.id;
    if (state.liveId !== null && state.jobs.has(state.liveId)) return state.liveId;
    return null;
  }

  function renderLive() {
    const id = pickLive();
    const live = $("#live");
    if (id !== state.liveId) {
      state.liveId = id;
      if (id !== null) previewSwitch(state.jobs.get(id));
      else previewClear();
    }
    const job = id !== null ? state.jobs.get(id) : null;
    const cancel = $("#cancel");
    if (!job) {
      live.dataset.state = "idle";
      delete live.dataset.job;
      $("#live-title").textContent = "Now running";
      $("#live-job").textContent = "";
      $("#live-state").hidden = true;
      setDisabled(cancel, true, $("#live-title"));
      $("#iteration-label").textContent = "Iteration";
      $("#iteration").textContent = "–";
      $("#its-per-s").textContent = "–";
      $("#speed-stat").hidden = false;
      $("#plot-legend").hidden = false;
      $("#eta").textContent = "–";
      $("#elapsed").textContent = "–";
      $("#progress-bar").style.width = "0%";
      setProgressValue(0, "no job running");
      $("#scale-info").textContent = "";
      $("#frame-stat").hidden = true;
      $("#live-error").hidden = true;
      drawPlot();
      return;
    }
    live.dataset.state = job.state;
    live.dataset.job = String(job.id);
    $("#live-title").textContent = job.state === "running" ? "Now running" : "Last job";
    $("#live-job").textContent = `#${job.id} ${jobTitle(job)}`;
    // The whole title on hover, where a narrow window cuts it short.
    $("#live-job").title = $("#live-job").textContent;
    const badge = $("#live-state");
    badge.hidden = false;
    badge.textContent = stateLabel(job.state);
    badge.dataset.state = job.state;
    setDisabled(cancel, job.state !== "running", $("#live-title"));
    const its = job.iterations || 0;
    const isVideo = job.kind === "video";
    // The fast network counts its passes: a sheet's tiles, a clip's frames.
    const fastJob = job.settings?.method === "fast";
    // (A fast clip of a length its file does not give: the frames so far.)
    $("#iteration").textContent = fastJob && isVideo && !job.frames ? `${job.iteration ?? 0}` : `${job.iteration ?? 0} / ${its}`;
    // An optimiser's clip counts each frame's iterations afresh.
    $("#iteration-label").textContent = !fastJob ? (isVideo ? "Iteration in frame" : "Iteration") : job.settings?.sheet ? "Tile" : isVideo ? "Frame" : "Pass";
    // (A fast clip's passes are its frames, counted above already.)
    $("#frame-stat").hidden = !isVideo || fastJob;
    if (isVideo) {
      const n = job.frames || 0;
      const done = job.frames_done || 0;
      // While running: the frame being painted; afterwards: the frames finished.
      const k = job.state === "running" ? (n ? Math.min(done + 1, n) : done + 1) : done;
      $("#frame").textContent = n ? `frame ${k} of ${n}` : `frame ${k}`;
      $("#frame").dataset.done = String(done);
    }
    // The fast network: frames per second for a clip, nothing for one photo.
    const fast = job.settings?.method === "fast";
    const unit = fast ? "frames/s" : "it/s";
    const rate = fast && !isVideo ? null : job.its_per_s;
    $("#its-per-s").textContent = rate ? `${rate >= 100 ? Math.round(rate) : +rate.toPrecision(3)} ${unit}` : "–";
    // One photo through the network has no rate to show, and no fast job
    // has costs: their row and the plot's legend are hidden.
    $("#speed-stat").hidden = fast && !isVideo;
    $("#plot-legend").hidden = fast;
    $("#eta").textContent = job.state === "running" ? fmtTime(job.eta_s) : (job.state === "done" ? "0:00" : "–");
    $("#elapsed").textContent = fmtTime(job.elapsed_s);
    // An optimiser's clip: the whole clip's progress (its iterations are
    // each frame's), not the frame's.
    const clipFrames = isVideo && !fastJob ? job.frames || 0 : 0;
    const part = its ? Math.min(1, (job.iteration || 0) / its) : 0;
    const fraction = clipFrames
      ? Math.min(1, ((job.frames_done || 0) + (job.state === "running" ? part : 0)) / clipFrames)
      : part;
    $("#progress-bar").style.width = `${100 * fraction}%`;
    const percent = Math.round(100 * fraction);
    setProgressValue(percent, job.state === "running"
      ? `${percent}%${job.eta_s != null ? `, ${fmtTime(job.eta_s)} left` : ""}`
      : `${percent}%, ${job.state}`);
    $("#scale-info").textContent = job.scales > 1 && job.scale ? `scale ${job.scale} of ${job.scales}` : settingsSummary(job.settings);
    const err = $("#live-error");
    const warned = (job.warnings || []).length > 0;
    err.hidden = job.state !== "failed" && !job.stopNote && !warned;
    err.textContent = job.state === "failed"
      ? `Failed: ${job.error || "unknown error"}`
      : job.stopNote || (warned ? `Note: ${job.warnings.join(" ")}` : "");
    if (job.has_result && job.state !== "running") previewWantResult(job.id);
    drawPlot();
  }

  // The progress bar's value as assistive technology reads it.
  function setProgressValue(percent, text) {
    const bar = $("#progress");
    bar.setAttribute("aria-valuenow", String(percent));
    bar.setAttribute("aria-valuetext", text);
  }

  function renderQueue() {
    // The server's queue is first in, first out: in the order of the ids.
    const queued = [...state.jobs.values()].filter((j) => j.state === "queued").sort((a, b) => a.id - b.id);
    const ol = $("#queue");
    const tpl = $("#queue-item-template");
    const existing = new Map([...ol.children].map((li) => [Number(li.dataset.jobId), li]));
    const keep = new Set();
    queued.forEach((job, i) => {
      let li = existing.get(job.id);
      if (!li) {
        li = tpl.content.firstElementChild.cloneNode(true);
        li.dataset.jobId = String(job.id);
        // (An MP4/WebM clip does not show in an <img>: no thumbnail then.)
        if (!(job.kind === "video" && /\.(mp4|webm|m4v|mov)$/i.test(job.content_name || ""))) $(".queue-thumb", li).src = `/api/jobs/${job.id}/content`;
        $("[data-testid=remove]", li).addEventListener("click", (e) => removeJob(job.id, e.currentTarget));
        $("[data-testid=remove]", li).setAttribute("aria-label", `Remove job ${job.id} from the queue`);
      }
      keep.add(job.id);
      // The place in this list: the server's queue_position is only sent
      // with the job's own events, so it goes stale as jobs ahead start.
      const pos = i + 1;
      $(".position", li).textContent = String(pos);
      $(".position", li).title = `position ${pos} in the queue`;
      $(".queue-title", li).textContent = `#${job.id} ${jobTitle(job)}`;
      $(".queue-meta", li).textContent = settingsSummary(job.settings);
      if (ol.children[i] !== li) ol.insertBefore(li, ol.children[i] || null);
    });
    for (const [id, li] of existing) if (!keep.has(id)) li.remove();
    $("#queue-empty").hidden = queued.length > 0;
    $("#queue-count").textContent = queued.length ? `${queued.length} waiting` : "";
  }

  const historyEls = new Map(); // id -> {el, key}

  // A state as shown: the server's, or "stopped" and "not run" for the
  // jobs its stop ended (the page's own).
  function stateLabel(s) {
    return s === "not-run" ? "not run" : s;
  }

  function renderHistory() {
    const finished = [...state.jobs.values()].filter((j) => !["queued", "running"].includes(j.state))
      .sort((a, b) => b.id - a.id);
    const ol = $("#history");
    const keep = new Set();
    finished.forEach((job, i) => {
      const key = `${job.state}:${job.has_result}`;
      let entry = historyEls.get(job.id);
      if (!entry || entry.key !== key) {
        const li = buildHistoryItem(job);
        if (entry) entry.el.replaceWith(li);
        entry = { el: li, key };
        historyEls.set(job.id, entry);
      }
      keep.add(job.id);
      if (ol.children[i] !== entry.el) ol.insertBefore(entry.el, ol.children[i] || null);
    });
    for (const [id, entry] of historyEls) if (!keep.has(id)) { entry.el.remove(); historyEls.delete(id); }
    $("#history-empty").hidden = finished.length > 0;
    $("#history-count").textContent = finished.length ? `${finished.length} finished` : "";
    $("#download-all").hidden = !finished.some((j) => j.has_result);
  }

  function buildHistoryItem(job) {
    const li = $("#history-item-template").content.firstElementChild.cloneNode(true);
    li.dataset.jobId = String(job.id);
    li.dataset.state = job.state;
    $(".history-title", li).textContent = `#${job.id} ${jobTitle(job)}`;
    const badge = $("[data-testid=history-state]", li);
    badge.textContent = job.state === "cancelled" && job.has_result ? "cancelled · kept" : stateLabel(job.state);
    badge.dataset.state = job.state;
    const meta = [settingsSummary(job.settings)];
    // The result's size: the photo's for the optimiser; a fast job's (its
    // `size`, or a sheet's tiles) is read from the picture once loaded.
    const sizeFromResult = job.settings?.method === "fast";
    if (job.width && job.height && !sizeFromResult) meta.push(`${job.width}×${job.height}`);
    if (job.state !== "done" && job.state !== "not-run" && job.iterations) meta.push(`stopped at ${job.iteration} / ${job.iterations}`);
    if (job.kind === "video" && job.frames) meta.push(`${job.frames_done || 0} of ${job.frames} frames`);
    if (job.elapsed_s) meta.push(fmtTime(job.elapsed_s));
    if (job.costs && job.costs.total !== undefined) meta.push(`cost ${fmtNum(job.costs.total)}`);
    const metaEl = $(".history-meta", li);
    metaEl.textContent = meta.join(" · ");
    const showSize = (img) => img.addEventListener("load", () => {
      meta.splice(1, 0, `${img.naturalWidth}×${img.naturalHeight}`);
      metaEl.textContent = meta.join(" · ");
    }, { once: true });

    const compareWrap = $(".compare-wrap", li);
    const compare = $(".compare", li);
    if (job.has_result) {
      if (job.width && job.height) {
        compare.style.aspectRatio = `${job.width} / ${job.height}`;
        compare.style.setProperty("--ar", `${job.width} / ${job.height}`);
      }
      const isVideo = job.kind === "video";
      const contentUrl = `/api/jobs/${job.id}/content`;
      if (isVideo && /\.(mp4|webm|m4v|mov)$/i.test(job.content_name || "")) {
        // An MP4/WebM clip does not show in an <img>.
        $(".compare-content", li).replaceWith(el("video", {
          class: "compare-content", src: contentUrl, muted: true, loop: true, autoplay: true, playsinline: true,
          "aria-label": "Clip (before)",
        }));
      } else {
        $(".compare-content", li).src = contentUrl;
        if (isVideo) $(".compare-content", li).alt = "Clip (before)";
      }
      if (isVideo) $(".compare-result", li).alt = "Result GIF (after)";
      $(".compare-result", li).src = `/api/jobs/${job.id}/result`;
      if (sizeFromResult && !job.settings?.sheet) showSize($(".compare-result", li));
      const range = $(".compare-range", li);
      range.setAttribute("aria-label", `Job ${job.id}: reveal the photo (left) or the result (right)`);
      const setPos = () => {
        compare.style.setProperty("--pos", `${range.value}%`);
        range.setAttribute("aria-valuetext", `${range.value}% result, ${100 - range.value}% photo`);
      };
      range.addEventListener("input", setPos);
      setPos();
      const sbs = $("[data-testid=side-by-side]", li);
      sbs.addEventListener("click", () => {
        const on = sbs.getAttribute("aria-pressed") !== "true";
        sbs.setAttribute("aria-pressed", on ? "true" : "false");
        compareWrap.classList.toggle("side-by-side", on);
      });
      if (job.settings?.sheet) {
        // A sheet is not the photo's shape: shown whole, opened full size on a click.
        const sheet = el("img", { src: `/api/jobs/${job.id}/result`, alt: `Contact sheet of job ${job.id}: the photo, then each style, numbered`, loading: "lazy" });
        showSize(sheet);
        compare.replaceWith(el("a", { class: "sheet-result", href: `/api/jobs/${job.id}/result`, target: "_blank", rel: "noopener", "data-testid": "sheet-result" }, sheet));
        $(".compare-tools", li).remove();
      }
      const dl = $("[data-testid=download-result]", li);
      dl.href = `/api/jobs/${job.id}/result`;
      // The server's name for it, as the output folder and the ZIP have it.
      dl.setAttribute("download", job.result_name || `stylize-${job.id}.${job.kind === "video" ? "gif" : "png"}`);
      if (job.kind === "video") dl.textContent = "Download GIF";
    } else {
      compareWrap.classList.add("no-result");
      compare.replaceChildren(el("div", { class: "no-result-text", text: job.state === "failed" || job.state === "not-run" ? stateLabel(job.state) : "no result" }));
      $(".compare-tools", li).remove();
      $("[data-testid=download-result]", li).remove();
    }
    const csv = $("[data-testid=download-costs]", li);
    // A fast job has no iterations, so no costs; nor has a job that never ran.
    if ((job.state === "cancelled" && !job.has_result) || job.state === "not-run" || job.settings?.method === "fast") csv.remove();
    else {
      csv.href = `/api/jobs/${job.id}/costs.csv`;
      csv.setAttribute("download", job.result_name ? `${job.result_name.replace(/\.[^.]*$/, "")}-costs.csv` : `stylize-${job.id}-costs.csv`);
    }

    const err = $(".history-error", li);
    if (job.state === "failed") { err.hidden = false; err.textContent = job.error || "failed"; }
    // With `serve --output-dir`: the file the result was also written to.
    if (job.kept_as) {
      const kept = $(".history-kept", li);
      kept.hidden = false;
      kept.textContent = `Saved in the server's output folder as ${job.kept_as}`;
    } else if (job.stopNote) {  // (what the server's stop did with it)
      const kept = $(".history-kept", li);
      kept.hidden = false;
      kept.textContent = job.stopNote;
    }

    $("[data-testid=run-again]", li).addEventListener("click", () => runAgain(job.id));
    const remove = $("[data-testid=remove-finished]", li);
    remove.setAttribute("aria-label", `Remove job ${job.id} and its files from the history`);
    remove.addEventListener("click", (e) => removeJob(job.id, e.currentTarget));
    const code = $("[data-testid=command]", li);
    // Its words, each kept on one line; the text is the command, unchanged.
    const words = (job.command || "").split(" ");
    code.replaceChildren(...words.flatMap((w, i) => [i ? " " : null, el("span", { class: "arg", text: w })]).filter((n) => n !== null));
    const copy = $("[data-testid=copy-command]", li);
    if (!job.command) copy.remove();
    else copy.addEventListener("click", () => copyText(job.command, copy));
    return li;
  }

  async function copyText(text, btn) {
    let ok = false;
    try {
      if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(text); ok = true; }
    } catch { /* fall back */ }
    if (!ok) {
      const ta = el("textarea", { class: "visually-hidden", "aria-hidden": "true" });
      ta.value = text;
      document.body.append(ta);
      ta.select();
      try { ok = document.execCommand("copy"); } catch { ok = false; }
      ta.remove();
      // Selecting the text took the focus from the button.
      btn.focus();
    }
    // The button's label names it; the outcome is said.
    notice(ok ? "Command line copied." : "Could not copy the command line.");
    const old = btn.textContent;
    btn.textContent = ok ? "Copied" : "Copy failed";
    btn.dataset.copied = ok ? "true" : "false";
    setTimeout(() => { btn.textContent = old; }, 1500);
  }

  // A file the server keeps for a job (its photo or an uploaded style), as a File.
  async function fetchFile(url, name) {
    const r = await fetch(url, { cache: "no-store" });
    if (!r.ok) throw new Error(await errorFrom(r));
    const blob = await r.blob();
    return new File([blob], name, { type: blob.type || "application/octet-stream" });
  }

  // One of a job's styles as a chosen item: a bundled one from the gallery
  // (sent again as `builtin`), an uploaded one fetched from the server.
  async function jobStyleItem(s) {
    const st = s.builtin && (state.info?.styles || []).find((b) => b.name === s.builtin);
    if (st) {
      const item = builtinItem(st);
      await item.loaded;
      return item;
    }
    return describeFile(await fetchFile(s.url, s.name || "style"));
  }

  let runAgainToken = 0;

  // Fills the form with a job's settings, photo and styles, all from the
  // server (works from any tab, after a reload too).
  async function runAgain(id) {
    const job = state.jobs.get(id);
    if (!job) return;
    const token = ++runAgainToken;
    clearError();
    if (job.settings) {
      const s = job.settings;
      if (s.preset && presetDefaults(s.preset)) $("#preset").value = s.preset;
      applySettings(s);
      const d = presetDefaults($("#preset").value);
      const adv = ["tv_weight", "init", "init_noise", "learning_rate", "scales", "style_scale"]
        .some((k) => JSON.stringify(s[k] ?? null) !== JSON.stringify(d[k] ?? null));
      if (adv) $("#advanced").open = true;
    }
    scheduleEstimate();
    document.querySelector(".form-card").scrollIntoView({ behavior: scrollBehavior(), block: "start" });
    // Focus follows the page to the form (the button pressed is out of view).
    $("#new-job-title").focus({ preventScroll: true });
    let content, styles, jobMask;
    try {
      [content, styles, jobMask] = await Promise.all([
        fetchFile(`/api/jobs/${id}/content`, job.content_name || "photo").then(describeFile),
        Promise.all((job.styles || []).map(jobStyleItem)),
        // Decoded here, so that it is drawn with the photo, at once.
        // (A mask the browser cannot read loses only the mask.)
        job.mask ? fetchFile(job.mask.url, job.mask.name || "mask.png").then(decodeMask).catch(() => MASK_UNREADABLE) : null,
      ]);
    } catch (err) {
      if (token === runAgainToken) showError(`Could not reuse the images of job #${id}: ${err.message}`);
      return;
    }
    if (token !== runAgainToken) {  // another "run again" came later
      URL.revokeObjectURL(content.url);
      for (const s of styles) if (s.kind === "file") URL.revokeObjectURL(s.url);
      if (jobMask && jobMask !== MASK_UNREADABLE) jobMask.bitmap.close?.();
      return;
    }
    if (state.content) URL.revokeObjectURL(state.content.url);
    state.content = content;
    $("#as-video").checked = job.kind === "video";
    resetMask();
    // Its mask over the photo again (the photo's size known to the canvas first).
    let maskNote = "";
    if (jobMask === MASK_UNREADABLE) {
      maskNote = " Its mask could not be read here: paint without it, or load it again.";
    } else if (jobMask && !maskApplies()) {
      jobMask.bitmap.close?.();
      maskNote = " Its mask cannot be shown over this clip here, and is not sent.";
    } else if (jobMask) {
      applyMaskImage(jobMask);
    }
    // The job's paintings replace the chosen ones. A job without any keeps
    // them (a network style's job does not use them), but for a sheet of
    // the built-in styles, which with paintings would be a sheet of them.
    if (styles.length || job.settings?.sheet) {
      for (const s of state.styles) if (s.kind === "file") URL.revokeObjectURL(s.url);
      const blend = job.settings?.style_blend;
      if (Array.isArray(blend) && blend.length === styles.length) styles.forEach((s, i) => { s.weight = blend[i]; });
      state.styles = styles;
    }
    renderChosen();
    syncGallery();
    scheduleEstimate();
    const withMask = jobMask && !maskNote;
    notice(`${job.kind === "video" ? "Clip" : "Photo"}, styles${withMask ? ", mask" : ""} and settings of job #${id} loaded.${maskNote}`);
  }

  // ---------------------------------------------------------------- wiring
  function init() {
    setupZone($("#content-zone"), $("#content-input"), (files) => setContentFile(files[0]));
    setupZone($("#style-zone"), $("#style-input"), (files) => addStyleFiles(files));
    setupPage();
    $("#preset").addEventListener("change", () => { applyPreset($("#preset").value); scheduleEstimate(); });
    $("#method").addEventListener("change", () => { applyMethod($("#method").value); setNetworkStyle(state.networkStyle); renderMask(); clearError(); scheduleEstimate(); });
    // The user's own choice of colours: none is held for the optimiser any more.
    $("#preserve-colors").addEventListener("change", () => { state.heldColors = null; renderColorsHint(); });
    $("#reset-settings").addEventListener("click", () => { applyPreset($("#preset").value); scheduleEstimate(); });
    // A clip holds more than a photo of its frames' size: estimated again.
    $("#as-video").addEventListener("change", () => { clearError(); renderMask(); scheduleEstimate(); });
    $("#sheet").addEventListener("change", () => { clearError(); renderMask(); scheduleEstimate(); });
    setupMask();
    for (const [, id] of SETTINGS_FIELDS) {
      const input = document.getElementById(id);
      input.addEventListener("input", () => { updateDefaults(); scheduleEstimate(); });
      input.addEventListener("change", () => { updateDefaults(); scheduleEstimate(); });
    }
    $("#strength").addEventListener("input", () => setStrengthOutput($("#strength-value"), $("#strength").value));
    $("#fast-strength").addEventListener("input", () => { setFastStrengthOutput(); });
    $("#job-form").addEventListener("submit", startJob);
    // Enter in a field must not start a job (only the Start button does).
    $("#job-form").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && e.target instanceof HTMLInputElement) e.preventDefault();
    });
    $("#advanced").addEventListener("toggle", scheduleDraft);
    $("#cancel").addEventListener("click", () => { if (state.liveId !== null) cancelJob(state.liveId); });
    $("#error-close").addEventListener("click", clearError);
    $("#error").addEventListener("keydown", (e) => { if (e.key === "Escape") clearError(); });
    // The top bar's height, for the scroll padding that keeps a focused
    // control from under it (it wraps in a narrow window).
    const topbar = document.querySelector(".topbar");
    new ResizeObserver(() => {
      document.documentElement.style.setProperty("--topbar-height", `${topbar.offsetHeight}px`);
    }).observe(topbar);
    window.addEventListener("resize", () => drawPlot());
    if (window.matchMedia) window.matchMedia("(prefers-color-scheme: dark)").addEventListener?.("change", () => drawPlot());
    renderChosen();
    render();
    loadInfo().then(connect);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
