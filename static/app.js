// Colorize: progressive enhancement only. Every form works without this script.
"use strict";

function $(id) { return document.getElementById(id); }

function formatBytes(n) {
  return n < 1024 * 1024 ? Math.round(n / 1024) + " KB" : (n / 1024 / 1024).toFixed(1) + " MB";
}

function showBusy() {
  $("busy").hidden = false;
  document.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
}

function setupUpload(form) {
  var input = $("image"), drop = $("drop"), preview = $("preview"), info = $("file-info");
  var error = $("client-error"), slider = $("vividness"), value = $("vividness-value");
  var maxBytes = Number(form.dataset.maxBytes), maxMb = form.dataset.maxMb;
  var previewUrl = null;

  function complain(message) {
    error.textContent = message;
    error.hidden = !message;
  }

  function chosen() {
    var file = input.files && input.files[0];
    complain("");
    if (previewUrl) { URL.revokeObjectURL(previewUrl); previewUrl = null; }
    if (!file) { preview.hidden = true; info.hidden = true; return; }
    info.textContent = file.name + " · " + formatBytes(file.size);
    info.hidden = false;
    if (file.type && file.type.indexOf("image/") !== 0) {
      complain("That file does not look like an image.");
    } else if (file.size > maxBytes) {
      complain("That file is " + formatBytes(file.size) + "; the limit is " + maxMb + " MB.");
    }
    previewUrl = URL.createObjectURL(file);
    preview.src = previewUrl;
    preview.hidden = false;
    $("drop-text").querySelector("strong").textContent = "Choose another picture";
  }

  // A browser that cannot show a TIFF can still upload it.
  preview.addEventListener("error", function () { preview.hidden = true; });

  function take(files) {
    if (!files || !files.length) { return false; }
    var transfer = new DataTransfer();
    transfer.items.add(files[0]);
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
    if (e.clipboardData && take(e.clipboardData.files)) { e.preventDefault(); }
  });

  function syncVividness() {
    value.textContent = Number(slider.value).toFixed(1);
    document.querySelectorAll(".vividness-copy").forEach(function (copy) { copy.value = slider.value; });
  }
  slider.addEventListener("input", syncVividness);
  syncVividness();

  form.addEventListener("submit", function (e) {
    var file = input.files && input.files[0];
    if (file && file.size > maxBytes) { e.preventDefault(); complain("That file is too large (limit " + maxMb + " MB)."); return; }
    showBusy();
  });
  document.querySelectorAll("form.sample").forEach(function (f) { f.addEventListener("submit", showBusy); });
  // Coming back with the Back button restores the page from cache: clear the busy state.
  window.addEventListener("pageshow", function () {
    $("busy").hidden = true;
    document.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
  });
}

function setupCompare(section) {
  var range = $("compare-range"), after = $("compare-after"), handle = $("compare-handle");
  function update() {
    after.style.clipPath = "inset(0 0 0 " + range.value + "%)";
    handle.style.left = range.value + "%";
  }
  range.addEventListener("input", update);
  update();
  section.hidden = false;
}

document.addEventListener("DOMContentLoaded", function () {
  if ($("upload")) { setupUpload($("upload")); }
  if ($("compare")) { setupCompare($("compare")); }
});
