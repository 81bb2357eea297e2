// A scanned QR poster (/q/<code> sends the phone to #/capture?poster=<code>):
// its code from the screen's query, and its place from the server. The service
// worker keeps the last copy, and the draft keeps the place, so a report begun
// at a poster can be reopened offline.
import { t } from "./i18n.js";

const CODE = /^[A-Za-z0-9]{1,16}$/;

export function posterCode(query) {
  const code = new URLSearchParams(query || "").get("poster")?.trim();
  return code && CODE.test(code) ? code.toUpperCase() : null;
}

// The draft's poster: {code, name, grid, lat, lng}; null when the server does
// not know the code; the code alone when nobody can be asked (offline, no copy):
// the server checks it when the report is sent.
export async function loadPoster(app, code) {
  try {
    const { data } = await app.read(`/api/v1/posters/${encodeURIComponent(code)}`);
    return { code: data.code, name: data.name, grid: data.grid?.name || null, lat: data.lat, lng: data.lng };
  } catch (failure) {
    return failure?.status === 404 ? null : { code };
  }
}

export function placeText(poster) {
  if (!poster.name) return t("Place: poster {code}", { code: poster.code });
  if (!poster.grid || poster.grid === poster.name) return t("Place: {name}", { name: poster.name });
  return t("Place: {name} ({grid})", { name: poster.name, grid: poster.grid });
}
