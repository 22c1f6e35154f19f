// csflow live what-if: controls -> one question (POST /api/ask) -> answers streamed as
// server-sent events, refined replication by replication. No framework, no CDN.
"use strict";

const COLOURS = ["#17324d", "#d9822b", "#2a9d8f", "#9b5de5", "#e63946", "#6a994e"];
const state = { options: null, source: null, job: null, snap: null, pins: [], timer: null,
  defaults: {} };
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

async function loadOptions(selectKey) {
  const res = await fetch("/api/options");
  state.options = await res.json();
  const base = $("base");
  const previous = selectKey || base.value || "baseline";
  base.replaceChildren(...state.options.scenarios.map(
    (s) => el("option", { value: s.key, text: `${s.key} (${s.source})` })));
  base.value = state.options.scenarios.some((s) => s.key === previous) ? previous
    : state.options.scenarios[0].key;
  const checked = new Set([...document.querySelectorAll("#compare input:checked")].map((i) => i.value));
  if (!checked.size) checked.add(base.value);
  if (selectKey) checked.add(selectKey);
  const fs = $("compare");
  fs.querySelectorAll("label").forEach((l) => l.remove());
  for (const s of state.options.scenarios) {
    const box = el("input", { type: "checkbox", value: s.key, id: `compare-${s.key}` });
    box.checked = checked.has(s.key);
    box.addEventListener("change", () => { buildEffects(); schedule(); });
    fs.append(el("label", { for: `compare-${s.key}`, title: s.description }, box, s.key));
  }
  buildSliders();
  buildEffects();
}

function scenario(key) { return state.options.scenarios.find((s) => s.key === key); }

function controlRow(id, c, value, onChange) {
  const range = el("input", { type: "range", id: `${id}-range`, min: c.low, max: c.high, step: c.step });
  const box = el("input", { type: "number", id, min: c.low, max: c.high, step: "any" });
  range.value = box.value = value;
  range.addEventListener("input", () => { box.value = range.value; onChange(box); });
  box.addEventListener("input", () => {
    if (box.checkValidity()) range.value = box.value;
    onChange(box);
  });
  return el("div", { class: "row" }, range, box, el("span", { class: "unit", text: c.unit }));
}

function buildSliders() {
  const defaults = scenario($("base").value).defaults;
  state.defaults = defaults;
  const host = $("sliders");
  host.replaceChildren();
  const all = [...state.options.controls, state.options.years];
  for (const c of all) {
    const id = `ctl-${c.name}`;
    let input;
    if (c.name === "agency_cover") {
      const box = el("input", { type: "checkbox", id });
      box.checked = defaults.agency_cover === 1;
      box.addEventListener("change", schedule);
      input = el("label", { class: "check", for: id }, box, c.label);
      host.append(el("div", { class: "control" }, input, el("p", { class: "help", text: c.help })));
      continue;
    }
    input = controlRow(id, c, defaults[c.name], schedule);
    host.append(el("div", { class: "control" }, el("label", { for: id, text: c.label }), input,
      el("p", { class: "help", text: `${c.help} (${c.low} to ${c.high})` })));
  }
}

function buildEffects() {
  const host = $("effects");
  const keys = chosen();
  const seen = new Set();
  const rows = [];
  for (const key of keys) {
    for (const e of scenario(key).effects) {
      if (seen.has(e.key)) continue;
      seen.add(e.key);
      const id = `eff-${e.key.replace(/\./g, "-")}`;
      const c = { low: e.low, high: e.high, step: Math.max((e.high - e.low) / 20, 0.005), unit: e.kind };
      const row = controlRow(id, c, e.value, schedule);
      row.querySelector("input[type=number]").dataset.effect = e.key;
      rows.push(el("div", { class: "control" },
        el("label", { for: id, text: `${e.key} (assumed: ${fmt(e.value)})` }), row,
        el("p", { class: "range-note", text: `evidence range ${fmt(e.low)} to ${fmt(e.high)}` +
          ` (relative change: -0.15 = 15% fewer or shorter)` }),
        el("p", { class: "evidence", text: e.evidence })));
    }
  }
  if (rows.length) host.replaceChildren(...rows);
  else host.replaceChildren(el("p", { class: "hint", text: "The chosen structures assume no practice effects." }));
}

function fmt(x) { return (x > 0 ? "+" : "") + Number(x).toFixed(2); }

function chosen() {
  return [...document.querySelectorAll("#compare input:checked")].map((i) => i.value);
}

function question() {
  const whatif = {};
  const problems = [];
  for (const c of state.options.controls) {
    const box = $(`ctl-${c.name}`);
    if (c.name === "agency_cover") { whatif[c.name] = box.checked ? 1 : 0; continue; }
    if (!box.checkValidity() || box.value === "") {
      problems.push(`${c.label}: must be between ${c.low} and ${c.high}`);
      continue;
    }
    whatif[c.name] = Number(box.value);
  }
  const effects = {};
  for (const box of document.querySelectorAll("#effects input[type=number]")) {
    if (!box.checkValidity() || box.value === "") {
      problems.push(`${box.dataset.effect}: must be within its evidence range ${box.min} to ${box.max}`);
      continue;
    }
    effects[box.dataset.effect] = Number(box.value);
  }
  const years = $("ctl-years");
  if (!years.checkValidity() || years.value === "") problems.push(`Horizon: must be between ${years.min} and ${years.max} years`);
  return { problems, q: { base: $("base").value, compare: chosen(), whatif, effects,
    effects_on: $("effects-on").checked, years: Number(years.value) } };
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(ask, 250);
}

function showError(text) { $("error").textContent = text || ""; }

async function ask() {
  const { problems, q } = question();
  if (problems.length) { showError(problems.join("\n")); return; }
  if (!q.compare.length) { showError("Pick at least one structure to try the what-if on."); return; }
  showError("");
  const res = await fetch("/api/ask", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(q) });
  const body = await res.json();
  if (!res.ok) { showError(body.error); return; }
  if (state.source) state.source.close();
  state.job = body.job;
  $("status").dataset.asked = body.job;
  $("whatif-label").textContent = body.label ? `What if: ${body.label}` : "As it stands";
  $("status").textContent = "asked: waiting for the first replications…";
  const source = new EventSource(`/api/jobs/${body.job}/events`);
  state.source = source;
  source.onmessage = (ev) => {
    const snap = JSON.parse(ev.data);
    if (snap.job !== state.job) return;
    render(snap);
    if (snap.finished) source.close();
  };
  source.onerror = () => { if (state.snap && state.snap.finished) source.close(); };
}

function render(snap) {
  state.snap = snap;
  const queue = snap.queue > 0 ? ` · busy: ${snap.queue} runs queued ahead of yours` : "";
  $("status").textContent = (snap.n ? `${snap.n} of ${snap.reps} replications` :
    "running the first replications") +
    (snap.withdrawn ? " · stopped (ask again)" : snap.finished ? " · done" : "") + queue;
  $("status").dataset.n = snap.n;
  $("status").dataset.job = snap.job;
  $("status").dataset.queue = snap.queue;
  $("progress").style.width = `${Math.round(100 * snap.arrived / snap.total)}%`;
  $("pin").disabled = snap.n < 2;
  if (snap.failures.length) showError("Some replications failed: " + snap.failures.join("; "));
  renderCards(snap);
  renderCharts(snap);
  renderRests(snap);
  for (const pin of state.pins) if (pin.job === snap.job) pin.snap = snap;
  if (state.pins.some((p) => p.job === snap.job)) renderPins();
}

function scenarioName(snap, i) {
  const s = snap.scenarios[i];
  return i === 0 ? `${s.name} (base)` : s.name;
}

function renderCards(snap) {
  const cards = snap.cards.map((card) => {
    const node = el("div", { class: "card", "data-kpi": card.kpi }, el("h3", { text: card.label }));
    card.values.forEach((v, i) => {
      const val = el("span", { class: "val", "data-role": "value" }, v.text);
      if (v.pm) val.append(el("span", { class: "pm", text: ` ± ${v.pm}` }));
      node.append(el("div", { class: "line" },
        el("span", { class: "swatch", style: `background:${COLOURS[i % COLOURS.length]}` }),
        el("span", { class: "who", text: scenarioName(snap, i), title: scenarioName(snap, i) }), val));
      if (v.diff) {
        const d = el("div", { class: "diff" + (v.diff.clear ? " clear" : ""), "data-role": "diff" });
        const strong = el(v.diff.clear ? "b" : "span", { text: v.diff.text });
        d.append("vs base ", strong, v.diff.range ? ` (95% CI ${v.diff.range})` : " (CI after 2 runs)");
        node.lastChild.append(d);
      }
    });
    return node;
  });
  $("cards").replaceChildren(...cards);
}

function renderCharts(snap) {
  const host = $("charts");
  if (host.children.length !== snap.stocks.length) {
    host.replaceChildren(...snap.stocks.map((c) => el("div", { class: "chart", id: `chart-${c.stage}` })));
  }
  for (const chart of snap.stocks) {
    const traces = [];
    chart.lines.forEach((line) => {
      const colour = COLOURS[line.scenario % COLOURS.length];
      const name = scenarioName(snap, line.scenario);
      if (line.low.every((x) => x !== null)) {
        traces.push({ x: chart.years.concat([...chart.years].reverse()),
          y: line.high.concat([...line.low].reverse()), fill: "toself", fillcolor: colour + "33",
          line: { width: 0 }, hoverinfo: "skip", showlegend: false, type: "scatter" });
      }
      traces.push({ x: chart.years, y: line.mean, name, type: "scatter", mode: "lines",
        line: { color: colour, width: 2 } });
    });
    Plotly.react(`chart-${chart.stage}`, traces, {
      title: { text: `${chart.title} (mean, 95% CI)`, font: { size: 13 } },
      margin: { l: 50, r: 10, t: 36, b: 40 }, xaxis: { title: { text: "years", standoff: 4 } },
      showlegend: false,
    }, { displayModeBar: false, responsive: true });
  }
  renderChartLegend(snap);
}

function renderChartLegend(snap) {
  // One legend above the charts, in the cards' colours: a legend inside one chart
  // crowded its axis title and made that chart's plot shorter than its neighbours'.
  const lines = snap.stocks.length ? snap.stocks[0].lines : [];
  $("chart-legend").replaceChildren(...lines.map((line) => el("span", { class: "legend-item" },
    el("span", { class: "swatch", style: `background:${COLOURS[line.scenario % COLOURS.length]}` }),
    scenarioName(snap, line.scenario))));
}

function renderRests(snap) {
  // One row per assumed effect, naming the scenarios it holds in (the workload feedback
  // is the same in every scenario: one row, not one per scenario).
  const rows = [], groups = new Map(), all = snap.rests_on.length;
  for (const s of snap.rests_on) {
    if (!s.effects.length) {
      rows.push(el("tr", {}, el("td", { text: s.scenario }), el("td", { colspan: 3, text: "no assumed effects: the structure and the what-if alone" })));
    }
    for (const e of s.effects) {
      const key = JSON.stringify([e.name, e.value, e.on, e.evidence]);
      if (!groups.has(key)) groups.set(key, { e, who: [] });
      groups.get(key).who.push(s.scenario);
    }
  }
  for (const { e, who } of groups.values()) {
    const names = all > 1 && who.length === all ? "all" : who.join(", ");
    rows.push(el("tr", {}, el("td", { text: names }), el("td", { text: e.name }),
      el("td", { class: e.on ? "on" : "off", text: e.on ? `on (${fmt(e.value)})` : "off" }),
      el("td", { text: e.evidence })));
  }
  $("rests").replaceChildren(el("table", {},
    el("tr", {}, el("th", { text: "scenario" }), el("th", { text: "assumed effect" }),
      el("th", { text: "in this answer" }), el("th", { text: "evidence" })), ...rows));
}

async function pin() {
  if (!state.snap) return;
  const res = await fetch(`/api/jobs/${state.snap.job}/pin`, { method: "POST" });
  const body = await res.json();
  if (!res.ok) { showError(body.error); return; }
  if (!state.pins.some((p) => p.job === state.snap.job)) {
    const entry = { job: state.snap.job, label: body.label || "as it stands", snap: state.snap };
    state.pins.push(entry);
    if (!state.snap.finished) {  // keep refining the pin after the room moves on
      const source = new EventSource(`/api/jobs/${entry.job}/events`);
      source.onmessage = (ev) => {
        entry.snap = JSON.parse(ev.data);
        renderPins();
        if (entry.snap.finished) source.close();
      };
    }
  }
  $("export").disabled = false;
  renderPins();
}

function renderPins() {
  if (!state.pins.length) return;
  const header = el("tr", {}, el("th", { text: "measure (difference from base, 95% CI)" }));
  const columns = [];
  state.pins.forEach((pin, p) => {
    pin.snap.scenarios.forEach((s, i) => {
      if (i === 0) return;
      columns.push({ pin, i });
      header.append(el("th", { text: `#${p + 1} ${s.name} (n=${pin.snap.n})` }));
    });
    if (pin.snap.scenarios.length === 1) {
      columns.push({ pin, i: 0 });
      header.append(el("th", { text: `#${p + 1} ${pin.snap.scenarios[0].name} (n=${pin.snap.n})` }));
    }
  });
  const kpis = state.pins[0].snap.cards.map((c) => [c.kpi, c.label]);
  const rows = kpis.map(([kpi, label]) => {
    const tr = el("tr", {}, el("td", { text: label }));
    for (const { pin, i } of columns) {
      const card = pin.snap.cards.find((c) => c.kpi === kpi);
      const v = card && card.values[i];
      let text = "n/a";
      if (v && v.diff) text = `${v.diff.text}` + (v.diff.range ? ` (${v.diff.range})` : "");
      else if (v) text = `${v.text}` + (v.pm ? ` ± ${v.pm}` : "");
      tr.append(el("td", { class: "num", text }));
    }
    return tr;
  });
  $("pinboard").replaceChildren(el("table", { id: "pins" }, header, ...rows));
}

async function exportPins() {
  showError("");
  $("export").disabled = true;
  $("export").textContent = "Building the report…";
  try {
    const res = await fetch("/api/export", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jobs: state.pins.map((p) => p.job) }) });
    if (!res.ok) { showError((await res.json()).error); return; }
    const blob = await res.blob();
    const a = el("a", { href: URL.createObjectURL(blob), download: "csflow-what-ifs.html" });
    document.body.append(a);
    a.click();
    a.remove();
  } finally {
    $("export").disabled = false;
    $("export").textContent = "Export pinned to report";
  }
}

async function upload() {
  const file = $("upload").files[0];
  if (!file) return;
  const msg = $("upload-msg");
  msg.className = "msg";
  msg.textContent = `checking ${file.name}…`;
  const res = await fetch(`/api/upload?name=${encodeURIComponent(file.name)}`, { method: "POST", body: file });
  const body = await res.json();
  if (!res.ok) {
    msg.className = "msg bad";
    msg.textContent = body.error;
    return;
  }
  msg.className = "msg ok";
  msg.textContent = `added ${body.key}`;
  await loadOptions(body.key);
  schedule();
}

async function start() {
  await loadOptions();
  $("base").addEventListener("change", () => { buildSliders(); schedule(); });
  $("effects-on").addEventListener("change", schedule);
  $("reset").addEventListener("click", () => { buildSliders(); buildEffects(); schedule(); });
  $("pin").addEventListener("click", pin);
  $("export").addEventListener("click", exportPins);
  $("upload").addEventListener("change", upload);
  ask();
}

start();
