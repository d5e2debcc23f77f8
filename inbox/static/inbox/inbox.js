// The reps' inbox: one socket (/ws/inbox/, inbox/consumers.py), rows updated as they change.
(function () {
  "use strict";
  var rows = {};          // conversation id -> row
  var alerted = {};       // handoff requests already announced
  var openId = null;
  var $ = function (id) { return document.getElementById(id); };
  var scheme = location.protocol === "https:" ? "wss://" : "ws://";
  var socket = null;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;  // always text, never HTML
    return node;
  }

  function send(frame) { if (socket && socket.readyState === 1) socket.send(JSON.stringify(frame)); }

  function factLine(row) {
    var f = row.facts || {}, parts = [];
    ["name", "company_name", "role", "company_size", "email", "need_text"].forEach(function (k) {
      if (f[k] !== undefined) parts.push(String(f[k]));
    });
    return parts.join(" · ");
  }

  // The queue on top: asked for a person, or qualified and on the site right now (inbox/selectors.py).
  function needsPerson(row) { return row.needs_person; }
  function askedForPerson(row) { return row.handoff_requested_at && !row.held_by; }

  function renderRows() {
    var all = Object.keys(rows).map(function (k) { return rows[k]; });
    all.sort(function (a, b) { return a.last_activity_at < b.last_activity_at ? 1 : -1; });
    var queue = $("queue"), list = $("list");
    queue.textContent = ""; list.textContent = "";
    all.forEach(function (row) {
      var li = el("li"), b = el("button", "row");
      b.type = "button";
      b.dataset.conversation = row.conversation;
      if (row.conversation === openId) b.setAttribute("aria-current", "true");
      b.appendChild(el("div", "", factLine(row) || "Unknown visitor"));
      b.appendChild(el("div", "meta", "Score " + (row.score === null ? "–" : row.score) + " · " + (row.page || row.site)));
      if (row.held_by) b.appendChild(el("div", "held", "With " + row.held_by));
      else if (row.needs_person && !row.handoff_requested_at) b.appendChild(el("div", "held", "Qualified, on the site now"));
      if (row.last_message) b.appendChild(el("div", "meta", row.last_message));
      b.addEventListener("click", function () { send({ type: "open", conversation: row.conversation }); });
      li.appendChild(b);
      (needsPerson(row) ? queue : list).appendChild(li);
    });
  }

  function beep() {
    try {
      var audio = new (window.AudioContext || window.webkitAudioContext)(), tone = audio.createOscillator();
      tone.connect(audio.destination); tone.frequency.value = 880;
      tone.start(); tone.stop(audio.currentTime + 0.15);
    } catch (e) { /* no sound available */ }
  }

  function alertFor(row, routed) {
    if (!askedForPerson(row) || (alerted[row.conversation] && !routed)) return;
    if (alerted[row.conversation] === "routed") return;
    alerted[row.conversation] = routed ? "routed" : true;
    var who = factLine(row) || "A visitor";
    $("alert").textContent = who + " asked for a person" + (routed ? " (routed to you)." : ".");
    $("alert").hidden = false;
    if (!routed) return;
    beep();
    if (window.Notification && Notification.permission === "granted") {
      new Notification("A visitor asked for you", { body: who });
    }
  }

  function renderHeader() {
    var row = rows[openId];
    if (!row) return;
    $("title").textContent = factLine(row) || "Visitor";
    $("holder").textContent = row.held_by ? (row.mine ? "You are chatting" : "With " + row.held_by) : "The bot is answering";
    $("take").hidden = !!row.held_by;
    $("back").hidden = !row.mine;
    $("compose").hidden = !row.mine;
    $("facts").textContent = "Score " + (row.score === null ? "–" : row.score) + (row.outcome ? " (" + row.outcome + ")" : "") + " · " + (row.page || "");
  }

  function addMessage(m) {
    // A message can come twice (the transcript sent on opening, and the live event right after it).
    if ($("transcript").querySelector('[data-id="' + Number(m.id) + '"]')) return;
    var node = el("div", "msg " + m.sender, (m.sender === "rep" && m.name ? m.name + ": " : "") + m.text);
    node.dataset.id = m.id;
    $("transcript").appendChild(node);
    $("transcript").scrollTop = $("transcript").scrollHeight;
  }

  function connect() {
    socket = new WebSocket(scheme + location.host + "/ws/inbox/");
    socket.onmessage = function (event) {
      var frame = JSON.parse(event.data);
      if (frame.type === "list") {
        $("me").textContent = "(" + frame.me + ")";
        rows = {};
        frame.conversations.forEach(function (row) { rows[row.conversation] = row; alertFor(row); });
        renderRows();
        // A link to one conversation (the handoff email or Slack post): /inbox/?conversation=ID opens it.
        var wanted = new URLSearchParams(location.search).get("conversation");
        if (wanted && !openId) send({ type: "open", conversation: wanted });
      } else if (frame.type === "conversation") {
        rows[frame.row.conversation] = frame.row;
        alertFor(frame.row);
        renderRows();
        if (frame.row.conversation === openId) renderHeader();
      } else if (frame.type === "alert") {
        rows[frame.row.conversation] = frame.row;
        alertFor(frame.row, true);
        renderRows();
      } else if (frame.type === "transcript") {
        openId = frame.conversation;
        if (frame.row) rows[openId] = frame.row;
        $("transcript").textContent = "";
        frame.messages.forEach(addMessage);
        $("error").textContent = "";
        renderRows(); renderHeader();
      } else if (frame.type === "message" && frame.conversation === openId) {
        addMessage(frame.message);
      } else if (frame.type === "error") {
        $("error").textContent = frame.message;
      }
    };
    socket.onclose = function () { setTimeout(connect, 2000); };
  }

  // Browsers ask for notification permission only after a click on the page.
  document.addEventListener("click", function () {
    if (window.Notification && Notification.permission === "default") Notification.requestPermission();
  }, { once: true });
  $("take").addEventListener("click", function () {
    send({ type: "take_over", conversation: openId });
  });
  $("back").addEventListener("click", function () { send({ type: "hand_back", conversation: openId }); });
  var lastTyping = 0;
  $("text").addEventListener("input", function () {
    var now = Date.now();
    if (now - lastTyping > 2000) { lastTyping = now; send({ type: "typing", conversation: openId }); }
  });
  $("compose").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("text").value.trim();
    if (!text) return;
    send({ type: "message", conversation: openId, text: text });
    $("text").value = "";
  });
  connect();
})();
