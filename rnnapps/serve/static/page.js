"use strict";
// The page of `rnnapps serve`: a section per served model, picked by the URL's
// #name. The text and generation forms call the TensorFlow Serving REST API
// this server answers, so the page is also an example of a client; the
// forecast form posts its rows to /ui/models/NAME:forecast, which reads them
// as `rnnapps regression predict` reads a CSV. After each answer a section's
// data-state is "done" or "error" (what the browser tests wait for).

const SVG = "http://www.w3.org/2000/svg";

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function element(tag, attributes = {}, text = "", namespace = null) {
  const node = namespace ? document.createElementNS(namespace, tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== "") node.textContent = text;
  return node;
}

const percent = (p) => `${(100 * p).toFixed(1)} %`;
const predictUrl = (model) => `/v1/models/${encodeURIComponent(model.name)}:predict`;

// Runs `handler(form data)` on submit; shows its error, marks the section's state.
function onSubmit(section, handler) {
  const form = section.querySelector("form");
  const error = section.querySelector(".error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    section.dataset.state = "busy";
    try {
      await handler(new FormData(form));
      section.querySelector(".result").hidden = false;
      section.dataset.state = "done";
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      section.dataset.state = "error";
    }
  });
}

function classify(section, model) {
  onSubmit(section, async (data) => {
    const {predictions: [row]} = await post(predictUrl(model),
      {signature_name: model.signature, instances: [data.get("text")]});
    // One output (sentiment's probability of positive) comes back as a bare number.
    const probabilities = model.probabilities ? row[model.probabilities] : [1 - row, row];
    const ranked = model.classes.map((name, i) => [name, probabilities[i]])
      .sort((a, b) => b[1] - a[1]);
    section.querySelector(".label").textContent = ranked[0][0];
    section.querySelector(".probability").textContent = percent(ranked[0][1]);
    const body = section.querySelector(".classes tbody");
    body.replaceChildren(...ranked.map(([name, p]) => {
      const bar = element("div", {class: "bar", style: `width: ${100 * p}%`});
      const cells = [element("td", {}, name), element("td", {}, percent(p)), element("td")];
      cells[2].append(bar);
      const tr = element("tr");
      tr.append(...cells);
      return tr;
    }));
  });
}

function generate(section, model) {
  onSubmit(section, async (data) => {
    const given = data.get("seed_number");
    const inputs = {
      seed_texts: [data.get("seed")], length: Number(data.get("length")),
      num_samples: Number(data.get("samples")), temperature: Number(data.get("temperature")),
      top_k: Number(data.get("top_k")), top_p: Number(data.get("top_p")),
      seed: given === "" ? Math.floor(Math.random() * 2 ** 31) : Number(given),
    };
    const {outputs} = await post(predictUrl(model), {signature_name: model.signature, inputs});
    section.querySelector(".samples").replaceChildren(...outputs[0].map((text) => {
      const sample = element("pre", {class: "sample"});
      sample.append(element("b", {}, inputs.seed_texts[0]), text);
      return sample;
    }));
  });
}

function forecast(section, model) {
  const rows = section.querySelector("textarea");
  rows.placeholder = model.columns.length === 1
    ? `The last ${model.window} values of ${model.target}, one a line (or a CSV with a header)`
    : `A CSV with the header ${model.columns.join(",")} and at least ${model.window} rows`;
  section.querySelector("input[type=file]").addEventListener("change", async (event) => {
    const [file] = event.target.files;
    if (file) rows.value = await file.text();
  });
  onSubmit(section, async (data) => {
    const answer = await post(`/ui/models/${encodeURIComponent(model.name)}:forecast`,
      {csv: data.get("rows")});
    const named = answer.series || {[answer.target]: answer};
    const [first] = Object.values(named);  // the chart and table show the first series
    drawForecast(section.querySelector(".chart"), first);
    fillSteps(section.querySelector(".steps"), first);
  });
}

// The window's values, the forecast after them and, for a quantile model, the
// band between its lowest and highest levels.
function drawForecast(svg, result) {
  const past = result.history.values, ahead = result.forecast;
  const levels = Object.keys(result.quantiles || {}).sort((a, b) => a - b);
  const low = levels.length ? result.quantiles[levels[0]] : ahead;
  const high = levels.length ? result.quantiles[levels[levels.length - 1]] : ahead;
  const all = [...past, ...ahead, ...low, ...high];
  const [min, max] = [Math.min(...all), Math.max(...all)];
  const n = past.length + ahead.length, [w, h, pad] = [640, 260, 36];
  const x = (i) => pad + (i * (w - 2 * pad)) / Math.max(n - 1, 1);
  const y = (v) => h - pad - ((v - min) * (h - 2 * pad)) / (max - min || 1);
  const line = (values, start) => values.map((v, i) => `${x(start + i)},${y(v)}`).join(" ");
  const last = past.length - 1;
  const origin = `${x(last)},${y(past[last])}`;  // the band fans out from the last value
  const band = [origin, ...high.map((v, i) => `${x(past.length + i)},${y(v)}`),
    ...low.map((v, i) => `${x(past.length + i)},${y(v)}`).reverse()].join(" ");
  svg.replaceChildren(
    element("polygon", {class: "band", points: band}, "", SVG),
    element("polyline", {class: "history", points: line(past, 0)}, "", SVG),
    element("polyline", {class: "forecast",
      points: `${origin} ${line(ahead, past.length)}`}, "", SVG),
    element("text", {x: 4, y: pad - 8}, max.toPrecision(4), SVG),
    element("text", {x: 4, y: h - pad + 16}, min.toPrecision(4), SVG),
    element("text", {x: w - pad, y: h - 8, "text-anchor": "end"},
      `${result.target}: ${past.length} rows read, ${ahead.length} forecast` +
      (levels.length ? `, band ${levels[0]}–${levels[levels.length - 1]}` : ""), "", SVG),
  );
}

function fillSteps(table, result) {
  const levels = Object.keys(result.quantiles || {}).sort((a, b) => a - b);
  const head = table.querySelector("thead tr");
  head.replaceChildren(element("th", {}, "time"), element("th", {}, "forecast"),
    ...(levels.length ? [element("th", {}, `${levels[0]}–${levels[levels.length - 1]}`)] : []));
  table.querySelector("tbody").replaceChildren(...result.forecast.map((value, i) => {
    const tr = element("tr");
    tr.append(element("td", {}, result.times[i]), element("td", {}, value.toPrecision(5)));
    if (levels.length) {
      const [lo, hi] = [result.quantiles[levels[0]][i], result.quantiles[levels.at(-1)][i]];
      tr.append(element("td", {}, `${lo.toPrecision(5)} – ${hi.toPrecision(5)}`));
    }
    return tr;
  }));
}

const RENDER = {classify, generate, forecast};

function show(names) {
  const wanted = decodeURIComponent(location.hash.slice(1));
  const current = names.includes(wanted) ? wanted : names[0];
  for (const section of document.querySelectorAll("section.model")) {
    section.hidden = section.id !== `model-${current}`;
  }
  for (const link of document.querySelectorAll("#models a")) {
    link.toggleAttribute("aria-current", link.dataset.name === current);
  }
}

async function start() {
  const page = document.getElementById("page");
  const response = await fetch("/ui/models");
  const {models} = await response.json();
  page.replaceChildren();
  for (const model of models) {
    const link = element("a", {href: `#${encodeURIComponent(model.name)}`, "data-name": model.name},
      model.name);
    document.getElementById("models").append(link);
    const section = element("section", {id: `model-${model.name}`, class: "model",
      "data-task": model.task});
    section.append(element("h2", {}, model.name),
      element("p", {class: "about"}, `${model.task} model, version ${model.version}`),
      document.getElementById(model.kind).content.cloneNode(true),
      element("p", {class: "error", role: "alert", hidden: ""}));
    RENDER[model.kind](section, model);
    page.append(section);
  }
  const names = models.map((model) => model.name);
  show(names);
  window.addEventListener("hashchange", () => show(names));
}

start().catch((err) => {
  document.getElementById("page").replaceChildren(element("p", {class: "error"}, err.message));
});
