/* Leadbot chat widget. Embed with a script element: src="https://YOUR-HOST/widget.js" data-site="SITE_KEY"
 * async (README, "Embedding the widget"). No script end tag and no HTML comment opener appears in this
 * file, not even in a comment, so that it can also stand inside an inline script element.
 * Served by the web process (chatbot/widget.py), which puts the widget's own words in from
 * templates/chatbot/widget_words.txt. No framework, no CDN. Renders in a Shadow DOM so the host page's CSS cannot reach it.
 * All text is rendered with textContent, never as HTML.
 * Privacy: nothing is stored before the visitor opens the chat, and the chat connects (which
 * stores the conversation) only once the site's privacy notice is on screen. The visitor's token
 * is written to localStorage only after they send a message. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-site]");
  if (!script || window.__leadbotLoaded) return;
  window.__leadbotLoaded = true;
  var siteKey = script.getAttribute("data-site");
  var base = new URL(script.src, location.href);
  var wsUrl = (base.protocol === "https:" ? "wss://" : "ws://") + base.host + "/ws/chat/";
  var configUrl = base.protocol + "//" + base.host + "/widget/" + encodeURIComponent(siteKey || "") + "/config.json";
  var storeKey = "leadbot:" + siteKey;

  // Colours meet WCAG 2.2 AA: text 4.5:1 or more on its background, borders and focus rings 3:1.
  // The focus ring is two rings (white inside, near-black outside) so it shows on any host page.
  var CSS =
    ":host{all:initial}" +
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}" +
    ".launch{position:fixed;right:20px;bottom:20px;width:60px;height:60px;border-radius:50%;border:0;background:#1f4fd1;color:#fff;font-size:26px;cursor:pointer;display:flex;align-items:center;justify-content:center;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483646}" +
    "button:focus-visible,textarea:focus-visible,a:focus-visible,.log:focus-visible{outline:2px solid #fff;outline-offset:0;box-shadow:0 0 0 5px #111}" +
    ".panel{position:fixed;right:20px;bottom:92px;width:370px;max-width:calc(100vw - 24px);height:560px;max-height:calc(100vh - 110px);background:#fff;color:#1b1b1b;border-radius:14px;box-shadow:0 8px 30px rgba(0,0,0,.28);display:flex;flex-direction:column;overflow:hidden;z-index:2147483647;font-size:15px;line-height:1.4}" +
    ".panel[hidden],[hidden]{display:none!important}" +
    "header{background:#1f4fd1;color:#fff;padding:12px 14px;display:flex;align-items:center;gap:8px}" +
    "header h2{font-size:16px;margin:0;flex:1;font-weight:600}" +
    ".status{font-size:12px}" +
    ".person{background:transparent;border:1px solid #fff;color:#fff;border-radius:14px;padding:3px 10px;min-height:28px;font-size:13px;cursor:pointer}" +
    ".person:hover{background:#1a43b3}" +
    ".close{background:transparent;border:0;color:#fff;font-size:22px;cursor:pointer;line-height:1;padding:4px 8px;min-width:32px;min-height:32px;flex-shrink:0}" +
    ".agent{margin:0;padding:8px 12px;display:flex;align-items:center;gap:8px;background:#e6f4ea;color:#14532d;border-bottom:1px solid #9fceb0;font-size:14px}" +
    ".avatar{width:28px;height:28px;border-radius:50%;background:#1a6b32;color:#fff;display:flex;align-items:center;justify-content:center;font-weight:600}" +
    ".notice{margin:0;padding:8px 12px;font-size:12px;line-height:1.35;color:#33394a;background:#eef2fb;border-bottom:1px solid #dde3f0}" +
    ".notice a{color:#1f4fd1;margin-left:4px}" +
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f5f7fb}" +
    ".msg{max-width:85%;padding:8px 12px;border-radius:14px;white-space:pre-wrap;word-wrap:break-word}" +
    ".bot{background:#fff;border:1px solid #dde3f0;align-self:flex-start;border-bottom-left-radius:4px}" +
    ".rep{border-color:#9fceb0}" +
    ".name{display:block;font-size:12px;font-weight:600;color:#1a6b32}" +
    ".visitor{background:#1f4fd1;color:#fff;align-self:flex-end;border-bottom-right-radius:4px}" +
    ".system{align-self:center;background:#fff4d6;color:#5c4400;font-size:13px}" +
    ".error{align-self:center;background:#fde2e1;color:#7a1410;font-size:13px}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    ".replies{display:flex;flex-wrap:wrap;gap:6px;align-self:flex-start}" +
    ".replies button{border:1px solid #1f4fd1;background:#fff;color:#1f4fd1;border-radius:16px;padding:6px 12px;min-height:32px;cursor:pointer;font-size:14px}" +
    ".replies button:hover{background:#eaf0ff}" +
    ".typing{align-self:flex-start;color:#555;font-size:13px;padding:4px 8px}" +
    "form{display:flex;gap:6px;border-top:1px solid #dde3f0;padding:8px;background:#fff}" +
    "textarea{flex:1;resize:none;border:1px solid #6b7280;border-radius:10px;padding:8px;font-size:15px;height:42px;color:#1b1b1b;background:#fff}" +
    "textarea::placeholder{color:#6b7280}" +
    ".send{border:0;background:#1f4fd1;color:#fff;border-radius:10px;padding:0 14px;cursor:pointer;font-size:15px}" +
    "@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;max-width:100vw;height:100%;max-height:100%;border-radius:0}.launch{right:14px;bottom:14px}}" +
    "@media (prefers-reduced-motion:reduce){*{animation:none!important;transition:none!important;scroll-behavior:auto!important}}";

  // The widget's own words, put in by the server from templates/chatbot/widget_words.txt (the bot's,
  // the rep's and the notices come from the server's frames). "{name}" in a word stands for a name.
  var T = {/* WIDGET_WORDS */};
  function fill(word, name) { return word.split("{name}").join(name); }
  var title = script.getAttribute("data-title") || T.title;
  // What "Talk to a person" sends: the bot's payload for a request for a person, as its buttons send it.
  var PERSON_PAYLOAD = "/request_human";

  var host = document.createElement("div");
  host.id = "leadbot-widget";
  var root = host.attachShadow({ mode: "open" });
  // A modal dialog: focus stays inside while it is open and goes back to the launcher on close.
  // New messages from the bot, a rep or the system are read out by the polite live region (.say),
  // not by the log itself, so a reload's history and the visitor's own words are not read again.
  root.innerHTML =
    "<style>" + CSS + "</style>" +
    '<button class="launch" type="button" aria-haspopup="dialog" aria-expanded="false" aria-controls="lb-panel"><svg width="28" height="28" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2z"/></svg></button>' +
    '<section class="panel" id="lb-panel" role="dialog" aria-modal="true" aria-labelledby="lb-title" hidden>' +
    '<header><h2 id="lb-title"></h2><span class="status" role="status"></span>' +
    '<button class="person" type="button" hidden></button>' +
    '<button class="close" type="button">\u00D7</button></header>' +
    '<p class="agent" hidden><span class="avatar" aria-hidden="true"></span><span></span></p>' +
    '<p class="notice" role="note" hidden><span></span><a target="_blank" rel="noopener noreferrer" hidden></a></p>' +
    '<div class="log" role="log" aria-live="off" tabindex="0"></div>' +
    '<div class="sr say" aria-live="polite" aria-relevant="additions"></div>' +
    '<form><label class="sr" for="lb-input"></label>' +
    '<textarea id="lb-input" rows="1" maxlength="2000"></textarea>' +
    '<button class="send" type="submit"></button></form></section>';
  document.body.appendChild(host);

  var $ = function (sel) { return root.querySelector(sel); };
  var launch = $(".launch"), panel = $(".panel"), log = $(".log"), form = $("form");
  var input = $("textarea"), sendBtn = $(".send"), statusEl = $(".status"), say = $(".say");
  var notice = $(".notice"), noticeText = $(".notice span"), policyLink = $(".notice a");
  var agentBar = $(".agent"), closeBtn = $(".close"), personBtn = $(".person");
  $("#lb-title").textContent = title;
  launch.setAttribute("aria-label", T.open);
  closeBtn.setAttribute("aria-label", T.close);
  notice.setAttribute("aria-label", T.privacy);
  log.setAttribute("aria-label", T.log);
  $("label").textContent = T.message;
  input.placeholder = T.placeholder;
  sendBtn.textContent = T.send;
  personBtn.textContent = T.person;

  var ws = null, attempts = 0, started = false, typingEl = null, seen = {}, outbox = [];
  var counter = 0, starting = false, session = null, agentTyping = null;
  // "Talk to a person" shows when the site offers it (the "session" frame says) and no rep holds the chat.
  var personOffered = false, withRep = false;
  // A visitor who sent a message before (their token is stored) has interacted already.
  var interacted = !!stored().visitor;

  function stored() {
    try { return JSON.parse(localStorage.getItem(storeKey) || "{}"); } catch (e) { return {}; }
  }
  function store(obj) { try { localStorage.setItem(storeKey, JSON.stringify(obj)); } catch (e) { /* private mode */ } }
  // The token goes to localStorage only once the visitor has sent something.
  function remember() { if (interacted && session) store(session); }

  function utm() {
    var out = {}, params = new URLSearchParams(location.search);
    ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"].forEach(function (k) {
      if (params.get(k)) out[k] = params.get(k);
    });
    return out;
  }

  function scroll() { log.scrollTop = log.scrollHeight; }
  // Pressed or outdated reply buttons go; if one had the focus, it moves to the message box.
  function clearReplies() {
    var boxes = log.querySelectorAll(".replies"), had = false;
    boxes.forEach(function (n) { had = had || n.contains(root.activeElement); n.remove(); });
    if (had) input.focus();
  }
  function setTyping(on, name) {
    if (on && !typingEl) {
      typingEl = document.createElement("div");
      typingEl.className = "typing";
      typingEl.textContent = fill(T.typing, name || T.bot);
      log.appendChild(typingEl);
      scroll();
    } else if (!on && typingEl) { typingEl.remove(); typingEl = null; }
  }
  // Live handoff: while a rep of the team holds the chat ("mode" frames say who), a bar under the
  // header says so, with their initial; their messages carry their name.
  function setAgent(name) {
    agentBar.hidden = !name;
    withRep = !!name;
    showPerson();
    if (!name) return;
    agentBar.firstChild.textContent = name.charAt(0).toUpperCase();
    agentBar.lastChild.textContent = fill(T.with_rep, name);
  }
  function showPerson() {
    var hide = !personOffered || withRep;
    if (hide && root.activeElement === personBtn) input.focus();
    personBtn.hidden = hide;
  }
  // Read out by screen readers (politely); a few recent lines are kept, older ones go.
  function announce(text) {
    var line = document.createElement("p");
    line.textContent = text;
    say.appendChild(line);
    while (say.childNodes.length > 3) say.firstChild.remove();
  }

  function render(sender, text, buttons, key, name, live) {
    if (key && seen[key]) return;
    if (key) seen[key] = true;
    var el = document.createElement("div");
    el.className = "msg " + (sender === "rep" ? "bot rep" : sender);
    var who = document.createElement("span");
    who.className = sender === "rep" ? "name" : "sr";
    who.textContent = sender === "visitor" ? T.you_said + " " : sender === "bot" ? fill(T.said, T.bot) + " " : sender === "rep" ? name || "" : "";
    el.appendChild(who);
    el.appendChild(document.createTextNode(text));
    if (typingEl) log.insertBefore(el, typingEl); else log.appendChild(el);
    if (live && sender !== "visitor") announce((sender === "rep" && name ? fill(T.said, name) + " " : who.textContent) + text);
    if (buttons && buttons.length) {
      var box = document.createElement("div");
      box.className = "replies";
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", T.replies);
      buttons.forEach(function (b) {
        var btn = document.createElement("button");
        btn.type = "button";
        btn.textContent = b.title;
        btn.addEventListener("click", function () { send(b.payload, b.title); });
        box.appendChild(btn);
      });
      log.appendChild(box);
    }
    scroll();
  }

  function renderHistory(history) {
    if (log.contains(root.activeElement) && root.activeElement !== log) input.focus();
    log.textContent = "";
    seen = {};
    typingEl = null;
    history.forEach(function (m, i) {
      var last = i === history.length - 1;
      render(m.sender, m.text, last && m.sender === "bot" ? m.buttons : null, m.sender + ":" + m.id, m.name);
    });
  }

  function setStatus(text) { statusEl.textContent = text; }

  function showNotice(privacy) {
    if (!privacy || !privacy.notice) return;
    noticeText.textContent = privacy.notice;
    if (privacy.policy_url && /^https?:\/\//i.test(privacy.policy_url)) {
      policyLink.href = privacy.policy_url;
      policyLink.textContent = privacy.policy_label || privacy.policy_url;
      policyLink.hidden = false;
    }
    notice.hidden = false;
  }

  // The notice first, then the chat: connecting is what stores the conversation.
  function start() {
    if (starting) return;
    starting = true;
    fetch(configUrl, { credentials: "omit" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (config) { showNotice(config.privacy); connect(); })
      .catch(function () {
        starting = false;
        setStatus(T.reconnecting);
        setTimeout(start, Math.min(30000, 500 * Math.pow(2, attempts++)));
      });
  }

  function connect() {
    ws = new WebSocket(wsUrl);
    ws.onopen = function () {
      attempts = 0;
      setStatus("");
      var s = stored();
      ws.send(JSON.stringify({
        type: "start", site: siteKey, visitor: s.visitor || null,
        timezone: (Intl.DateTimeFormat().resolvedOptions() || {}).timeZone || null,
        page: location.href, referrer: document.referrer || null, utm: utm()
      }));
    };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (f.type === "session") {
        session = { visitor: f.visitor, conversation: f.conversation };
        remember();
        started = true;
        personOffered = f.person_button === true;
        renderHistory(f.history || []);
        setAgent(f.agent);
        sendBtn.disabled = false;
        while (outbox.length) ws.send(JSON.stringify(outbox.shift()));
      } else if (f.type === "bot") {
        setTyping(false);
        clearReplies();
        render(f.sender || "bot", f.text, f.buttons, (f.sender || "bot") + ":" + f.id, null, true);
      } else if (f.type === "visitor") {
        render("visitor", f.text, null, "visitor:" + f.id);
      } else if (f.type === "agent") {
        setTyping(false);
        render("rep", f.text, null, "rep:" + f.id, f.name, true);
      } else if (f.type === "agent_typing") {
        setTyping(true, f.name);
        clearTimeout(agentTyping);
        agentTyping = setTimeout(function () { setTyping(false); }, 6000);
      } else if (f.type === "mode") {
        setTyping(false);
        setAgent(f.mode === "agent" ? f.name : null);
        if (f.notice) render("system", f.notice.text, null, "system:" + f.notice.id, null, true);
      } else if (f.type === "typing") {
        setTyping(true);
        typingEl.textContent = fill(T.typing, T.bot);
      } else if (f.type === "notice") {
        // The bot is slow ("still thinking") or will answer later: said where the typing dots were.
        setTyping(true);
        typingEl.textContent = f.message;
        announce(f.message);
      } else if (f.type === "error") {
        setTyping(false);
        render("error", f.message, null, null, null, true);
      }
    };
    ws.onclose = function () {
      started = false;
      setTyping(false);
      var delay = Math.min(30000, 500 * Math.pow(2, attempts++)) * (0.5 + Math.random() / 2);
      setStatus(T.reconnecting);
      setTimeout(connect, delay);
    };
  }

  function send(text, shown) {
    text = (text || "").trim();
    if (!text) return;
    interacted = true;
    remember();
    var frame = { type: "message", text: text, id: Date.now().toString(36) + "-" + (counter++) };
    clearReplies();
    render("visitor", shown || text, null, null);
    if (ws && ws.readyState === 1 && started) ws.send(JSON.stringify(frame));
    else outbox.push(frame);
  }

  function open(show) {
    panel.hidden = !show;
    launch.setAttribute("aria-expanded", String(show));
    launch.setAttribute("aria-label", show ? T.close : T.open);
    if (show) {
      start();
      input.focus();
      scroll();
    } else launch.focus();
  }

  // What Tab can reach inside the open panel (hidden and disabled controls are skipped).
  function focusables() {
    return [].filter.call(panel.querySelectorAll("button,textarea,a[href],[tabindex='0']"), function (n) {
      return !n.disabled && n.getClientRects().length > 0;
    });
  }

  launch.addEventListener("click", function () { open(panel.hidden); });
  closeBtn.addEventListener("click", function () { open(false); });
  // Like a quick reply: the payload goes to the bot, the visitor's line shows the button's words.
  personBtn.addEventListener("click", function () { send(PERSON_PAYLOAD, T.person); });
  // Escape closes; Tab and Shift+Tab go round the panel's controls and never leave it.
  root.addEventListener("keydown", function (e) {
    if (panel.hidden) return;
    if (e.key === "Escape") { e.preventDefault(); open(false); return; }
    if (e.key !== "Tab") return;
    var all = focusables(), first = all[0], last = all[all.length - 1], at = root.activeElement;
    var inside = at && panel.contains(at);
    if (e.shiftKey && (at === first || !inside)) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && (at === last || !inside)) { e.preventDefault(); first.focus(); }
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    send(input.value);
    input.value = "";
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  // A returning visitor gets their conversation back without clicking.
  if (stored().visitor) start();
})();
