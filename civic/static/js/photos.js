// Photos are made small on the phone before they wait in the outbox: a cheap
// phone's 3264×2448 photo of 2–4 MB becomes a 1600 px JPEG of a few hundred KB.
// The EXIF GPS is read first, because drawing to a canvas drops all EXIF.
import { gps as readExifGps, parse as readExif } from "../vendor/exifr/exifr-lite.esm.js";

export const MAX_SIDE = 1600;
// 0.72 rather than the usual 0.8: on the shared 3264×2448 phone photo (an 812 KB
// file) 0.8 sends 24 % of the original and 0.72 sends 19 %, with no visible
// difference at 1600 px (bench/client_photos.py).
export const QUALITY = 0.72;
const THUMB_SIDE = 240;

async function exifPosition(file) {
  try {
    const found = await readExifGps(file);
    if (!found) return null;
    const { latitude: lat, longitude: lng } = found;
    // Many phones write 0,0 when they had no fix.
    if (!Number.isFinite(lat) || !Number.isFinite(lng) || (lat === 0 && lng === 0)) return null;
    if (Math.abs(lat) > 90 || Math.abs(lng) > 180) return null;
    return { lat, lng };
  } catch {
    return null;
  }
}

// When the photo was taken (EXIF DateTimeOriginal, the phone's local time), as ms, or null.
async function exifTakenAt(file) {
  try {
    const found = await readExif(file); // the lite build cannot pick tags: it reads the TIFF/EXIF block only
    const when = found?.DateTimeOriginal || found?.CreateDate;
    return when instanceof Date && Number.isFinite(when.getTime()) ? when.getTime() : null;
  } catch {
    return null;
  }
}

async function encode(bitmap, longSide, quality) {
  const scale = Math.min(1, longSide / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = typeof OffscreenCanvas !== "undefined"
    ? new OffscreenCanvas(width, height)
    : Object.assign(document.createElement("canvas"), { width, height });
  const context = canvas.getContext("2d");
  context.imageSmoothingQuality = "high";
  context.drawImage(bitmap, 0, 0, width, height);
  const blob = canvas.convertToBlob
    ? await canvas.convertToBlob({ type: "image/jpeg", quality })
    : await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
  return { blob, width, height };
}

// → { blob, name, thumb, position, capturedAt, width, height, originalBytes, shrunk }
// A format the browser cannot decode (HEIC on Chrome) is sent as it is; the
// server converts it.
export async function preparePhoto(file) {
  const position = await exifPosition(file);
  const capturedAt = await exifTakenAt(file);
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return { blob: file, name: file.name || "photo", thumb: null, position, capturedAt, width: null, height: null,
      originalBytes: file.size, shrunk: false };
  }
  try {
    const display = await encode(bitmap, MAX_SIDE, QUALITY);
    const thumb = await encode(bitmap, THUMB_SIDE, 0.7);
    // A photo already small and well compressed stays as it is.
    const keepOriginal = display.blob.size >= file.size && file.type === "image/jpeg";
    return {
      blob: keepOriginal ? file : display.blob, name: "photo.jpg", thumb: thumb.blob, position, capturedAt,
      width: display.width, height: display.height, originalBytes: file.size, shrunk: !keepOriginal,
    };
  } finally {
    bitmap.close();
  }
}
