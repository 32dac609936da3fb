// Colorize: the page posts each picture to /api/colorize and shows the answer from blob URLs,
// so nothing waits on the server between requests. Without this script the forms still work.
"use strict";

function $(id) { return document.getElementById(id); }

function formatBytes(n) {
  return n < 1024 * 1024 ? Math.round(n / 1024) + " KB" : (n / 1024 / 1024).toFixed(1) + " MB";
}

function show(element, visible) { element.hidden = !visible; }

// --- talking to the API ----------------------------------------------------------------------

// The download name the server chose (Content-Disposition), e.g. "photo-colorized.png".
function responseFilename(xhr, fallback) {
  var header = xhr.getResponseHeader("Content-Disposition") || "";
  var star = /filename\*=UTF-8''([^;]+)/i.exec(header), plain = /filename="?([^";]+)"?/i.exec(header);
  if (star) { return decodeURIComponent(star[1]); }
  return plain ? plain[1] : fallback;
}

// POST one file with its settings; calls on.upload(percent), on.working(), on.done(result), on.error(message).
function colorize(api, file, vividness, hints, on) {
  var form = new FormData(), xhr = new XMLHttpRequest();
  form.append("image", file, file.name);
  form.append("vividness", String(vividness));
  if (hints.length) {
    form.append("hints", JSON.stringify(hints.map(function (h) { return {x: h.x, y: h.y, color: h.color}; })));
  }
  xhr.open("POST", api);
  xhr.responseType = "blob";
  xhr.upload.addEventListener("progress", function (e) {
    if (e.lengthComputable && on.upload) { on.upload(Math.round(100 * e.loaded / e.total)); }
  });
  xhr.upload.addEventListener("load", function () { if (on.working) { on.working(); } });
  xhr.addEventListener("load", function () {
    if (xhr.status === 200) {
      on.done({blob: xhr.response, name: responseFilename(xhr, "colorized.png"),
               backend: xhr.getResponseHeader("X-Colorizer-Backend") || ""});
      return;
    }
    xhr.response.text().then(function (text) {
      var detail;
      try { detail = JSON.parse(text).detail; } catch (ignored) { detail = null; }
      on.error(detail || "The server answered with an error (HTTP " + xhr.status + "). Please try again.");
    });
  });
  xhr.addEventListener("error", function () { on.error("The connection failed. Please check it and try again."); });
  xhr.send(form);
  return xhr;
}

// --- "Download all": a ZIP of stored (uncompressed) entries; PNGs are compressed already ------

var CRC_TABLE = (function () {
  var table = new Uint32Array(256);
  for (var n = 0; n < 256; n++) {
    var c = n;
    for (var k = 0; k < 8; k++) { c = c & 1 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1; }
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes) {
  var c = 0xFFFFFFFF;
  for (var i = 0; i < bytes.length; i++) { c = CRC_TABLE[(c ^ bytes[i]) & 0xFF] ^ (c >>> 8); }
  return (c ^ 0xFFFFFFFF) >>> 0;
}

// entries: [{name, bytes: Uint8Array}] -> Blob (application/zip), UTF-8 names, dated 1980-01-01.
function zipStored(entries) {
  var encoder = new TextEncoder(), parts = [], central = [], offset = 0, centralSize = 0;
  entries.forEach(function (entry) {
    var name = encoder.encode(entry.name), crc = crc32(entry.bytes), size = entry.bytes.length;
    var local = new DataView(new ArrayBuffer(30)), record = new DataView(new ArrayBuffer(46));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 20, true);           // version needed: 2.0
    local.setUint16(6, 0x0800, true);       // flags: names are UTF-8
    local.setUint16(12, 0x21, true);        // date: 1980-01-01 (time 00:00, method 0 = stored)
    local.setUint32(14, crc, true);
    local.setUint32(18, size, true);
    local.setUint32(22, size, true);
    local.setUint16(26, name.length, true);
    parts.push(local.buffer, name, entry.bytes);
    record.setUint32(0, 0x02014b50, true);
    record.setUint16(4, 20, true);
    record.setUint16(6, 20, true);
    record.setUint16(8, 0x0800, true);
    record.setUint16(14, 0x21, true);
    record.setUint32(16, crc, true);
    record.setUint32(20, size, true);
    record.setUint32(24, size, true);
    record.setUint16(28, name.length, true);
    record.setUint32(42, offset, true);
    central.push(record.buffer, name);
    offset += 30 + name.length + size;
    centralSize += 46 + name.length;
  });
  var end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, entries.length, true);
  end.setUint16(10, entries.length, true);
  end.setUint32(12, centralSize, true);
  end.setUint32(16, offset, true);
  return new Blob(parts.concat(central, [end.buffer]), {type: "application/zip"});
}

function uniqueNames(names) {
  var seen = {};
  return names.map(function (name) {
    var candidate = name, stem = name.replace(/\.png$/i, ""), n = 0;
    while (seen[candidate]) { n += 1; candidate = stem + "-" + n + ".png"; }
    seen[candidate] = true;
    return candidate;
  });
}

function saveBlob(blob, name) {
  var link = document.createElement("a"), url = URL.createObjectURL(blob);
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
}

// --- the page ----------------------------------------------------------------------------------

function setupSite(form) {
  var api = form.dataset.api, maxBytes = Number(form.dataset.maxBytes), maxMb = form.dataset.maxMb;
  var maxFiles = Number(form.dataset.maxFiles), maxHints = Number(form.dataset.maxHints);
  var input = $("image"), drop = $("drop"), preview = $("preview"), info = $("file-info");
  var error = $("client-error"), slider = $("vividness"), samples = document.querySelector(".samples");
  var previewUrl = null, homeTitle = document.title;
  // The picture on the result view: its file (kept to re-tune without choosing it again), its hints.
  // back/onResult: set when the picture came from a batch (go back to it; keep its tile up to date).
  var current = {file: null, url: null, name: "", hints: [], request: null, back: null, onResult: null};
  var batch = {items: [], request: null, stopped: false};
  var nextHintId = 1, retuneTimer = null;

  input.multiple = true;
  document.documentElement.classList.add("js");

  function complain(message) {
    error.textContent = message;
    show(error, !!message);
  }

  function problemWith(file) {
    if (file.type && file.type.indexOf("image/") !== 0) { return file.name + " does not look like an image."; }
    if (file.size > maxBytes) { return file.name + " is " + formatBytes(file.size) + "; the limit is " + maxMb + " MB."; }
    return "";
  }

  function chosen() {
    var files = Array.prototype.slice.call(input.files || []);
    complain("");
    if (previewUrl) { URL.revokeObjectURL(previewUrl); previewUrl = null; }
    if (!files.length) { preview.hidden = true; info.hidden = true; return; }
    var total = files.reduce(function (n, f) { return n + f.size; }, 0);
    info.textContent = files.length === 1 ? files[0].name + " · " + formatBytes(total)
      : files.length + " pictures · " + formatBytes(total);
    info.hidden = false;
    if (files.length > maxFiles) {
      complain("You chose " + files.length + " pictures; up to " + maxFiles + " go at once, so the first " + maxFiles + " will be colorized.");
    } else if (files.length === 1) {
      complain(problemWith(files[0]));
    }
    previewUrl = URL.createObjectURL(files[0]);
    preview.src = previewUrl;
    preview.hidden = false;
    $("drop-text").querySelector("strong").textContent = files.length > 1 ? "Choose other pictures" : "Choose another picture";
  }
  preview.addEventListener("error", function () { preview.hidden = true; });  // e.g. a TIFF: still uploadable

  function take(files) {
    if (!files || !files.length) { return false; }
    var transfer = new DataTransfer();
    Array.prototype.forEach.call(files, function (f) { transfer.items.add(f); });
    input.files = transfer.files;
    chosen();
    return true;
  }

  input.addEventListener("change", chosen);
  ["dragenter", "dragover"].forEach(function (type) {
    drop.addEventListener(type, function (e) { e.preventDefault(); drop.classList.add("dragging"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    drop.addEventListener(type, function () { drop.classList.remove("dragging"); });
  });
  drop.addEventListener("drop", function (e) { e.preventDefault(); take(e.dataTransfer.files); });
  document.addEventListener("paste", function (e) {
    if (!form.hidden && e.clipboardData && take(e.clipboardData.files)) { e.preventDefault(); }
  });

  function syncVividness() {
    $("vividness-value").textContent = Number(slider.value).toFixed(1);
    document.querySelectorAll(".vividness-copy").forEach(function (copy) { copy.value = slider.value; });
  }
  slider.addEventListener("input", syncVividness);
  syncVividness();

  // Which part of the page shows: the form (with samples), the progress, the result, the batch.
  function view(name) {
    show(form, name === "form");
    if (samples) { show(samples, name === "form"); }
    show($("progress"), name === "progress");
    show($("result"), name === "result");
    show($("compare"), name === "result");
    show($("batch"), name === "batch");
    document.title = {form: homeTitle, progress: "Colorizing… — Colorize", batch: "Your pictures — Colorize",
                      result: "Colorized: " + current.name + " — Colorize"}[name];
    window.scrollTo(0, 0);
  }

  form.addEventListener("submit", function (e) {
    var files = Array.prototype.slice.call(input.files || []);
    e.preventDefault();
    if (!files.length) { complain("Please choose a picture to colorize."); input.focus(); return; }
    if (files.length > 1) { startBatch(files.slice(0, maxFiles)); return; }
    var problem = problemWith(files[0]);
    if (problem) { complain(problem); return; }
    startSingle(files[0]);
  });

  document.querySelectorAll("form.sample").forEach(function (sampleForm) {
    sampleForm.addEventListener("submit", function (e) {
      var button = sampleForm.querySelector("button"), name = sampleForm.querySelector("[name=sample]").value;
      e.preventDefault();
      fetch(button.dataset.src).then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.blob();
      }).then(function (blob) {
        startSingle(new File([blob], name + ".jpg", {type: blob.type || "image/jpeg"}));
      }).catch(function () {
        complain("The sample could not be loaded. Please check the connection and try again.");
      });
    });
  });

  // --- one picture: upload with progress and cancel, then the result view ---------------------

  function progress(name, text, percent) {
    $("progress-name").textContent = name;
    $("progress-text").textContent = text;
    if (percent === null) { $("progress-bar").removeAttribute("value"); } else { $("progress-bar").value = percent; }
  }

  function startSingle(file) {
    current.hints = [];
    current.back = null;
    view("progress");
    progress(file.name, "Uploading… 0 %", 0);
    $("cancel").focus();
    current.request = colorize(api, file, Number(slider.value), [], {
      upload: function (p) { progress(file.name, "Uploading… " + p + " %", p); },
      working: function () { progress(file.name, "Colorizing…", null); },
      done: function (result) {
        current.request = null;
        showResult(file, result, Number(slider.value));
      },
      error: function (message) {
        current.request = null;
        view("form");
        complain(message);
        $("submit").focus();
      },
    });
  }

  $("cancel").addEventListener("click", function () {
    if (current.request) { current.request.abort(); current.request = null; }
    view("form");
    complain("");
    $("file-info").textContent = "Cancelled. Choose a picture or press Colorize to try again.";
    $("file-info").hidden = false;
    $("submit").focus();
  });

  function setResult(result) {
    if (current.url) { URL.revokeObjectURL(current.url); }
    current.url = URL.createObjectURL(result.blob);
    current.name = result.name;
    $("colour").src = current.url;
    $("compare-after").src = current.url;
    $("download").href = current.url;
    $("download").setAttribute("download", result.name);
    $("result-meta").textContent = "Colorized by the " + (result.backend === "lambda" ? "Lambda API" : "local model") +
      " · nothing is kept on the server: download the PNG before you leave.";
  }

  function showResult(file, result, vividness, back, onResult) {
    current.file = file;
    current.back = back || null;
    current.onResult = onResult || null;
    $("another").textContent = back ? "Back to all pictures" : "Colorize another";
    $("tune-vividness").value = vividness;
    $("tune-vividness-value").textContent = Number(vividness).toFixed(1);
    setResult(result);
    // The grey side: the same picture's lightness (the result keeps the upload's L*), drawn grey by CSS.
    $("gray").src = current.url;
    $("compare-before").src = current.url;
    $("retune-status").textContent = "";
    renderHints();
    view("result");
    $("result-title").focus();
  }

  $("another").addEventListener("click", function () {
    if (current.request) { current.request.abort(); current.request = null; }
    if (current.back) { current.back(); return; }
    view("form");
    $("image").value = "";
    chosen();
    $("image").focus();
  });

  // --- re-tuning: vividness and hints change the result without choosing the file again ------

  function scheduleRetune() {
    clearTimeout(retuneTimer);
    retuneTimer = setTimeout(retune, 150);
  }

  function retune() {
    var started = performance.now();
    if (current.request) { current.request.abort(); }
    $("retune-status").textContent = "Updating the colours…";
    $("result").setAttribute("aria-busy", "true");
    current.request = colorize(api, current.file, Number($("tune-vividness").value), current.hints, {
      done: function (result) {
        current.request = null;
        $("result").removeAttribute("aria-busy");
        setResult(result);
        if (current.onResult) { current.onResult(result, Number($("tune-vividness").value)); }
        $("retune-status").textContent = "Updated in " + ((performance.now() - started) / 1000).toFixed(1) + " s.";
      },
      error: function (message) {
        current.request = null;
        $("result").removeAttribute("aria-busy");
        $("retune-status").textContent = message;
      },
    });
  }

  $("tune-vividness").addEventListener("input", function () {
    $("tune-vividness-value").textContent = Number($("tune-vividness").value).toFixed(1);
    scheduleRetune();
  });

  function imageSize() {
    var img = $("colour");
    return {width: img.naturalWidth || 1, height: img.naturalHeight || 1};
  }

  function clampHint(hint) {
    var size = imageSize();
    hint.x = Math.max(0, Math.min(size.width - 1, Math.round(hint.x)));
    hint.y = Math.max(0, Math.min(size.height - 1, Math.round(hint.y)));
  }

  function addHint(x, y) {
    if (current.hints.length >= maxHints) {
      $("retune-status").textContent = "At most " + maxHints + " hints; remove one first.";
      return null;
    }
    var hint = {id: nextHintId++, x: x, y: y, color: $("hint-colour").value};
    clampHint(hint);
    current.hints.push(hint);
    renderHints();
    scheduleRetune();
    return hint;
  }

  function removeHint(hint) {
    var index = current.hints.indexOf(hint);
    current.hints.splice(index, 1);
    renderHints();
    scheduleRetune();
    var pins = document.querySelectorAll(".pin");
    if (pins.length) { pins[Math.min(index, pins.length - 1)].focus(); } else { $("add-hint").focus(); }
  }

  function describe(hint, n) {
    return "Hint " + n + ", colour " + hint.color + ", at " + hint.x + ", " + hint.y;
  }

  function placePin(pin, hint) {
    var size = imageSize();
    pin.style.left = (100 * (hint.x + 0.5) / size.width) + "%";
    pin.style.top = (100 * (hint.y + 0.5) / size.height) + "%";
    pin.style.setProperty("--pin-colour", hint.color);
  }

  function renderHints() {
    var pins = $("pins"), list = $("hint-list");
    pins.textContent = "";
    list.textContent = "";
    current.hints.forEach(function (hint, i) {
      var pin = document.createElement("button");
      pin.type = "button";
      pin.className = "pin";
      pin.dataset.id = hint.id;
      pin.setAttribute("aria-label", describe(hint, i + 1) + ". Arrow keys move it, Delete removes it.");
      placePin(pin, hint);
      pins.appendChild(pin);
      pinEvents(pin, hint, i + 1);

      var item = document.createElement("li"), label = document.createElement("label");
      var colour = document.createElement("input"), remove = document.createElement("button");
      colour.type = "color";
      colour.value = hint.color;
      colour.id = "hint-colour-" + hint.id;
      label.htmlFor = colour.id;
      label.textContent = "Hint " + (i + 1) + " at " + hint.x + ", " + hint.y;
      colour.addEventListener("change", function () {
        hint.color = colour.value;
        placePin(pin, hint);
        pin.setAttribute("aria-label", describe(hint, i + 1) + ". Arrow keys move it, Delete removes it.");
        scheduleRetune();
      });
      remove.type = "button";
      remove.className = "btn small";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", "Remove hint " + (i + 1));
      remove.addEventListener("click", function () { removeHint(hint); });
      item.append(label, colour, remove);
      list.appendChild(item);
    });
    $("clear-hints").disabled = !current.hints.length;
  }

  function pinEvents(pin, hint, n) {
    var dragging = false, moved = false;
    pin.addEventListener("keydown", function (e) {
      var size = imageSize(), step = Math.max(1, Math.round(Math.max(size.width, size.height) / 100));
      var moves = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1]};
      if (e.key === "Delete" || e.key === "Backspace") { e.preventDefault(); removeHint(hint); return; }
      if (!moves[e.key]) { return; }
      e.preventDefault();
      step *= e.shiftKey ? 10 : 1;
      hint.x += moves[e.key][0] * step;
      hint.y += moves[e.key][1] * step;
      clampHint(hint);
      placePin(pin, hint);
      pin.setAttribute("aria-label", describe(hint, n) + ". Arrow keys move it, Delete removes it.");
      $("hint-list").children[n - 1].querySelector("label").textContent = "Hint " + n + " at " + hint.x + ", " + hint.y;
      scheduleRetune();
    });
    pin.addEventListener("pointerdown", function (e) {
      dragging = true;
      moved = false;
      pin.setPointerCapture(e.pointerId);
      e.preventDefault();
    });
    pin.addEventListener("pointermove", function (e) {
      if (!dragging) { return; }
      var point = pointOnImage(e);
      hint.x = point.x;
      hint.y = point.y;
      clampHint(hint);
      placePin(pin, hint);
      moved = true;
    });
    pin.addEventListener("pointerup", function () {
      if (!dragging) { return; }
      dragging = false;
      if (moved) { renderHints(); scheduleRetune(); document.querySelector('.pin[data-id="' + hint.id + '"]').focus(); }
    });
  }

  function pointOnImage(e) {
    var img = $("colour"), box = img.getBoundingClientRect(), size = imageSize();
    return {x: Math.floor((e.clientX - box.left) / box.width * size.width),
            y: Math.floor((e.clientY - box.top) / box.height * size.height)};
  }

  $("colour").addEventListener("click", function (e) {
    var point = pointOnImage(e);
    addHint(point.x, point.y);
  });
  $("add-hint").addEventListener("click", function () {
    var size = imageSize(), hint = addHint(size.width / 2, size.height / 2);
    if (hint) { document.querySelector('.pin[data-id="' + hint.id + '"]').focus(); }
  });
  $("clear-hints").addEventListener("click", function () {
    current.hints = [];
    renderHints();
    scheduleRetune();
    $("add-hint").focus();
  });

  // --- several pictures: one after another, each in its own tile ------------------------------

  function startBatch(files) {
    batch.stopped = false;
    batch.items.forEach(function (item) { if (item.url) { URL.revokeObjectURL(item.url); } });
    batch.items = files.map(function (file) {
      var tile = $("tile-template").content.firstElementChild.cloneNode(true);
      tile.querySelector(".tile-name").textContent = file.name;
      tile.querySelector("progress").setAttribute("aria-label", "Progress of " + file.name);
      return {file: file, tile: tile, result: null, url: null, vividness: Number(slider.value)};
    });
    var gallery = $("gallery");
    gallery.textContent = "";
    batch.items.forEach(function (item) { gallery.appendChild(item.tile); });
    $("zip").disabled = true;
    $("batch-stop").disabled = false;
    view("batch");
    $("batch-title").focus();
    runBatch(0);
  }

  function tileStatus(item, text, percent, state) {
    var bar = item.tile.querySelector("progress");
    item.tile.querySelector(".tile-status").textContent = text;
    if (percent === null) { bar.removeAttribute("value"); } else { bar.value = percent; }
    if (state) { item.tile.dataset.state = state; }
  }

  function batchSummary(index) {
    var done = batch.items.filter(function (i) { return i.result; }).length;
    var failed = batch.items.filter(function (i) { return i.tile.dataset.state === "error"; }).length;
    var finished = index >= batch.items.length || batch.stopped;
    $("batch-bar").value = Math.round(100 * Math.min(index, batch.items.length) / batch.items.length);
    $("batch-status").textContent = (finished ? "Finished: " : "Picture " + (index + 1) + " of " + batch.items.length + ": ") +
      done + " colorized" + (failed ? ", " + failed + " failed" : "") + ".";
    $("zip").disabled = !done;
    $("batch-stop").disabled = finished;
  }

  function runBatch(index) {
    batchSummary(index);
    if (index >= batch.items.length || batch.stopped) { return; }
    var item = batch.items[index], problem = problemWith(item.file);
    if (problem) {
      tileStatus(item, problem, 0, "error");
      runBatch(index + 1);
      return;
    }
    tileStatus(item, "Uploading… 0 %", 0, "busy");
    batch.request = colorize(api, item.file, item.vividness, [], {
      upload: function (p) { tileStatus(item, "Uploading… " + p + " %", p); },
      working: function () { tileStatus(item, "Colorizing…", null); },
      done: function (result) {
        var open = item.tile.querySelector(".tile-open");
        tileResult(item, result);
        open.setAttribute("aria-label", "Adjust colours of " + item.file.name);
        open.hidden = false;
        open.onclick = function () {
          current.hints = [];
          // Re-tuned there, the tile (and so "Download all") gets the new result too.
          showResult(item.file, item.result, item.vividness, function () { view("batch"); open.focus(); },
                     function (retuned, vividness) { item.vividness = vividness; tileResult(item, retuned); });
        };
        tileStatus(item, "Done", 100, "done");
        runBatch(index + 1);
      },
      error: function (message) {
        tileStatus(item, message, 0, "error");
        runBatch(index + 1);
      },
    });
  }

  function tileResult(item, result) {
    var link = item.tile.querySelector(".tile-download"), img = item.tile.querySelector("img");
    if (item.url) { URL.revokeObjectURL(item.url); }
    item.result = result;
    item.url = URL.createObjectURL(result.blob);
    img.src = item.url;
    img.alt = item.file.name + ", colorized";
    link.href = item.url;
    link.download = result.name;
    link.setAttribute("aria-label", "Download " + result.name);
    link.hidden = false;
  }

  $("batch-stop").addEventListener("click", function () {
    batch.stopped = true;
    if (batch.request) { batch.request.abort(); }
    batch.items.forEach(function (item) {
      if (!item.result && item.tile.dataset.state !== "error") { tileStatus(item, "Stopped", 0, "stopped"); }
    });
    batchSummary(batch.items.length);
    $("zip").disabled ? $("batch-another").focus() : $("zip").focus();
  });

  $("zip").addEventListener("click", function () {
    var done = batch.items.filter(function (i) { return i.result; });
    var names = uniqueNames(done.map(function (i) { return i.result.name; }));
    Promise.all(done.map(function (i) { return i.result.blob.arrayBuffer(); })).then(function (buffers) {
      var entries = buffers.map(function (b, n) { return {name: names[n], bytes: new Uint8Array(b)}; });
      saveBlob(zipStored(entries), "colorized.zip");
    });
  });

  $("batch-another").addEventListener("click", function () {
    $("batch-stop").click();
    view("form");
    $("image").value = "";
    chosen();
    $("image").focus();
  });
}

function setupCompare() {
  var range = $("compare-range"), after = $("compare-after"), handle = $("compare-handle");
  function update() {
    after.style.clipPath = "inset(0 0 0 " + range.value + "%)";
    handle.style.left = range.value + "%";
  }
  range.addEventListener("input", update);
  update();
}

document.addEventListener("DOMContentLoaded", function () {
  if ($("upload")) { setupSite($("upload")); setupCompare(); }
});
