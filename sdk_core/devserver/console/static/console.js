// CodeRadar receiver console. Plain JS, no framework: the event list polls /poll for rows that
// arrived since the newest one shown. Event data is only ever written with textContent.
(function () {
  "use strict";

  var levelSelect = document.getElementById("f-level");
  if (levelSelect && levelSelect.form) {
    levelSelect.addEventListener("change", function () { levelSelect.form.submit(); });
  }

  var table = document.getElementById("events");
  if (!table || !table.dataset.lastId) { return; }  // an older page: no live updates
  var tbody = table.tBodies[0];
  var last = Number(table.dataset.lastId) || 0;
  var level = levelSelect ? levelSelect.value : "";
  var textInput = document.getElementById("f-q");
  var text = textInput ? textInput.value : "";
  var live = document.getElementById("live");
  var delay = 1000;
  var MAX_ROWS = 500;

  function node(tag, className, text) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    if (text !== undefined && text !== null) { el.textContent = String(text); }
    return el;
  }

  function buildRow(f) {
    var tr = node("tr", "ev fresh");
    tr.dataset.id = String(f.id);
    var td = node("td");
    td.appendChild(node("span", "lvl " + f.level_class, f.level));
    tr.appendChild(td);
    td = node("td", "event");
    var a = node("a", "title");
    a.href = "/event/" + encodeURIComponent(String(f.id));
    if (f.type) { a.appendChild(node("span", "etype", f.type)); }
    a.appendChild(node("span", "evalue", f.value));
    td.appendChild(a);
    if (f.location) { td.appendChild(node("div", "where", f.location)); }
    tr.appendChild(td);
    tr.appendChild(node("td", "mono", f.transaction));
    tr.appendChild(node("td", "mono", f.release));
    tr.appendChild(node("td", "", f.environment));
    td = node("td", "time");
    var time = node("time", "", f.received);
    time.setAttribute("datetime", f.received_at);
    td.appendChild(time);
    tr.appendChild(td);
    td = node("td", "num" + (f.redactions ? " has-red" : ""), f.redactions);
    var title = f.redactions + " remark(s) in _meta";
    if (f.server_redactions) { title += "; the receiver's second layer redacted " + f.server_redactions; }
    td.title = title;
    tr.appendChild(td);
    return tr;
  }

  function setSummary(s) {
    var el = document.getElementById("sum-events");
    if (el) { el.textContent = String(s.events); }
    el = document.getElementById("sum-bytes");
    if (el) { el.textContent = s.bytes_text; el.title = s.bytes + " bytes"; }
    el = document.getElementById("sum-refused");
    if (el) { el.textContent = String(s.refused); el.title = s.refused_text || "none"; }
    el = document.getElementById("sum-dropped");
    if (el) {
      while (el.firstChild) { el.removeChild(el.firstChild); }
      if (!s.dropped.length) { el.textContent = "none"; }
      s.dropped.forEach(function (d) {
        var span = node("span", "drop", d.reason + " " + d.quantity);
        span.title = d.categories;
        el.appendChild(span);
      });
      el.title = s.dropped_total + " in total";
    }
  }

  function setLive(ok) {
    if (!live) { return; }
    live.textContent = ok ? "live" : "receiver unreachable, retrying";
    live.classList.toggle("offline", !ok);
  }

  function poll() {
    var params = new URLSearchParams();
    params.set("after", String(last));
    if (level) { params.set("level", level); }
    if (text) { params.set("q", text); }
    fetch("/poll?" + params.toString(), { cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        var rows = data.rows || [];
        if (rows.length) {
          var empty = tbody.querySelector("tr.empty");
          if (empty) { tbody.removeChild(empty); }
          for (var i = rows.length - 1; i >= 0; i--) {
            if (!tbody.querySelector('tr[data-id="' + Number(rows[i].id) + '"]')) {
              tbody.insertBefore(buildRow(rows[i]), tbody.firstChild);
            }
          }
          while (tbody.rows.length > MAX_ROWS) { tbody.deleteRow(-1); }
        }
        last = Math.max(last, Number(data.last_id) || 0);
        table.dataset.lastId = String(last);
        if (data.summary) { setSummary(data.summary); }
        setLive(true);
        delay = 1000;
      })
      .catch(function () {
        setLive(false);
        delay = Math.min(delay * 2, 15000);
      })
      .then(function () { window.setTimeout(poll, delay); });
  }

  window.setTimeout(poll, delay);
})();
