// My tasks and one task (or one of my reports). Readable offline from the
// service worker's last copy; actions go through the outbox with their own
// client ids, so the server applies each once even if sent twice.
import { blobUrl, h, toast } from "../dom.js";
import { t } from "../i18n.js";
import { actionLabel, categoryName, countdown, errorText, formatTime, myRunningPart, partLabel, runningStage, SCORE, scoreLabel, stageLabel, statusLabel } from "../labels.js";
import * as outbox from "../outbox.js";
import { preparePhoto } from "../photos.js";

// What the worker can do next after an action still waiting in the outbox
// (offline the server cannot say; it checks again when the action arrives).
const NEXT = {
  acknowledge: ["start", "handle", "add_photo"],
  start: ["handle", "add_photo"],
  handle: ["add_photo"],
  add_photo: null, // no change of status
  request_extension: null,
  request_park: null, // a supervisor decides
  resume: ["handle", "add_photo"],
  return: [], // no longer mine
  verify_fail: [],
  rate: [],
  recheck_uphold: [],
  recheck_reopen: [],
  assist_acknowledge: ["assist_report"], // 协办: our part, then its report
  assist_report: [],
  waive_assists: ["handle", "add_photo"],
};
// What a resident does on their own report: rate the result, or reopen it (the
// verify steps are the staff's; a satisfied rating closes a handled case).
const RESIDENT_ACTIONS = new Set(["rate", "reopen"]);
const ONE_TAP = new Set(["acknowledge", "start", "verify", "resume", "assist_acknowledge"]);

// The running stage's clock: the department's acknowledge or handling, or the
// grid worker's check once it is handled. A copy saved before stages had only
// the two deadlines.
function deadlineBadge(task) {
  const mine = myRunningPart(task); // an assisting department's staff: their own part's clock
  if (mine) {
    const left = countdown(mine.clock?.due_at);
    if (!left) return null;
    return h(`span.deadline${left.overdue ? ".overdue" : left.soon ? ".soon" : ""}`, { dataset: { stage: "assist" } },
      `${t("Our part")} · ${left.text}`);
  }
  const stage = runningStage(task);
  if (!stage && ["handled", "closed", "rejected"].includes(task.status)) return null;
  const left = countdown(stage ? stage.due_at : task.status === "dispatched" ? task.deadlines.acknowledge : task.deadlines.resolve);
  if (!left) return null;
  return h(`span.deadline${left.overdue ? ".overdue" : left.soon ? ".soon" : ""}`, { dataset: { stage: stage?.stage || "" } },
    stage ? `${stageLabel(stage.stage)} · ${left.text}` : left.text);
}

async function warm(app, tasks) {
  // Keep a copy of each task's page for offline reading.
  for (const task of tasks.slice(0, 50)) await app.read(`/api/v1/cases/${task.id}`).catch(() => {});
}

export async function renderList(root, app) {
  root.append(h("h1", {}, t("My tasks")));
  let data, cached;
  try {
    ({ data, cached } = await app.read("/api/v1/tasks"));
  } catch {
    root.append(h("p.empty", {}, t("Offline, and no copy of your tasks yet. They load the next time you are online.")));
    return;
  }
  if (cached) root.append(h("p.muted", {}, t("Offline: showing the last copy.")));
  const queued = await outbox.list();
  const list = h("ul.rows");
  for (const task of data.tasks) {
    const waiting = queued.filter((r) => r.case_id === task.id && r.status !== "sent");
    list.append(h("li", {}, h("a.row", { href: `#/tasks/${task.id}`, dataset: { caseId: task.id } },
      task.photos[0] ? h("img.thumb", { src: task.photos[0].thumb_url, alt: "", width: 56, height: 56 }) : h("span.thumb.placeholder"),
      h("span.row-main", {},
        h("strong", {}, categoryName(task.category)),
        h("span.muted", {}, [task.ref, task.address || task.grid?.name].filter(Boolean).join(" · ")),
        deadlineBadge(task),
        waiting.length ? h("span.queued", {}, t("{n} waiting to send", { n: waiting.length })) : null,
      ),
      h(`span.status.status-${task.status}`, {}, statusLabel(task.status)),
    )));
  }
  if (!data.tasks.length) list.append(h("li.empty", {}, t("No tasks for you right now.")));
  root.append(list);
  if (!cached) warm(app, data.tasks);
}

async function loadCase(app, id) {
  try {
    return await app.read(`/api/v1/cases/${id}`);
  } catch (failure) {
    // Offline with no copy of this page: the task list's copy has the essentials.
    const { data, cached } = await app.read("/api/v1/tasks");
    const task = data.tasks.find((x) => x.id === id);
    if (!task) throw failure;
    return { data: { ...task, events: [] }, cached };
  }
}

function predictedActions(caseData, waiting) {
  let allowed = caseData.allowed_actions || [];
  for (const record of waiting) {
    const next = NEXT[record.meta.action];
    if (next) allowed = next;
  }
  const queuedNow = new Set(waiting.map((r) => r.meta.action));
  return allowed.filter((a) => a === "add_photo" || !queuedNow.has(a));
}

export async function renderTask(root, app, idText) {
  const id = Number(idText);
  let loaded;
  try {
    loaded = await loadCase(app, id);
  } catch (failure) {
    root.append(h("p.empty", {}, failure.status === 404 ? t("This case is not yours to see, or it does not exist.")
      : t("Offline, and this case was not saved on the phone.")));
    return;
  }
  const c = loaded.data;
  const waiting = (await outbox.list()).filter((r) => r.case_id === id && r.status !== "sent");
  const afterPhotos = c.photos.filter((p) => p.kind === "after").length + waiting.reduce((n, r) => n + r.photos.length, 0);

  root.append(...[ // (a plain append would show a null as the text "null")
    h("p.muted", {}, c.ref),
    h("h1", {}, categoryName(c.category)),
    h("p.case-status", {}, h(`span.status.status-${c.status}`, {}, statusLabel(c.status)), deadlineBadge(c)),
    loaded.cached ? h("p.muted", {}, t("Offline: showing the last copy.")) : null,
    c.description ? h("p.description", {}, c.description) : null,
    photoGroup(c.photos.filter((p) => p.kind === "before"), t("Before")),
    photoGroup(c.photos.filter((p) => p.kind === "after"), t("After")),
    photoGroup(c.photos.filter((p) => p.kind === "assist"), t("Assisting part")),
    partsList(c),
    h("dl.facts", {},
      h("dt", {}, t("Where")), h("dd", {}, c.address || c.grid?.name || (c.lat != null ? `${c.lat.toFixed(5)}, ${c.lng.toFixed(5)}` : "—")),
      h("dt", {}, t("Department")), h("dd", {}, c.department?.name || t("Dispatcher's queue")),
      h("dt", {}, t("Acknowledge by")), h("dd", {}, formatTime(c.deadlines.acknowledge) || "—"),
      h("dt", {}, t("Fix by")), h("dd", {}, formatTime(c.deadlines.resolve) || "—"),
    ),
  ].filter(Boolean));

  if (waiting.length) {
    root.append(h("h2", {}, t("Waiting to send")), h("ul.queued-list", {}, waiting.map((r) => h("li", { dataset: { status: r.status } },
      actionLabel(r.meta.action), " · ",
      r.status === "rejected" ? h("span.error-text", {}, errorText(r.last_error)) : t("will be sent when online")))));
  }

  if (c.my_rating) {
    root.append(h("p.my-rating", {}, t("Your rating: {score}", { score: scoreLabel(c.my_rating.score) }),
      c.my_rating.comment ? h("span.muted", {}, ` · ${c.my_rating.comment}`) : null));
  }
  if (c.recheck_pending) root.append(h("p.notice", {}, t("Being rechecked (复核) by someone other than the department.")));

  let actions = predictedActions(c, waiting);
  if (app.user?.role === "resident") actions = actions.filter((a) => RESIDENT_ACTIONS.has(a));
  if (actions.length) root.append(actionPanel(app, c, actions, afterPhotos));

  if (c.events?.length) {
    root.append(h("h2", {}, t("Timeline")), h("ol.timeline", {}, c.events.map((e) => h("li", {},
      h("time", {}, formatTime(e.at)), h("span.action", {}, actionLabel(e.action)),
      e.actor ? h("span.muted", {}, e.actor) : null, e.note ? h("p", {}, e.note) : null))));
  }
}

// 协办: each assisting department's part and where it stands.
function partsList(c) {
  if (!c.assists?.length) return null;
  return h("section.parts", {}, h("h2", {}, t("Assisting departments (协办)")), h("ul.rows", {}, c.assists.map((p) => {
    const clock = p.handle || p.acknowledge;
    return h("li.part", { dataset: { part: p.department?.code || "", status: p.status } },
      h("strong", {}, p.department?.name || ""), " · ", partLabel(p.status),
      clock && !clock.done_at && clock.due_at ? h("span.muted", {}, ` · ${t("by {time}", { time: formatTime(clock.due_at) })}`) : null,
      p.note ? h("p.muted", {}, p.note) : null);
  })));
}

function actionPanel(app, c, actions, afterPhotos) {
  const panel = h("section.action-panel", { "aria-label": t("Actions") });
  const label = `${categoryName(c.category)} ${c.ref}`;

  async function queue(action, { note = "", photos = [], extra = {} } = {}) {
    try {
      await outbox.enqueue({
        kind: "action", url: `/api/v1/cases/${c.id}/actions`, caseId: c.id, label,
        meta: { action, note: note || null, at: new Date().toISOString(), ...extra },
        photos: photos.map((p) => ({ blob: p.blob, name: p.name })), thumb: photos[0]?.thumb || null,
      });
    } catch (error) {
      toast(error?.name === "QuotaExceededError" ? t("Phone storage is full: free some space and try again.") : String(error));
      return;
    }
    app.requestBackgroundSync();
    toast(t("Saved: {action}. It is sent when online.", { action: actionLabel(action) }));
    await app.sync();
    app.navigate(location.hash);
  }

  for (const action of actions.filter((a) => ONE_TAP.has(a))) {
    panel.append(h("button.button.primary.big", { type: "button", dataset: { action }, onclick: () => queue(action) }, actionLabel(action)));
  }
  if (actions.includes("handle") || actions.includes("add_photo")) panel.append(handleForm(c, actions, afterPhotos, queue));
  if (actions.includes("assist_report")) panel.append(partForm(queue));
  if (actions.includes("rate")) panel.append(rateForm(queue));
  for (const action of actions.filter((a) => a in REASONED)) panel.append(reasonForm(action, queue));
  return panel;
}

// Steps that need a reason, and for an extension the new deadline (退回, 返工, 延期, 重新办理).
const REASONED = {
  return: "Why it is not ours", verify_fail: "What is still wrong", request_extension: "Why more time is needed",
  reopen: "Why it is not fixed", recheck_uphold: "What the recheck found", recheck_reopen: "What the recheck found",
  request_park: "Why it cannot be solved now", waive_assists: "Why the case goes on without their part",
};
// The date a reasoned step also asks for: the new deadline (延期) or the review date (挂账).
const DATED = { request_extension: "New deadline", request_park: "Review date" };

function photoGroup(photos, title) {
  if (!photos.length) return null;
  return h("figure.photo-group", {}, h("figcaption", {}, title), h("div.photos", {}, photos.map((p) => h("a", { href: p.url, target: "_blank", rel: "noopener" },
    h("img", { src: p.thumb_url, alt: title, width: 120, height: 90, loading: "lazy" })))));
}

// 评价: three choices, a comment (needed when unsatisfied: the recheck reads it).
function rateForm(queue) {
  const comment = h("textarea", { rows: 2, maxlength: 2000, placeholder: t("Comment (needed if unsatisfied)"), "aria-label": t("Comment") });
  const error = h("p.flash.flash-error", { role: "alert", hidden: true });
  const choice = (score) => h("button.button.score", {
    type: "button", dataset: { score },
    onclick: () => {
      const note = comment.value.trim();
      if (score === "unsatisfied" && !note) {
        error.hidden = false;
        error.textContent = t("Say what is still wrong.");
        comment.focus();
        return;
      }
      queue("rate", { note, extra: { rating: score } });
    },
  }, scoreLabel(score));
  return h("section.rate-form", { "aria-label": t("Rate the result") },
    h("h2", {}, t("How was it handled?")),
    h("div.scores", {}, Object.keys(SCORE).map(choice)), comment, error);
}

function reasonForm(action, queue) {
  const note = h("textarea", { rows: 2, maxlength: 2000, required: true, "aria-label": t(REASONED[action]) });
  const until = DATED[action] ? h("input", { type: "datetime-local", required: true, "aria-label": t(DATED[action]) }) : null;
  const needs = action === "request_park" ? h("textarea", { rows: 2, maxlength: 500, required: true, "aria-label": t("What it needs (a budget, a season, a decision)") }) : null;
  const error = h("p.flash.flash-error", { role: "alert", hidden: true });
  const form = h("details.reason-form", { dataset: { action } },
    h("summary", {}, actionLabel(action)),
    h("div.stack", {},
      h("label", {}, t(REASONED[action]), note),
      needs ? h("label", {}, t("What it needs (a budget, a season, a decision)"), needs) : null,
      until ? h("label", {}, t(DATED[action]), until) : null,
      error,
      h("button.button", {
        type: "button",
        onclick: () => {
          const reason = note.value.trim();
          const when = until && until.value ? new Date(until.value) : null;
          const wanted = needs ? needs.value.trim() : null;
          if (!reason || (needs && !wanted) || (until && !(when > new Date()))) {
            error.hidden = false;
            error.textContent = !reason ? t("Say why.") : needs && !wanted ? t("Say what it needs.") : t("Choose a date in the future.");
            return;
          }
          const extra = when ? { until: when.toISOString() } : {};
          if (wanted) extra.needs = wanted;
          queue(action, { note: reason, extra });
        },
      }, t("Send")),
    ));
  return form;
}

// 协办反馈: what the assisting department did, with photos if it has them.
function partForm(queue) {
  const { input, previews, photos } = photoPicker(t("Photos of our part"));
  const note = h("textarea", { rows: 2, maxlength: 2000, required: true, "aria-label": t("What our department did") });
  const error = h("p.flash.flash-error", { role: "alert", hidden: true });
  const send = h("button.button.primary", {
    type: "button", dataset: { action: "assist_report" },
    onclick: () => {
      if (!note.value.trim()) { error.hidden = false; error.textContent = t("Say what your department did."); note.focus(); return; }
      queue("assist_report", { note: note.value.trim(), photos });
    },
  }, actionLabel("assist_report"));
  return h("div.stack.part-form", {},
    h("h2", {}, t("Our part")),
    h("label", {}, t("Photos of our part"), input), previews,
    h("label", {}, t("What our department did"), note), error, h("div.actions", {}, [send]));
}

// A camera input that keeps up to three prepared photos, with their previews.
function photoPicker(label) {
  const photos = [];
  const previews = h("ul.photo-list");
  const input = h("input", { type: "file", accept: "image/*", capture: "environment", "aria-label": label });
  input.addEventListener("change", async () => {
    for (const file of [...input.files].slice(0, 3 - photos.length)) {
      const prepared = await preparePhoto(file);
      photos.push(prepared);
      previews.append(h("li.photo", {}, prepared.thumb ? h("img", { src: blobUrl(prepared.thumb), alt: label }) : "HEIC"));
    }
    input.value = "";
  });
  return { input, previews, photos };
}

function handleForm(c, actions, afterPhotos, queue) {
  const { input, previews, photos } = photoPicker(t("After photo"));
  const note = h("textarea", { rows: 2, maxlength: 2000, placeholder: t("What was done") });
  const error = h("p.flash.flash-error", { role: "alert", hidden: true });
  const buttons = [];
  if (actions.includes("handle")) {
    buttons.push(h("button.button.primary", {
      type: "button", dataset: { action: "handle" },
      onclick: () => {
        if (c.category.after_photo_required && !photos.length && !afterPhotos) {
          error.hidden = false;
          error.textContent = t("This category needs an after-photo.");
          return;
        }
        queue("handle", { note: note.value.trim(), photos });
      },
    }, actionLabel("handle")));
  }
  if (actions.includes("add_photo")) {
    buttons.push(h("button.button", {
      type: "button", dataset: { action: "add_photo" },
      onclick: () => {
        if (!photos.length) { error.hidden = false; error.textContent = t("Take a photo first."); return; }
        queue("add_photo", { note: note.value.trim(), photos });
      },
    }, actionLabel("add_photo")));
  }
  return h("div.stack.handle-form", {},
    h("h2", {}, t("Close the loop")),
    h("label", {}, t("After photo"), input), previews,
    h("label", {}, t("Note"), note), error, h("div.actions", {}, buttons));
}
