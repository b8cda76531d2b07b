// Reports (CONTRACT.md §8, admins and auditors): how support is doing over a date range.
// Charts are drawn by uPlot (vendored, vendor/uplot/VERSION); every chart has its numbers in a
// table beside it, for screen readers and for anyone who wants the figures. The controls live in
// the address, so a reload or a shared link shows the same report.

import { download, get } from "../api.js";
import { whenLeaving } from "../live.js";
import { CLOSE_REASONS, alertBox, h, typeName, types } from "../ui.js";

const INTERVALS = [["day", "Day"], ["week", "Week"], ["month", "Month"]];
const COLOURS = ["#2f5bd3", "#c2410c", "#15803d", "#7c3aed"];

let uplotLoading = null;

/** uPlot's script and stylesheet, loaded once, from this origin. */
function loadUplot() {
  if (window.uPlot) return Promise.resolve(window.uPlot);
  if (!uplotLoading) {
    uplotLoading = new Promise((resolve, reject) => {
      document.head.append(h("link", { rel: "stylesheet", href: "/console/vendor/uplot/uPlot.min.css" }));
      const script = h("script", { src: "/console/vendor/uplot/uPlot.iife.min.js" });
      script.addEventListener("load", () => resolve(window.uPlot));
      script.addEventListener("error", () => reject(new Error("The chart library could not be loaded.")));
      document.head.append(script);
    });
  }
  return uplotLoading;
}

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function state() {
  const query = new URLSearchParams(location.search);
  const today = new Date();
  const monthAgo = new Date(today.getTime() - 29 * 86_400_000);
  return {
    from: query.get("from") || isoDay(monthAgo),
    to: query.get("to") || isoDay(today),
    interval: query.get("interval") || "day",
    workspace_id: query.get("workspace_id") || "",
    type: query.getAll("type"),
    assignee: query.getAll("assignee"),
  };
}

function parameters(current) {
  const query = new URLSearchParams({ from: current.from, to: current.to, interval: current.interval });
  if (current.workspace_id) query.set("workspace_id", current.workspace_id);
  for (const code of current.type) query.append("type", code);
  for (const id of current.assignee) query.append("assignee", id);
  return query;
}

const minutes = (value) => (value === null || value === undefined ? "—" : value < 120 ? `${value} min` : `${(value / 60).toFixed(1)} h`);
const percent = (value) => (value === null || value === undefined ? "—" : `${value}%`);
const number = (value) => (value === null || value === undefined ? "—" : String(value));

function tile(label, value, detail) {
  return h("div", { class: "tile" }, h("div", { class: "tile-label" }, label), h("div", { class: "tile-value" }, value), detail ? h("div", { class: "muted" }, detail) : null);
}

function summary(totals) {
  const backlog = totals.backlog;
  return h("section", { class: "tiles", "aria-label": "Totals" },
    tile("Submitted", number(totals.submitted)),
    tile("Closed", number(totals.closed.total), `${totals.closed.completed} completed`),
    tile("First response (p50 / p90)", `${minutes(totals.first_response_business_minutes.p50)} / ${minutes(totals.first_response_business_minutes.p90)}`, "business time"),
    tile("Resolution (p50 / p90)", `${minutes(totals.resolution_business_minutes.p50)} / ${minutes(totals.resolution_business_minutes.p90)}`, "business time"),
    tile("SLA met", `${percent(totals.sla_first_response_met_pct)} / ${percent(totals.sla_resolution_met_pct)}`, "first response / resolution"),
    tile("CSAT", totals.csat.average === null ? "—" : `${totals.csat.average} of 5`, `${percent(totals.csat.rated_pct)} rated`),
    tile("Backlog at the end", number(backlog.pending + backlog.processing + backlog.cancelled), `${backlog.pending} pending, ${backlog.processing} processing`));
}

/** One chart and its numbers: ``series`` is [[name, values, format]]. */
function chart(title, points, series, charts) {
  const id = `chart-${title.toLowerCase().replace(/[^a-z]+/g, "-")}`;
  const holder = h("div", { class: "chart", role: "img", "aria-label": `${title}: chart; the numbers are in the table below` });
  const rows = points.map((point, index) => h("tr", {},
    h("th", { scope: "row" }, point.period_start),
    series.map(([name, values, format]) => h("td", { "data-label": name }, format(values[index])))));
  const table = h("table", { class: "numbers", id: `${id}-table` },
    h("caption", {}, `${title}, per period`),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Period"), series.map(([name]) => h("th", { scope: "col" }, name)))),
    h("tbody", {}, rows));
  charts.push({ holder, title, points, series });
  return h("figure", { class: "card report-chart", id },
    h("figcaption", {}, h("h2", {}, title)),
    holder,
    h("details", {}, h("summary", {}, "Numbers"), h("div", { class: "table-wrap" }, table)));
}

function draw(uPlot, { holder, points, series }) {
  // a period starts at the reader's midnight of its first day: the axis shows that day
  const xs = points.map((point) => new Date(`${point.period_start}T00:00:00`).getTime() / 1000);
  const width = Math.max(260, holder.clientWidth || 600);
  const scales = [...new Set(series.map(([, , , scale]) => scale || "y"))];
  holder.replaceChildren();
  return new uPlot({
    width,
    height: 220,
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true } },
    axes: [{}, ...scales.map((scale, index) => ({
      scale, size: 64, side: index === 0 ? 3 : 1, grid: { show: index === 0 },
      values: (_, ticks) => ticks.map((tick) => series.find(([, , , s]) => (s || "y") === scale)[2](tick)),
    }))],
    series: [{}, ...series.map(([name, , format, scale], index) => ({
      label: name, scale: scale || "y", stroke: COLOURS[index % COLOURS.length], width: 2,
      points: { show: points.length < 40 }, spanGaps: true, value: (_, value) => format(value),
    }))],
  }, [xs, ...series.map(([, values]) => values)], holder);
}

export async function renderReports(main, { me }) {
  const alert = alertBox();
  const heading = h("h1", {}, "Reports");
  if (!["admin", "auditor"].includes(me.role)) {
    main.replaceChildren(heading, alert);
    alert.show("Reports are for admins and auditors.");
    return;
  }
  const current = state();
  let roster = [];
  try {
    roster = await get("/admin/handlers");
  } catch {
    roster = [];
  }
  const from = h("input", { id: "report-from", type: "date", value: current.from, required: true });
  const to = h("input", { id: "report-to", type: "date", value: current.to, required: true });
  const interval = h("select", { id: "report-interval" }, INTERVALS.map(([code, name]) => h("option", { value: code, selected: code === current.interval }, name)));
  const workspace = h("input", { id: "report-workspace", value: current.workspace_id, autocomplete: "off", placeholder: "All workspaces" });
  const typeSelect = h("select", { id: "report-type", multiple: true, size: "3" }, types().map((type) => h("option", { value: type.code, selected: current.type.includes(type.code) }, type.name)));
  const assignees = [...new Map([...roster.map((handler) => [handler.account_id, handler.name]), ...current.assignee.map((id) => [id, id])]).entries()];
  const assigneeSelect = h("select", { id: "report-assignee", multiple: true, size: "3" }, assignees.map(([id, name]) => h("option", { value: id, selected: current.assignee.includes(id) }, name || id)));
  const results = h("div", { class: "report", "aria-live": "polite" });
  const form = h("form", { class: "card report-controls", onsubmit: (event) => {
    event.preventDefault();
    Object.assign(current, {
      from: from.value, to: to.value, interval: interval.value, workspace_id: workspace.value.trim(),
      type: [...typeSelect.selectedOptions].map((option) => option.value),
      assignee: [...assigneeSelect.selectedOptions].map((option) => option.value),
    });
    history.replaceState(null, "", `/admin/reports?${parameters(current)}`);
    load();
  } },
  h("div", { class: "filters" },
    h("div", { class: "field" }, h("label", { for: "report-from" }, "From"), from),
    h("div", { class: "field" }, h("label", { for: "report-to" }, "To"), to),
    h("div", { class: "field" }, h("label", { for: "report-interval" }, "Interval"), interval),
    h("div", { class: "field" }, h("label", { for: "report-workspace" }, "Workspace"), workspace),
    h("div", { class: "field" }, h("label", { for: "report-type" }, "Type"), typeSelect),
    h("div", { class: "field" }, h("label", { for: "report-assignee" }, "Assignee"), assigneeSelect)),
  h("div", { class: "actions" },
    h("button", { type: "button", class: "secondary", onclick: () => download("GET", `/admin/reports?${parameters(current)}&format=csv`, undefined, `report-${current.from}-${current.to}.csv`).catch((error) => alert.show(error)) }, "Download CSV"),
    h("button", { type: "submit", class: "primary" }, "Show report")));
  main.replaceChildren(heading, h("p", { class: "muted" }, "Days are the service calendar's; times are business minutes (service hours only, paused while waiting on the customer)."), alert, form, results);

  let plots = [];
  const resize = () => {
    for (const plot of plots) plot.setSize({ width: Math.max(260, plot.root.parentElement.clientWidth), height: 220 });
  };
  window.addEventListener("resize", resize);
  whenLeaving(() => window.removeEventListener("resize", resize));

  async function load() {
    alert.clear();
    results.replaceChildren(h("p", { class: "loading", role: "status" }, "Adding up the figures…"));
    let report;
    try {
      report = await get(`/admin/reports?${parameters(current)}`);
    } catch (error) {
      results.replaceChildren();
      alert.show(error, { from: "From", to: "To", interval: "Interval", workspace_id: "Workspace", type: "Type", assignee: "Assignee" });
      return;
    }
    const points = report.series;
    const pick = (get) => points.map(get);
    const charts = [];
    const figures = [
      chart("Volume", points, [
        ["Submitted", pick((p) => p.submitted), number],
        ["Closed", pick((p) => p.closed.total), number],
      ], charts),
      chart("First response time", points, [
        ["p50", pick((p) => p.first_response_business_minutes.p50), minutes],
        ["p90", pick((p) => p.first_response_business_minutes.p90), minutes],
      ], charts),
      chart("Resolution time", points, [
        ["p50", pick((p) => p.resolution_business_minutes.p50), minutes],
        ["p90", pick((p) => p.resolution_business_minutes.p90), minutes],
      ], charts),
      chart("SLA met", points, [
        ["First response", pick((p) => p.sla_first_response_met_pct), percent],
        ["Resolution", pick((p) => p.sla_resolution_met_pct), percent],
      ], charts),
      chart("Customer satisfaction", points, [
        ["Average (1-5)", pick((p) => p.csat.average), number],
        ["Rated", pick((p) => p.csat.rated_pct), percent, "pct"],
      ], charts),
    ];
    const people = h("table", { class: "numbers", id: "by-assignee" },
      h("caption", {}, "By assignee"),
      h("thead", {}, h("tr", {}, ["Assignee", "Submitted", "Closed", "First response p50", "Resolution p50", "SLA met (first / resolution)", "CSAT", "Backlog"].map((name) => h("th", { scope: "col" }, name)))),
      h("tbody", {}, report.by_assignee.map((row) => h("tr", {},
        h("th", { scope: "row" }, row.assignee.name || row.assignee.account_id),
        [
          ["Submitted", number(row.submitted)],
          ["Closed", number(row.closed.total)],
          ["First response p50", minutes(row.first_response_business_minutes.p50)],
          ["Resolution p50", minutes(row.resolution_business_minutes.p50)],
          ["SLA met", `${percent(row.sla_first_response_met_pct)} / ${percent(row.sla_resolution_met_pct)}`],
          ["CSAT", row.csat.average === null ? "—" : String(row.csat.average)],
          ["Backlog", number(row.backlog.pending + row.backlog.processing + row.backlog.cancelled)],
        ].map(([label, value]) => h("td", { "data-label": label }, value))))));
    const reasons = Object.entries(report.totals.closed).filter(([reason, count]) => reason !== "total" && count > 0)
      .map(([reason, count]) => `${CLOSE_REASONS[reason] || reason}: ${count}`).join(" · ");
    results.replaceChildren(
      h("p", { class: "muted" }, `${report.from} to ${report.to}, by ${report.interval}, in ${report.time_zone}`
        + (current.workspace_id ? `, workspace ${current.workspace_id}` : "")
        + (current.type.length ? `, ${current.type.map(typeName).join(", ")}` : "")),
      summary(report.totals),
      reasons ? h("p", { class: "muted" }, `Closed: ${reasons}`) : null,
      h("div", { class: "report-charts" }, figures),
      h("div", { class: "table-wrap" }, people));
    try {
      const uPlot = await loadUplot();
      plots = charts.map((one) => draw(uPlot, one));
    } catch (error) {
      alert.show(`${error.message} The numbers are in the tables.`);
    }
  }
  await load();
}
