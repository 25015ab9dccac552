/* The workbench's forms send the API's own commands (one code path with curl and scripts):
   JSON (or multipart for a file) with the session cookie, the CSRF token from the renda_csrf
   cookie and one Idempotency-Key per rendered form, so a double click or a resend records once.
   A refusal shows the API's zh-CN message beside the field it names (error.details.field), keeps
   what was typed, and takes a fresh key for the next attempt (the refused one recorded nothing). */
(function () {
  "use strict";

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var kv = parts[i].split("=");
      if (kv[0] === name) { return decodeURIComponent(kv.slice(1).join("=")); }
    }
    return "";
  }

  function newKey() {
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  /* Remember where our write landed (stream:seq), so the next page waits for it (Renda-After). */
  function remember(position) {
    if (!position) { return; }
    var seen = {};
    cookie("renda_after").split("|").concat(position.split(",")).forEach(function (p) {
      var kv = p.trim().split(":");
      if (kv.length === 2 && /^\d+$/.test(kv[1])) { seen[kv[0]] = Math.max(seen[kv[0]] || 0, Number(kv[1])); }
    });
    var value = Object.keys(seen).map(function (k) { return k + ":" + seen[k]; }).join("|");
    document.cookie = "renda_after=" + encodeURIComponent(value) + "; path=/; max-age=120; SameSite=Strict";
  }

  function push(body, name, value) {
    if (!Array.isArray(body[name])) { body[name] = []; }
    body[name].push(value);
  }

  function collect(form) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.type === "submit" || el.type === "button") { return; }
      if (el.hasAttribute("data-path")) { return; }      // goes into the URL, not the body
      var type = el.getAttribute("data-type") || "";
      if (el.hasAttribute("data-bucket")) {            // roll call: one radio group per invitee
        if (el.checked) { push(body, el.value, el.getAttribute("data-id")); }
        return;
      }
      if (el.type === "radio") { if (el.checked) { body[el.name] = el.value; } return; }
      if (el.type === "checkbox") {
        if (type === "list") { if (!Array.isArray(body[el.name])) { body[el.name] = []; } if (el.checked) { body[el.name].push(el.value); } }
        else if (el.name.indexOf(".") > 0) {          // six_haves.place → {"six_haves": {"place": true}}
          var path = el.name.split(".");
          body[path[0]] = body[path[0]] || {};
          body[path[0]][path[1]] = el.checked;
        } else { body[el.name] = el.checked; }
        return;
      }
      if (el.tagName === "SELECT" && el.multiple) {
        if (!Array.isArray(body[el.name])) { body[el.name] = []; }
        Array.prototype.forEach.call(el.selectedOptions, function (o) { body[el.name].push(o.value); });
        return;
      }
      var v = el.value;
      if (type === "list") {
        if (!Array.isArray(body[el.name])) { body[el.name] = []; }
        v.split(/[,，、\s]+/).forEach(function (x) { if (x) { body[el.name].push(x); } });
        return;
      }
      if (v === "" && el.hasAttribute("data-optional")) { return; }
      if (type === "int") { body[el.name] = v === "" ? v : Number(v); return; }
      if (type === "agenda") {
        body[el.name] = v.split(/\n/).map(function (t) { return t.trim(); })
          .filter(Boolean).map(function (t) { return { title: t }; });
        return;
      }
      if (type === "datetime" && v) { v = (v.length === 16 ? v + ":00" : v) + (el.getAttribute("data-offset") || ""); }
      body[el.name] = v;
    });
    ["present", "on_leave", "absent"].forEach(function (b) {
      if (form.querySelector("[data-bucket]") && !body[b]) { body[b] = []; }
    });
    return body;
  }

  var COLUMN = { name: "姓名", gender: "性别", level: "层级", congress: "所属人大", township: "编组乡镇",
    constituency: "选区", term: "届次", sector: "代表构成", phone: "电话", by_election: "补选",
    elected_on: "当选日期", code: "代码", kind: "类型", parent: "上级", file: "文件" };

  /* A file import's answer, row by row: what was imported, or every problem (行, 列, 问题). */
  function report(form, json, problems) {
    var box = form.querySelector(".report");
    if (!box) { return; }
    box.textContent = "";
    if (!problems) {
      var done = document.createElement("p");
      done.className = "ok";
      done.textContent = json.message || ("导入完成：新登记 " + (json.imported || 0) + "，跳过 " + (json.skipped || 0) + "。");
      var again = document.createElement("a");
      again.href = window.location.pathname;
      again.textContent = "刷新页面查看";
      box.appendChild(done);
      box.appendChild(again);
    } else {
      var table = document.createElement("table");
      table.className = "stack problems";
      var head = table.createTHead().insertRow();
      ["行", "列", "问题"].forEach(function (t) { var th = document.createElement("th"); th.scope = "col"; th.textContent = t; head.appendChild(th); });
      var body = table.createTBody();
      problems.forEach(function (p) {
        var tr = body.insertRow();
        ["第 " + p.row + " 行", COLUMN[p.field] || p.field || "—", p.message || ""].forEach(function (t) { tr.insertCell().textContent = t; });
      });
      box.appendChild(table);
    }
    box.hidden = false;
  }

  function clear(form) {
    form.querySelectorAll(".report").forEach(function (r) { r.hidden = true; r.textContent = ""; });
    form.querySelectorAll(".field-error, .form-error").forEach(function (p) { p.hidden = true; p.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
  }

  function show(form, err) {
    var field = err.details && typeof err.details === "object" && !Array.isArray(err.details) ? err.details.field : null;
    var spot = null;
    if (field) {
      spot = form.querySelector('[data-error-for="' + field + '"]') ||
        form.querySelector('[data-error-for="' + String(field).split(".")[0] + '"]');
    }
    if (!spot) { spot = form.querySelector('[data-error-code="' + err.code + '"]'); }
    if (!spot) { spot = form.querySelector(".form-error"); }
    spot.textContent = err.message || "提交失败，请稍后再试。";
    spot.hidden = false;
    var input = field ? form.querySelector('[name="' + field + '"]') : null;
    if (input) {
      input.setAttribute("aria-invalid", "true");
      if (spot.id) { input.setAttribute("aria-describedby", spot.id); }
      input.focus();
    }
  }

  function after(form, json) {
    var done = form.getAttribute("data-done") || "reload";
    if (done === "reload") { window.location.reload(); return; }
    if (done === "report") {
      report(form, json, null);
      form.setAttribute("data-key", newKey());   // the next file is another command
      form.removeAttribute("data-busy");
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
      return;
    }
    window.location.assign(done.replace(/\{(\w+)\}/g, function (_, k) { return encodeURIComponent(json[k] || ""); }));
  }

  /* A form with data-confirm asks once more before it sends (terminating a deputy, cancelling a meeting):
     the first submit shows the question beside the form; 确认 sends, 返回修改 or any edit goes back. */
  function fill(form, text) {
    return text.replace(/\{(\w+)\}/g, function (_, name) {
      var el = form.elements[name];
      if (!el) { return ""; }
      if (el.tagName === "SELECT") { return el.selectedIndex >= 0 ? el.options[el.selectedIndex].text : ""; }
      return el.value || "";
    });
  }

  function disarm(form) {
    var box = form.querySelector(".confirm");
    if (!box || !form.getAttribute("data-armed")) { return; }
    form.removeAttribute("data-armed");
    box.hidden = true;
    form.querySelectorAll("button[type=submit]:not(.confirm-yes)").forEach(function (b) { b.hidden = false; });
  }

  function arm(form) {
    var box = form.querySelector(".confirm");
    form.setAttribute("data-armed", "1");
    box.querySelector(".confirm-text").textContent = fill(form, form.getAttribute("data-confirm"));
    form.querySelectorAll("button[type=submit]:not(.confirm-yes)").forEach(function (b) { b.hidden = true; });
    box.hidden = false;
    box.querySelector(".confirm-yes").focus();
  }

  function send(form) {
    clear(form);
    if (form.getAttribute("data-confirm") && !form.getAttribute("data-armed")) { arm(form); return; }
    var button = form.querySelector(form.getAttribute("data-armed") ? ".confirm-yes" : "button[type=submit]");
    if (form.getAttribute("data-busy")) { return; }       // a second click while the first is on its way
    form.setAttribute("data-busy", "1");
    if (button) { button.disabled = true; }
    var headers = { "X-CSRF-Token": cookie("renda_csrf"), "Idempotency-Key": form.getAttribute("data-key") };
    var body;
    if (form.getAttribute("data-multipart")) {
      body = new FormData(form);
    } else {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(collect(form));
    }
    var action = form.getAttribute("data-action").replace(/\{(\w+)\}/g, function (_, name) {
      var el = form.elements[name];
      return encodeURIComponent(el ? el.value : "");
    });
    fetch(action, {
      method: form.getAttribute("data-method") || "POST", credentials: "same-origin", headers: headers, body: body
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (json) {
        if (r.ok) { remember(r.headers.get("renda-position")); after(form, json); return; }
        if (r.status === 401) { window.location.assign("/login?next=" + encodeURIComponent(location.pathname)); return; }
        form.setAttribute("data-key", newKey());
        disarm(form);
        var err = (json && json.error) || { message: "提交失败（" + r.status + "），请稍后再试。" };
        show(form, err);
        if (err.details && Array.isArray(err.details.errors)) { report(form, json, err.details.errors); }
        form.removeAttribute("data-busy");
        if (button) { button.disabled = false; }
      });
    }).catch(function () {
      show(form, { message: "无法连接服务器，请检查网络后重试（同一表单重试不会重复登记）。" });
      form.removeAttribute("data-busy");
      if (button) { button.disabled = false; }
    });
  }

  document.querySelectorAll("form.cmd").forEach(function (form) {
    form.addEventListener("submit", function (e) { e.preventDefault(); send(form); });
    if (form.getAttribute("data-confirm")) {
      form.querySelector(".confirm-no").addEventListener("click", function () {
        disarm(form);
        var back = form.querySelector("button[type=submit]:not(.confirm-yes)");
        if (back) { back.focus(); }
      });
      form.addEventListener("input", function () { disarm(form); });
      form.addEventListener("change", function () { disarm(form); });
    }
  });

  /* A reply: the 延办反馈书 fields only for B, the reason only for C (all shown without script). */
  document.querySelectorAll("form.cmd").forEach(function (form) {
    var b = form.querySelector(".for-b"), c = form.querySelector(".for-c");
    if (!b && !c) { return; }
    var sync = function () {
      var chosen = form.querySelector("input[name=result]:checked");
      var v = chosen ? chosen.value : "";
      if (b) { b.hidden = v !== "B"; b.querySelectorAll("input,textarea").forEach(function (el) { el.disabled = v !== "B"; }); }
      if (c) { c.hidden = v !== "C"; c.querySelectorAll("input,textarea").forEach(function (el) { el.disabled = v !== "C"; }); }
    };
    form.querySelectorAll("input[name=result]").forEach(function (el) { el.addEventListener("change", sync); });
    sync();
  });

  /* Roll call: the live count of those marked present, against the quorum. */
  var live = document.getElementById("live-present");
  if (live) {
    var update = function () {
      live.textContent = String(document.querySelectorAll("[data-bucket][value=present]:checked").length);
    };
    document.querySelectorAll("[data-bucket]").forEach(function (el) { el.addEventListener("change", update); });
    update();
  }
})();
