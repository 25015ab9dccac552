/* The login form posts JSON to the deputies service's POST /api/auth/session, which sets the
   HttpOnly session cookie and the CSRF cookie; its zh-CN error (e.g. the lockout) is shown as is. */
(function () {
  "use strict";
  var form = document.getElementById("login");
  var out = document.getElementById("login-error");
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    out.hidden = true;
    var body = { username: form.username.value.trim(), password: form.password.value };
    if (!body.username || !body.password) {
      out.textContent = "请输入用户名和密码。";
      out.hidden = false;
      return;
    }
    var button = form.querySelector("button");
    button.disabled = true;
    button.textContent = "正在登录…";
    fetch("/api/auth/session", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (r.ok) { window.location.assign(form.getAttribute("data-next") || "/"); return null; }
      return r.json().catch(function () { return {}; }).then(function (j) {
        var err = (j && j.error) || {};
        var text = err.message || "登录失败，请稍后再试。";
        var wait = r.headers.get("Retry-After");
        if (r.status === 429 && wait) { text += "（剩余等待时间约 " + Math.ceil(Number(wait) / 60) + " 分钟）"; }
        out.textContent = text;
        out.hidden = false;
      });
    }).catch(function () {
      out.textContent = "无法连接服务器，请检查网络后重试。";
      out.hidden = false;
    }).finally(function () {
      button.disabled = false;
      button.textContent = "登录";
    });
  });
})();
