// Shoot2Top dashboard: renders every snapshot the server pushes (server-sent events).
// All text from the data goes in with textContent: titles come from social media.
"use strict";

const numberFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const smallFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });
let seenItems = null;

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function cell(value, kind) {
  if (value === null || value === undefined || value === "") {
    return el("td", { class: kind === "text" ? "text unknown" : "num unknown" }, "–");
  }
  switch (kind) {
    case "score": {
      const td = el("td", { class: "num " + (value > 1 ? "up" : value < -1 ? "down" : "") },
                    (value > 0 ? "+" : "") + smallFormat.format(value));
      return td;
    }
    case "number":
      return el("td", { class: "num" }, Math.abs(value) < 100 ? smallFormat.format(value) : numberFormat.format(value));
    case "int":
      return el("td", { class: "num" }, numberFormat.format(value));
    case "hours":
      return el("td", { class: "num" }, smallFormat.format(value));
    case "time":
      return el("td", {}, String(value).replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC"));
    default: {
      const td = el("td", { class: "text" }, String(value).replace(/\s+/g, " "));
      td.title = String(value);
      return td;
    }
  }
}

function renderTable(spec, isLive, fresh) {
  const box = el("div", { class: "panel" });
  if (spec.title) box.appendChild(el("h3", {}, spec.title));
  if (spec.note) box.appendChild(el("p", { class: "note" }, spec.note));
  if (!spec.columns.length) return box;
  const table = el("table");
  const head = el("tr");
  for (const column of spec.columns) {
    head.appendChild(el("th", { class: column.kind === "text" || column.kind === "time" ? "" : "num" }, column.label));
  }
  table.appendChild(el("thead")).appendChild(head);
  const body = el("tbody");
  for (const row of spec.rows) {
    const tr = el("tr");
    if (isLive && row.item_id) {
      tr.dataset.itemId = row.item_id;
      if (fresh.has(row.item_id)) tr.className = "fresh";
    }
    for (const column of spec.columns) tr.appendChild(cell(row[column.key], column.kind));
    body.appendChild(tr);
  }
  table.appendChild(body);
  const scroll = el("div", { class: "scroll" });
  scroll.appendChild(table);
  box.appendChild(scroll);
  return box;
}

function render(data) {
  const liveRows = (data.views.live.tables[0] || { rows: [] }).rows;
  const ids = new Set(liveRows.map((row) => row.item_id));
  const fresh = seenItems === null ? new Set() : new Set([...ids].filter((id) => !seenItems.has(id)));
  seenItems = ids;
  for (const name of ["live", "trends", "publisher", "health"]) {
    const view = data.views[name];
    const body = document.querySelector(`#${name} .body`);
    const parts = [];
    for (const note of view.notes || []) parts.push(el("p", { class: "note" }, note));
    for (const spec of view.tables || []) parts.push(renderTable(spec, name === "live", fresh));
    body.replaceChildren(...parts);
  }
  const asof = data.as_of
    ? `As of ${data.as_of.replace("T", " ").replace("Z", " UTC")} (${data.as_of_is}) · ${data.warehouse}`
    : `The warehouse has no observations yet · ${data.warehouse}`;
  document.getElementById("asof").textContent = asof;
  document.body.dataset.version = String(data.version);
  document.body.dataset.generatedAt = data.generated_at;
  setStatus("live", `live · updated ${new Date().toLocaleTimeString()}`);
}

function setStatus(state, text) {
  const node = document.getElementById("status");
  node.className = "status " + state;
  node.textContent = text;
}

function connect() {
  const source = new EventSource("/events");
  source.addEventListener("snapshot", (event) => render(JSON.parse(event.data)));
  source.onerror = () => setStatus("lost", "reconnecting…");
}

connect();
