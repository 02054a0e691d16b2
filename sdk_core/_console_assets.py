"""Static files of the receiver console (:mod:`sdk_core.console`), kept as Python strings so they
ship inside the wheel with no build step. Served same-origin from ``/static/<name>`` so the
Content-Security-Policy can forbid inline script and style entirely."""

from __future__ import annotations

CSS = """\
:root {
  --bg: #f6f7f9; --panel: #fff; --ink: #1d2430; --muted: #667085; --line: #e3e6eb;
  --accent: #3b5bdb; --accent-soft: #edf1ff; --mark: #ffe8a3; --mark-line: #d99a00;
  --mono: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
}
* { box-sizing: border-box; }
html { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink);
  background: var(--bg); }
body { margin: 0; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
h1 { font-size: 20px; margin: 0; font-weight: 600; overflow-wrap: anywhere; }
h2 { font-size: 15px; margin: 0 0 10px; font-weight: 600; }
h3 { font-size: 14px; margin: 14px 0 6px; font-weight: 600; overflow-wrap: anywhere; }
h4 { font-size: 12px; margin: 10px 0 4px; font-weight: 600; color: var(--muted); text-transform: uppercase;
  letter-spacing: .04em; }
.muted { color: var(--muted); }
main { padding: 18px 24px 24px; max-width: 1500px; margin: 0 auto; }
footer { color: var(--muted); font-size: 12px; padding: 0 24px 24px; max-width: 1500px; margin: 0 auto; }

/* header and summary strip */
header.top { display: flex; align-items: center; gap: 28px; flex-wrap: wrap; padding: 10px 24px;
  background: #1f2a44; color: #e8ecf6; }
.brand { color: #fff; font-weight: 600; font-size: 15px; white-space: nowrap; }
.brand:hover { text-decoration: none; }
.brand-name { color: #9fb4ff; }
.strip { display: flex; gap: 26px; flex-wrap: wrap; margin: 0; }
.strip div { display: flex; flex-direction: column; }
.strip dt { font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: #a8b3cc; }
.strip dd { margin: 0; font-weight: 600; font-size: 15px; }
.strip .drop { display: inline-block; margin-right: 8px; font-weight: 500; font-size: 13px;
  font-family: var(--mono); }
.live::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%;
  background: #37c871; margin-right: 6px; vertical-align: 1px; }
.live.offline::before { background: #e0a000; }

/* list */
.list-head { display: flex; align-items: center; gap: 24px; flex-wrap: wrap; margin-bottom: 14px; }
.filters { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
.filters label { color: var(--muted); }
.filters select, .filters input { font: inherit; padding: 5px 8px; border: 1px solid var(--line);
  border-radius: 6px; background: #fff; color: var(--ink); }
.filters input { width: 320px; }
.filters button { font: inherit; padding: 5px 14px; border: 1px solid var(--accent); background: var(--accent);
  color: #fff; border-radius: 6px; cursor: pointer; }
table.events { width: 100%; border-collapse: collapse; background: var(--panel); border: 1px solid var(--line);
  border-radius: 8px; overflow: hidden; }
table.events th { text-align: left; font-size: 11px; text-transform: uppercase; letter-spacing: .05em;
  color: var(--muted); font-weight: 600; padding: 8px 12px; border-bottom: 1px solid var(--line);
  background: #fafbfc; }
table.events td { padding: 9px 12px; border-bottom: 1px solid var(--line); vertical-align: top;
  overflow-wrap: anywhere; }
table.events tr:last-child td { border-bottom: 0; }
table.events tr.ev:hover td { background: #f8f9ff; }
table.events td.event { width: 42%; }
table.events td.time { white-space: nowrap; color: var(--muted); font-size: 13px; }
table.events td.num { text-align: right; font-variant-numeric: tabular-nums; color: var(--muted); }
table.events td.num.has-red { color: #8a5a00; font-weight: 600; }
table.events tr.empty td { color: var(--muted); padding: 28px 12px; text-align: center; }
tr.fresh td { animation: fresh 2.5s ease-out; }
@keyframes fresh { from { background: #fff4c2; } to { background: transparent; } }
a.title { color: var(--ink); display: block; }
a.title:hover { text-decoration: none; }
a.title:hover .evalue { text-decoration: underline; }
.etype { font-weight: 600; margin-right: 6px; }
h1 .etype, h3 .etype { margin-right: 0; }
.evalue { color: #394150; }
.where { color: var(--muted); font-family: var(--mono); font-size: 12px; margin-top: 2px; }
.pager { display: flex; gap: 18px; justify-content: flex-end; margin-top: 12px; }
.lvl { display: inline-block; font-size: 11px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em;
  padding: 1px 7px; border-radius: 10px; background: #eef0f3; color: #475467; vertical-align: 2px; }
.lvl-fatal { background: #7a1020; color: #fff; }
.lvl-error { background: #fde2e4; color: #a4161a; }
.lvl-warning { background: #fff0c7; color: #8a5a00; }
.lvl-info { background: #e3ecff; color: #2846a8; }
.lvl-debug { background: #eef0f3; color: #475467; }

/* event page */
.event-head { margin-bottom: 16px; }
.event-head .crumbs { margin: 0 0 8px; }
.event-head .where { font-size: 13px; margin-top: 6px; }
.event-layout { display: grid; grid-template-columns: minmax(0, 1fr) 400px; gap: 18px; align-items: start; }
@media (max-width: 1100px) { .event-layout { grid-template-columns: minmax(0, 1fr); } }
section, aside.privacy { background: var(--panel); border: 1px solid var(--line); border-radius: 8px;
  padding: 14px 16px; margin-bottom: 14px; }
aside.privacy { position: sticky; top: 12px; max-height: calc(100vh - 24px); overflow: auto;
  border-top: 3px solid var(--mark-line); }
aside.privacy p { margin: 0 0 10px; }
table.kv { border-collapse: collapse; width: 100%; }
table.kv th { text-align: left; vertical-align: top; font-weight: 500; color: var(--muted); padding: 3px 14px 3px 0;
  white-space: nowrap; width: 1%; font-family: var(--mono); font-size: 12.5px; }
table.kv td { padding: 3px 0; vertical-align: top; overflow-wrap: anywhere; }
table.kv table.kv { border-left: 2px solid var(--line); margin-left: 2px; }
table.kv table.kv th, table.kv table.kv td { padding-left: 8px; }
dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 4px 28px; margin: 0; }
dl.facts div { display: flex; gap: 12px; min-width: 0; }
dl.facts dt { flex: none; width: 92px; color: var(--muted); }
dl.facts dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
.v-str { font-family: var(--mono); font-size: 12.5px; white-space: pre-wrap; color: #0b6e4f; }
.v-num, .v-bool { font-family: var(--mono); font-size: 12.5px; color: #9c36b5; }
.v-null, .v-empty, .v-deep { font-family: var(--mono); font-size: 12.5px; color: var(--muted); }
ol.v-list { margin: 0; padding-left: 28px; }
ol.v-list li::marker { color: var(--muted); font-size: 11px; }
.ctl { font-family: var(--mono); font-size: 10px; color: #a4161a; border: 1px solid #f3b7bc; border-radius: 3px;
  padding: 0 2px; margin: 0 1px; }
mark.redacted, div.redacted { background: var(--mark); outline: 1px dashed var(--mark-line); border-radius: 2px;
  color: inherit; padding: 0 1px; cursor: help; }
div.redacted { display: block; padding: 4px; }
mark.redacted:target, div.redacted:target { outline: 2px solid #e8590c; background: #ffd8a8; }
mark.sample { cursor: default; }
tr.removed mark { font-style: italic; }

.exception + .exception { border-top: 1px dashed var(--line); margin-top: 14px; }
.exception h3 { font-size: 15px; }
.chain-label { font-size: 11px; font-weight: 600; text-transform: uppercase; letter-spacing: .05em;
  color: var(--muted); margin-right: 8px; }
details.frame { border: 1px solid var(--line); border-radius: 6px; margin: 6px 0; background: #fbfbfc; }
details.frame > summary { padding: 6px 10px; cursor: pointer; list-style-position: inside; color: var(--muted); }
details.frame.in-app { border-left: 4px solid var(--accent); background: #fff; }
details.frame.in-app > summary { color: var(--ink); }
details.frame.in-app .fn { font-weight: 700; }
.fn, .loc { font-family: var(--mono); font-size: 12.5px; }
.module { font-family: var(--mono); font-size: 11px; color: var(--muted); margin-left: 10px; }
.badge { font-size: 10px; font-weight: 600; text-transform: uppercase; letter-spacing: .05em; border-radius: 8px;
  padding: 1px 6px; margin-left: 10px; vertical-align: 1px; }
.badge.app { background: var(--accent-soft); color: var(--accent); }
.badge.lib { background: #eef0f3; color: var(--muted); }
details.frame > :not(summary) { margin: 0 10px 10px; }
table.source { border-collapse: collapse; width: calc(100% - 20px); background: #f7f8fa; border-radius: 4px; }
table.source td { padding: 0 8px; vertical-align: top; }
table.source td.ln { text-align: right; color: #98a2b3; font-family: var(--mono); font-size: 12px; width: 1%;
  user-select: none; }
table.source code { white-space: pre-wrap; overflow-wrap: anywhere; }
table.source tr.current td { background: #e7ecff; }
table.source tr.current code { font-weight: 600; }
.vars { background: #fff; }

ol.timeline { list-style: none; margin: 0; padding: 0 0 0 14px; border-left: 2px solid var(--line); }
li.crumb { position: relative; padding: 4px 0 10px 12px; }
li.crumb::before { content: ""; position: absolute; left: -21px; top: 9px; width: 10px; height: 10px;
  border-radius: 50%; background: #fff; border: 2px solid var(--accent); }
.crumb-head { display: flex; gap: 10px; align-items: baseline; }
.crumb-head time { font-family: var(--mono); font-size: 12px; color: var(--muted); }
.crumb-head .cat { font-weight: 600; }
.crumb-msg { margin-top: 2px; font-family: var(--mono); font-size: 12.5px; white-space: pre-wrap;
  overflow-wrap: anywhere; }
.crumb-data { margin-top: 4px; }
.request-line { margin: 0 0 8px; }
.method { font-weight: 700; font-family: var(--mono); }
.tags { display: flex; flex-wrap: wrap; gap: 6px; }
.tag { display: inline-flex; border: 1px solid var(--line); border-radius: 5px; overflow: hidden; font-size: 12.5px; }
.tag .k { background: #f2f4f7; padding: 1px 7px; color: var(--muted); font-family: var(--mono); }
.tag .v { padding: 1px 7px; }
.contexts { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 4px 18px; }
.context h3 { margin-top: 4px; }
details > summary h2 { display: inline; }
pre.raw { background: #f7f8fa; padding: 10px; border-radius: 6px; max-height: 600px; overflow: auto;
  margin-top: 10px; }
.raw-links { margin: 8px 0 0; }

table.remarks { border-collapse: collapse; width: 100%; font-size: 12.5px; margin-bottom: 8px; }
table.remarks th { text-align: left; font-size: 11px; text-transform: uppercase; letter-spacing: .05em;
  color: var(--muted); font-weight: 600; border-bottom: 1px solid var(--line); padding: 4px 6px 4px 0; }
table.remarks td { border-bottom: 1px solid #f0f1f4; padding: 4px 6px 4px 0; vertical-align: top;
  overflow-wrap: anywhere; }
table.remarks td.path code { font-size: 11.5px; }
table.remarks td.rule code { color: #8a5a00; white-space: nowrap; }
table.remarks td.rule.sys code { color: var(--muted); }
table.remarks .muted { font-size: 11px; }
p.ok { color: #0b6e4f; }
.notfound { padding: 40px 0; }
"""

JS = """\
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
"""

FAVICON = """\
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1f2a44"/>\
<circle cx="16" cy="16" r="9" fill="none" stroke="#9fb4ff" stroke-width="2.5"/>\
<circle cx="16" cy="16" r="3" fill="#ffd43b"/></svg>
"""

ASSETS: dict[str, tuple[str, str]] = {
    "console.css": ("text/css; charset=utf-8", CSS),
    "console.js": ("text/javascript; charset=utf-8", JS),
    "favicon.svg": ("image/svg+xml", FAVICON),
}
