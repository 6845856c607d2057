// The dashboard: one page over the service's own API (same origin), plots drawn with plotly.js.
const API = "/ispyb/api/v1";
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("ispyb-token");
let generation = 0; // the session shown; answers for an earlier pick are dropped
let sessionsShown = new Map(); // sessionId → the session as GET /sessions lists it
// the session's timeline: what is listed, the cursor of the next page, the refresh timer while the session runs
const TIMELINE_PAGE = 25;
const TIMELINE_REFRESH_MS = window.timelineRefreshMs || 15000;
const KIND_NAMES = { dataCollection: "collection", robotAction: "robot", energyScan: "energy scan", xrfSpectrum: "XRF spectrum", logbook: "logbook", result: "result" };
const timeline = { session: null, events: [], next: null, timer: null };

async function api(path, params = {}, json = undefined) {
  const url = new URL(API + path, location.origin);
  Object.entries(params).forEach(([k, v]) => v !== undefined && url.searchParams.set(k, v));
  const headers = { Authorization: `Bearer ${token}`, ...(json ? { "Content-Type": "application/json" } : {}) };
  const response = await fetch(url, json ? { method: "POST", headers, body: JSON.stringify(json) } : { headers });
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : {};
  if (response.status === 401) { signOut(`Signed out: ${body.detail || "the token is no longer valid"}`); throw new Error("signed out"); }
  if (!response.ok) throw new Error(typeof body.detail === "string" ? body.detail : `${response.status} ${body.title || ""}`);
  return body;
}

// One GraphQL query for the session's summary and its metric plots (issue 16): a field the service could not answer
// (the document store down) is null, with its error listed; the rest stands.
const SESSION_QUERY = `query SessionPage($s: Int!) {
  session(sessionId: $s) {
    dataCollections(first: 1) { totalCount }
    metrics {
      mxScaling { resolutionLimitHigh { count min p50 } }
      mxImage { resolutionEstimate { count min p50 } }
      emCtf { estimatedResolution { count min p50 } }
      emMotioncorrection { totalMotion { count min p50 } }
      emIcethickness { median { count min p50 } }
      emParticlepicking { numberOfParticles { count min p50 } }
      saxsGuinier { rg { count min p50 } }
    }
  }
  statistics: sessionStatistics(sessionId: $s) {
    techniques { technique datacollections images autoProcessedShare motionCorrected bestResolution bestCtfResolution }
  }
  ctf: metricHistogram(kind: "em.ctf", field: "estimatedResolution", sessionId: $s, bins: 40) { ...bars }
  ice: metricHistogram(kind: "em.icethickness", field: "median", sessionId: $s, bins: 40) { ...bars }
  particles: metricHistogram(kind: "em.particlepicking", field: "numberOfParticles", sessionId: $s, bins: 40) { ...bars }
  motion: metricTimeSeries(kind: "em.motioncorrection", field: "totalMotion", interval: minute, sessionId: $s) {
    buckets { time mean p90 }
  }
}
fragment bars on Histogram { count binWidth bins { start end count } }`;
const SUMMARY_FIELDS = [["MX", "mxScaling", "resolutionLimitHigh", "resolution (Å)"], ["MX", "mxImage", "resolutionEstimate", "image resolution estimate (Å)"],
  ["EM", "emCtf", "estimatedResolution", "CTF resolution (Å)"], ["EM", "emMotioncorrection", "totalMotion", "total motion (Å)"],
  ["EM", "emIcethickness", "median", "ice thickness"], ["EM", "emParticlepicking", "numberOfParticles", "particles per movie"],
  ["SAXS", "saxsGuinier", "rg", "Rg (nm)"]];

async function graphql(query, variables) {
  const answer = await api("/graphql", {}, { query, variables });
  if (!answer.data) throw new Error((answer.errors || []).map((e) => e.message).join("; ") || "no answer");
  return answer;
}

// Per technique: collections, images or movies, the shares auto-processed and motion-corrected, the best resolution
// (REST's GET /stats/sessions/{id}, served by GraphQL's sessionStatistics).
function techniquesTable(statistics) {
  if (!statistics) return `<p class="error">The shares processed are missing: the service could not answer them.</p>`;
  const share = (v) => (v == null ? "–" : `${Math.round(100 * v)} %`);
  const rows = statistics.techniques.map((t) =>
    `<tr><td>${t.technique.toUpperCase()}</td><td>${t.datacollections}</td><td>${t.images}</td>` +
    `<td class="auto-processed">${share(t.autoProcessedShare)}</td><td class="motion-corrected">${share(t.motionCorrected)}</td>` +
    `<td>${t.bestResolution ?? t.bestCtfResolution ?? "–"}</td></tr>`);
  return rows.length
    ? `<table id="techniques"><tr><th>technique</th><th>collections</th><th>images / movies</th><th>auto-processed</th>` +
      `<th>motion-corrected</th><th>best resolution (Å)</th></tr>${rows.join("")}</table>`
    : "";
}

function summaryTable(session, statistics) {
  const number = (v) => (v == null ? "–" : Number(v.toPrecision(4)));
  const rows = SUMMARY_FIELDS.map(([technique, kind, field, label]) => [technique, label, session.metrics?.[kind]?.[field]])
    .filter(([, , stats]) => stats?.count)
    .map(([technique, label, stats]) => `<tr><td>${technique}</td><td>${label}</td><td>${stats.count}</td><td>${number(stats.p50)}</td><td>${number(stats.min)}</td></tr>`);
  const total = session.dataCollections.totalCount;
  const collections = `<p>${total ? `${total} data collection(s).` : "This session has no data collections yet."}</p>`;
  const missing = session.metrics ? "" : `<p class="error">Metrics are missing: the document store does not answer.</p>`;
  return collections + techniquesTable(statistics) + missing + (rows.length
    ? `<table><tr><th>technique</th><th>metric</th><th>values</th><th>median</th><th>lowest</th></tr>${rows.join("")}</table>`
    : "");
}

function status(id, text, isError = false) {
  const el = $(`${id}-status`);
  el.textContent = text;
  el.classList.toggle("error", isError);
}

function draw(id, traces, layout) {
  Plotly.newPlot(id, traces, { margin: { t: 10, r: 10, b: 45, l: 55 }, ...layout }, { displayModeBar: false, responsive: true });
}

async function plot(id, loader) {
  const mine = generation;
  Plotly.purge(id);
  status(id, "Loading…");
  try {
    const figure = await loader();
    if (mine !== generation) return;
    if (figure) draw(id, ...figure);
    status(id, figure ? "" : "No data of this kind for this session.");
  } catch (error) {
    if (mine === generation && error.message !== "signed out") status(id, `Could not load: ${error.message}`, true);
  }
}

function bars(h, label) {
  if (!h?.count) return null;
  return [[{ type: "bar", x: h.bins.map((b) => (b.start + b.end) / 2), y: h.bins.map((b) => b.count), width: h.binWidth }],
          { xaxis: { title: label }, yaxis: { title: "movies" } }];
}

function running(session) {
  const now = Date.now();
  return Boolean(session?.startDate && session?.endDate) && Date.parse(session.startDate) <= now && now < Date.parse(session.endDate);
}

function renderTimeline() {
  const list = $("timeline");
  list.replaceChildren(...timeline.events.map((e) => {
    const item = document.createElement("li");
    item.dataset.type = e.type;
    item.dataset.id = e.id;
    const when = document.createElement("time");
    when.dateTime = e.time;
    when.textContent = new Date(e.time).toLocaleString();
    const kind = document.createElement("span");
    kind.className = "kind";
    kind.textContent = KIND_NAMES[e.type] || e.type;
    const said = document.createElement("span");
    said.textContent = e.summary;
    item.append(when, kind, said);
    return item;
  }));
  $("timeline-more").classList.toggle("hidden", !timeline.next);
}

function timelineStatus(text, isError = false) {
  $("timeline-status").textContent = text;
  $("timeline-status").classList.toggle("error", isError);
}

function documentsNote(page) {
  return page.documents.available ? "" : "The document store does not answer: logbook entries and results are missing.";
}

async function timelinePage(mine, params) {
  const page = await api(`/sessions/${timeline.session}/timeline`, params);
  if (mine !== generation) return null;
  timelineStatus(documentsNote(page) || (params.cursor || page.results.length ? "" : "Nothing has happened in this session yet."));
  return page;
}

function stopRefresh() {
  clearInterval(timeline.timer);
  timeline.timer = null;
  $("timeline-live").textContent = "";
}

async function loadTimeline(session, mine) {
  stopRefresh();
  Object.assign(timeline, { session, events: [], next: null });
  $("timeline-box").classList.remove("hidden");
  renderTimeline();
  timelineStatus("Loading…");
  try {
    const page = await timelinePage(mine, { limit: TIMELINE_PAGE });
    if (!page) return;
    Object.assign(timeline, { events: page.results, next: page.next });
    renderTimeline();
  } catch (error) {
    if (mine === generation && error.message !== "signed out") timelineStatus(`Could not load the timeline: ${error.message}`, true);
  }
  if (mine === generation && running(sessionsShown.get(String(session)))) {
    $("timeline-live").textContent = `· live, every ${Math.round(TIMELINE_REFRESH_MS / 1000)} s`;
    timeline.timer = setInterval(() => refreshTimeline(mine), TIMELINE_REFRESH_MS);
  }
}

async function moreTimeline() {
  const mine = generation;
  if (!timeline.next) return;
  try {
    const page = await timelinePage(mine, { limit: TIMELINE_PAGE, cursor: timeline.next });
    if (!page) return;
    timeline.events = timeline.events.concat(page.results);
    timeline.next = page.next;
    renderTimeline();
  } catch (error) {
    if (mine === generation && error.message !== "signed out") timelineStatus(`Could not load more: ${error.message}`, true);
  }
}

// While the session runs: the newest events again, as many as are listed (so "more" pages stay), the list replaced.
async function refreshTimeline(mine) {
  if (mine !== generation || !running(sessionsShown.get(String(timeline.session)))) { stopRefresh(); return; }
  try {
    const page = await timelinePage(mine, { limit: Math.min(10000, Math.max(TIMELINE_PAGE, timeline.events.length)) });
    if (!page) return;
    Object.assign(timeline, { events: page.results, next: page.next });
    renderTimeline();
  } catch (error) {
    if (mine === generation && error.message !== "signed out") timelineStatus(`Could not refresh the timeline: ${error.message}`, true);
  }
}

async function loadSession(session) {
  const mine = ++generation;
  loadTimeline(session, mine);
  $("summary-box").classList.remove("hidden");
  $("summary").textContent = "Loading…";
  const page = graphql(SESSION_QUERY, { s: Number(session) });
  try {
    const { data } = await page;
    if (mine !== generation) return;
    $("summary").innerHTML = summaryTable(data.session, data.statistics);
  } catch (error) {
    if (mine === generation) $("summary").innerHTML = `<span class="error">Could not load the summary: ${error.message}</span>`;
  }
  plot("em-ctf", async () => bars((await page).data.ctf, "estimated resolution (Å)"));
  plot("em-ice", async () => bars((await page).data.ice, "relative ice thickness"));
  plot("em-particles", async () => bars((await page).data.particles, "particles"));
  plot("em-motion", async () => {
    const t = (await page).data.motion;
    if (!t?.buckets.length) return null;
    return [[{ type: "scatter", mode: "lines+markers", x: t.buckets.map((b) => b.time), y: t.buckets.map((b) => b.mean), name: "mean" },
             { type: "scatter", mode: "lines", x: t.buckets.map((b) => b.time), y: t.buckets.map((b) => b.p90), name: "p90" }],
            { yaxis: { title: "total motion (Å)" } }];
  });
  const scaling = api("/metrics", { kind: "mx.scaling", sessionId: session, limit: 10000 });
  plot("mx-collections", async () => {
    const overall = (await scaling).results.filter((m) => m.values.shell === "overall");
    if (!overall.length) return null;
    const x = overall.map((m) => String(m.dataCollectionId));
    return [[{ type: "bar", x, y: overall.map((m) => m.values.resolutionLimitHigh), name: "resolution (Å)" },
             { type: "scatter", mode: "markers", x, y: overall.map((m) => m.values.completeness), name: "completeness (%)", yaxis: "y2" }],
            { xaxis: { title: "data collection", type: "category" }, yaxis: { title: "Å" }, yaxis2: { title: "%", overlaying: "y", side: "right" } }];
  });
  plot("mx-shells", async () => {
    const shells = (await scaling).results;
    if (!shells.length) return null;
    const traces = ["overall", "innerShell", "outerShell"].map((shell) => {
      const s = shells.filter((m) => m.values.shell === shell);
      return { type: "scatter", mode: "markers", name: shell, x: s.map((m) => m.values.resolutionLimitHigh), y: s.map((m) => m.values.meanIOverSigI) };
    });
    return [traces, { xaxis: { title: "high-resolution limit (Å)" }, yaxis: { title: "I/σ(I)" } }];
  });
  plot("saxs", async () => {
    const guinier = (await api("/metrics", { kind: "saxs.guinier", sessionId: session, limit: 10000 })).results;
    if (!guinier.length) return null;
    const x = guinier.map((m) => String(m.dataCollectionId));
    return [[{ type: "bar", x, y: guinier.map((m) => m.values.rg), name: "Rg (nm)" },
             { type: "scatter", mode: "markers", x, y: guinier.map((m) => m.values.i0), name: "I(0)", yaxis: "y2" }],
            { xaxis: { title: "measurement", type: "category" }, yaxis: { title: "nm" }, yaxis2: { title: "I(0)", overlaying: "y", side: "right" } }];
  });
}

async function loadSessions(proposal) {
  const sessions = (await api("/sessions", { proposal, limit: 9999 })).results;
  sessionsShown = new Map(sessions.map((s) => [String(s.sessionId), s]));
  $("session").innerHTML = sessions.map((s) => `<option value="${s.sessionId}">${s.session ?? s.sessionId} · ${s.beamLineName ?? ""} · ${(s.startDate || "").slice(0, 10)}</option>`).join("");
  $("session").classList.toggle("hidden", !sessions.length);
  if (sessions.length) loadSession(sessions[0].sessionId);
  else $("message").textContent = "This proposal has no sessions yet.";
}

async function start() {
  try {
    const me = await api("/user/current");
    $("who").textContent = me.login;
    ["login"].forEach((id) => $(id).classList.add("hidden"));
    ["who", "proposal", "logout"].forEach((id) => $(id).classList.remove("hidden"));
    const proposals = (await api("/proposals", { limit: 9999 })).results;
    if (!proposals.length) { $("message").textContent = "You have no proposals yet."; return; }
    $("message").textContent = "";
    $("proposal").innerHTML = proposals.map((p) => `<option>${p.proposal}</option>`).join("");
    await loadSessions(proposals[0].proposal);
  } catch (error) {
    if (error.message !== "signed out") $("message").innerHTML = `<span class="error">Could not start: ${error.message}</span>`;
  }
}

function signOut(reason) {
  token = null;
  generation++;
  stopRefresh();
  sessionStorage.removeItem("ispyb-token");
  ["who", "proposal", "session", "logout", "summary-box", "timeline-box"].forEach((id) => $(id).classList.add("hidden"));
  $("login").classList.remove("hidden");
  $("message").textContent = reason || "Signed out.";
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("message").textContent = "Signing in…";
  const config = await (await fetch(`${API}/auth/config`)).json();
  const plugin = (config.plugins.find((p) => p.name === "dummy") || config.plugins[0] || {}).name;
  const response = await fetch(`${API}/auth/login`, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ plugin, login: $("login-name").value, password: $("login-password").value || "demo" }) });
  const body = await response.json();
  if (!response.ok) { $("message").innerHTML = `<span class="error">Sign-in refused: ${body.detail}</span>`; return; }
  token = body.token;
  sessionStorage.setItem("ispyb-token", token);
  start();
});
$("logout").addEventListener("click", () => signOut());
$("timeline-more").addEventListener("click", () => moreTimeline());
$("proposal").addEventListener("change", (e) => loadSessions(e.target.value));
$("session").addEventListener("change", (e) => loadSession(e.target.value));
if (token) start();
