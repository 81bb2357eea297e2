// Display names for statuses, actions and categories, in the chosen language.
import { language, t } from "./i18n.js";

export const STATUS = {
  reported: "Reported", accepted: "Accepted", rejected: "Not accepted", dispatched: "Dispatched",
  acknowledged: "Acknowledged", in_progress: "In progress", parked: "Parked", handled: "Handled", closed: "Closed",
};

export const ACTION = {
  report: "Reported", accept: "Accepted", reject: "Not accepted", dispatch: "Dispatched",
  acknowledge: "Acknowledge (收到)", start: "Start work", handle: "Mark handled", add_photo: "Add photo",
  verify: "Verify and close", verify_fail: "Not fixed: send back", return: "Return: not ours",
  request_extension: "Ask for more time", approve_extension: "More time granted", deny_extension: "More time refused",
  reopen: "Reopen", remind: "Reminder", escalate: "Escalated",
  merge: "Merged as a duplicate", merged_in: "Duplicate report merged in", reroute: "Re-routed",
  rate: "Rate the result", recheck_uphold: "Recheck: result stands", recheck_reopen: "Recheck: reopened",
  unassign: "Back in the queue (the assignee left)", set_urgency: "Urgency changed",
  arbitrate: "Department decided (仲裁)", request_park: "Ask to park (挂账)", approve_park: "Parked",
  deny_park: "Parking refused", resume: "Resume work now",
  assist_acknowledge: "Acknowledge our part (协办收到)", assist_report: "Report our part done",
  waive_assists: "Go on without the assisting departments",
};

// Where an assisting department's part (协办) stands (the case JSON's assists[].status).
export const PART = {
  waiting: "not yet acknowledged", working: "working on its part", reported: "part reported",
  waived: "gone on without it", withdrawn: "no longer assisting", parked: "parked with the case",
};
export const partLabel = (status) => t(PART[status] || status);

// The viewer's own department's part, while it runs, with its clock: {part, clock} or null.
export function myRunningPart(item) {
  const part = (item.assists || []).find((p) => p.mine && (p.status === "waiting" || p.status === "working"));
  if (!part) return null;
  return { part, clock: part.status === "working" ? part.handle : part.acknowledge };
}

// The stages of a case, each with its own owner and clock (docs/time-limits.md).
export const STAGE = {
  accept: "Accept", dispatch: "Dispatch", acknowledge: "Acknowledge", handle: "Handle", verify: "Verify", close: "Close",
};
export const stageLabel = (stage) => t(STAGE[stage] || stage);

// The stage running now (started, not ended, with a clock), or null.
export function runningStage(item) {
  const running = (item.stages || []).filter((s) => s.started_at && !s.done_at && s.due_at);
  return running.length ? running[running.length - 1] : null;
}

// A resident's verdict on the handling (满意 / 基本满意 / 不满意).
export const SCORE = { satisfied: "Satisfied", basic: "Basically satisfied", unsatisfied: "Unsatisfied" };
export const scoreLabel = (score) => t(SCORE[score] || score);

export const statusLabel = (status) => t(STATUS[status] || status);
export const actionLabel = (action) => t(ACTION[action] || action);
export const categoryName = (category) => (category ? (language() === "zh" ? category.name : category.name_en || category.name) : "");

export function formatTime(iso) {
  if (!iso) return "";
  const date = typeof iso === "number" ? new Date(iso) : new Date(iso);
  return date.toLocaleString(language() === "zh" ? "zh-CN" : "en-GB", {
    month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit",
  });
}

// "2 h 15 min left" or "overdue 1 d 3 h": the deadline as a countdown.
export function countdown(iso, now = Date.now()) {
  if (!iso) return null;
  const ms = new Date(iso).getTime() - now;
  const minutes = Math.round(Math.abs(ms) / 60000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  const span = days ? t("{d} d {h} h", { d: days, h: hours }) : hours ? t("{h} h {m} min", { h: hours, m: mins }) : t("{m} min", { m: mins });
  return { overdue: ms < 0, soon: ms >= 0 && ms < 3600000, text: ms < 0 ? t("overdue {span}", { span }) : t("{span} left", { span }) };
}

export function bytes(n) {
  if (!Number.isFinite(n)) return "?";
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(1)} GB`;
}

// The server's message for a rejection, in the worker's words where we know the code.
const KNOWN_ERRORS = {
  location_required: "Where is it? Drag the pin or type an address.",
  unknown_category: "That category no longer exists; choose another.",
  unsupported_format: "The photo's format is not supported.",
  photo_too_large: "A photo is too large.",
  after_photo_required: "This category needs an after-photo.",
  client_id_conflict: "The server holds a different item with this id.",
  unknown_poster: "The QR poster is not known. Tap Fix to send the report without it.",
  // A task action on a case the worker can no longer see (reassigned elsewhere).
  not_found: "This case is no longer yours to see; it was probably reassigned.",
};

export function errorText(error) {
  if (!error) return "";
  if (error.code === "transition_not_allowed" && error.case) {
    return t("The case is {status} now; this step no longer applies.", { status: statusLabel(error.case.status) });
  }
  if (error.code === "forbidden" && error.case) return t("The case was reassigned; it is no longer yours.");
  const known = KNOWN_ERRORS[error.code];
  return known ? t(known) : error.message || error.code;
}
