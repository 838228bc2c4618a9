// The dev chat page: every message goes to /dev/chat/send, which signs it
// as WeChat does and posts it to /wechat; what the bot pushes through the
// fake WeChat API is polled from /dev/chat/messages.
(function () {
  "use strict";
  var $ = function (s) { return document.querySelector(s); };
  var api = $(".phone").dataset.api;
  var log = $("#log");
  var member = $("#member");
  var after = 0;
  var generation = 0;

  function bubble(kind, text, img) {
    var row = document.createElement("div");
    row.className = "msg " + kind;
    var b = document.createElement("div");
    b.className = "b";
    if (img) {
      var i = document.createElement("img");
      i.src = img;
      b.appendChild(i);
    } else {
      b.textContent = text;
    }
    row.appendChild(b);
    log.appendChild(row);
    log.scrollTop = log.scrollHeight;
    return b;
  }

  function pushed(m) {
    var b = bubble("push", "");
    var tag = document.createElement("span");
    tag.className = "tag";
    var body = m.text || "";
    if (m.kind === "template") {
      tag.textContent = "模板消息" + (m.duplicate ? "（重复，已忽略）" : "");
      body = (m.fields || []).map(function (f) { return f.key + "：" + f.value; }).join("\n");
    } else {
      tag.textContent = "客服消息";
      if (!body) { body = "[" + m.kind + "]"; }
    }
    b.appendChild(tag);
    b.appendChild(document.createTextNode(body));
  }

  function send(payload) {
    payload.open_id = member.value;
    return fetch("/dev/chat/send", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload)
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) { bubble("err", j.error || ("HTTP " + r.status)); return; }
        if (j.reply) { bubble("bot", j.reply); } else { bubble("sys", "（公众号没有回复）"); }
      });
    }).catch(function (e) { bubble("err", String(e)); });
  }

  function sendText() {
    var t = $("#text").value;
    if (!t.trim()) { return; }
    $("#text").value = "";
    bubble("me", t);
    send({ text: t });
  }

  function sendPhoto(file) {
    bubble("me", "", URL.createObjectURL(file));
    // Like a phone: the picture goes to WeChat's media store first, then
    // the image message carries its MediaId and PicUrl.
    fetch(api + "/cgi-bin/stable_token", {
      method: "POST",
      body: JSON.stringify({ grant_type: "client_credential", appid: "dev", secret: "dev" })
    }).then(function (r) { return r.json(); }).then(function (tok) {
      var fd = new FormData();
      fd.append("media", file, file.name || "photo.jpg");
      return fetch(api + "/cgi-bin/media/upload?type=image&access_token=" + encodeURIComponent(tok.access_token), { method: "POST", body: fd });
    }).then(function (r) { return r.json(); }).then(function (up) {
      if (up.errcode) { bubble("err", "上传失败 errcode " + up.errcode); return; }
      return send({ media_id: up.media_id, pic_url: up.pic_url });
    }).catch(function (e) { bubble("err", String(e)); });
  }

  function poll() {
    var g = generation;
    fetch("/dev/chat/messages?open_id=" + encodeURIComponent(member.value) + "&after=" + after)
      .then(function (r) { return r.json(); })
      .then(function (j) {
        if (g !== generation) { return; }
        (j.messages || []).forEach(function (m) { after = Math.max(after, m.seq); pushed(m); });
      })
      .catch(function () {})
      .then(function () { setTimeout(poll, 1000); });
  }

  function chooseMember() {
    generation++;
    after = 0;
    log.textContent = "";
    var o = member.selectedOptions[0];
    $("#who").textContent = o.dataset.name ? "OpenID " + member.value + " · 绑定时输入 姓名 " + o.dataset.name + "，手机号 " + o.dataset.phone : "OpenID " + member.value;
    bubble("sys", "以 " + o.textContent + " 的身份聊天");
  }

  member.addEventListener("change", chooseMember);
  $("#send").addEventListener("click", sendText);
  $("#text").addEventListener("keydown", function (e) { if (e.key === "Enter") { sendText(); } });
  $("#photo-btn").addEventListener("click", function () { $("#photo").click(); });
  $("#photo").addEventListener("change", function () {
    var f = this.files[0];
    this.value = "";
    if (f) { sendPhoto(f); }
  });
  $("#loc-send").addEventListener("click", function () {
    var i = parseInt($("#loc").value, 10);
    bubble("me", "📍 " + $("#loc").selectedOptions[0].textContent);
    send({ location: i });
  });
  $("#follow").addEventListener("click", function () { bubble("sys", "关注公众号"); send({ subscribe: true }); });
  document.querySelectorAll(".menu .g > span").forEach(function (s) {
    s.addEventListener("click", function () {
      var g = s.parentNode, open = g.classList.contains("open");
      document.querySelectorAll(".menu .g").forEach(function (x) { x.classList.remove("open"); });
      if (!open) { g.classList.add("open"); }
    });
  });
  document.querySelectorAll(".menu button[data-key]").forEach(function (b) {
    b.addEventListener("click", function () {
      b.closest(".g").classList.remove("open");
      bubble("me", "［菜单］" + b.textContent);
      send({ menu_key: b.dataset.key });
    });
  });
  chooseMember();
  poll();
})();
