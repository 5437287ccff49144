// Warble web client: the live connection (websocket), plus two small form helpers.
// Rendering stays on the server: events only update counters and ask htmx for partials.
(function () {
  "use strict";

  // Compose: characters left, and a word when over the limit.
  function updateCount(area) {
    var out = document.getElementById(area.id + "_count");
    if (!out) return;
    var left = Number(area.dataset.count) - Array.from(area.value).length;
    out.textContent = left + " characters left";
    out.classList.toggle("over", left < 0);
  }
  document.addEventListener("input", function (e) {
    if (e.target.matches && e.target.matches("textarea[data-count]")) updateCount(e.target);
  });
  document.addEventListener("change", function (e) {
    var input = e.target;
    if (!input.dataset || !input.dataset.preview || !input.files || !input.files[0]) return;
    var img = document.getElementById(input.dataset.preview);
    if (!img) return;
    var reader = new FileReader();
    reader.onload = function () { img.src = reader.result; img.hidden = false; };
    reader.readAsDataURL(input.files[0]);
  });

  var body = document.body;
  if (!body || body.dataset.live === undefined) return;
  var last = Number(body.dataset.live) || 0;
  var seen = new Set();
  var badge = document.getElementById("unread");
  var offline = document.getElementById("offline");
  var banner = document.getElementById("new-posts");
  var fresh = 0;
  var delay = 500;
  var socket;

  function setUnread(n) {
    if (!badge) return;
    badge.textContent = String(n);
    badge.setAttribute("aria-label", n + " unread");
    badge.hidden = n === 0;
  }

  function topPostId() {
    var first = document.querySelector("#posts .post");
    return first ? Number(first.dataset.id) : 0;
  }

  if (banner) {
    banner.addEventListener("htmx:configRequest", function (e) {
      e.detail.parameters.after = String(topPostId());
    });
    banner.addEventListener("htmx:afterRequest", function () {
      fresh = 0;
      banner.hidden = true;
    });
  }

  function onEvent(event) {
    if (event.type === "post.deleted") {
      // A deleted post leaves the page (its cards wherever it is shown), but for the card
      // whose own Delete is under way here: htmx swaps the answer in its place.
      document.querySelectorAll('.post[data-id="' + Number(event.post_id) + '"]')
        .forEach(function (card) {
          if (!card.querySelector(".htmx-request")) card.remove();
        });
      return;
    }
    // Events count once, by id. A replay can also bring one with an id below the last: one
    // that committed after it (new), or one that committed before it and may be on the page
    // or in the badge already: that one refreshes what is server-rendered but not the badge.
    if (typeof event.id !== "number" || seen.has(event.id)) return;
    seen.add(event.id);
    var older = event.id <= last;
    last = Math.max(last, event.id);
    // "Mark all read" covers what has been shown, live arrivals included.
    document.querySelectorAll("input[name=up_to]").forEach(function (input) {
      input.value = String(last);
    });
    if (!older) setUnread((Number(badge && badge.textContent) || 0) + 1);
    body.dispatchEvent(new CustomEvent("live-notification", { bubbles: true }));
    if (banner && event.type === "post.created" && event.post &&
        !document.getElementById("post-" + event.post.id)) {
      fresh += 1;
      banner.textContent = fresh === 1 ? "1 new post" : fresh + " new posts";
      banner.hidden = false;
    }
  }

  var leaving = false;
  // Signing out here: the connection goes with the session (the server closes the
  // session's other sockets, in every tab, with 4401).
  document.addEventListener("submit", function (e) {
    if (e.target.matches && e.target.matches("form[data-signout]") && socket) {
      leaving = true;
      socket.close(1000);
    }
  });

  function connect() {
    var scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(scheme + "://" + location.host + "/ws/notifications/?since=" + last);
    socket.onopen = function () {
      delay = 500;
      body.dataset.socket = "open";
      if (offline) offline.hidden = true;
    };
    socket.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (err) { return; }
      onEvent(event);
    };
    socket.onclose = function (e) {
      body.dataset.socket = "closed";
      if (leaving) return;
      if (e.code === 4401) {
        // Signed out (here or elsewhere): nothing to reconnect to.
        body.dataset.socket = "signed-out";
        if (offline) {
          offline.textContent = "Signed out. Reload the page to sign in again.";
          offline.hidden = false;
        }
        return;
      }
      if (offline) offline.hidden = false;
      setTimeout(connect, delay + Math.random() * delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
