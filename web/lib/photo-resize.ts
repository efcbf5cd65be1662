/**
 * Shrinks photos in the browser before they are uploaded.
 *
 * A phone photo is 12 megapixels and several megabytes; the clips are at most 1280 pixels on
 * their long side, so sending more than {@link MAX_UPLOAD_EDGE} pixels only costs the person
 * time and mobile data. The image is decoded upright (EXIF orientation applied), drawn onto a
 * canvas no larger than the limit and re-encoded as JPEG, which also drops its metadata.
 * Photos already small enough, and formats the browser cannot decode (HEIC on most
 * browsers), go up unchanged: the API checks and normalises every upload anyway.
 */

export const MAX_UPLOAD_EDGE = 2048;
const JPEG_QUALITY = 0.9;

export interface PreparedPhoto {
  file: File;
  width: number | null;
  height: number | null;
  resized: boolean;
}

function jpegName(name: string): string {
  const stem = name.replace(/\.[^.]+$/, "") || "photo";
  return `${stem}.jpg`;
}

function canvasToBlob(canvas: HTMLCanvasElement, type: string, quality: number): Promise<Blob> {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("The photo could not be re-encoded."))), type, quality);
  });
}

/** The photo to upload: `file` itself, or a copy at most {@link MAX_UPLOAD_EDGE} px on its long side. */
export async function preparePhoto(file: File, maxEdge: number = MAX_UPLOAD_EDGE): Promise<PreparedPhoto> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return { file, width: null, height: null, resized: false };
  }
  try {
    const { width, height } = bitmap;
    const scale = maxEdge / Math.max(width, height);
    if (scale >= 1) return { file, width, height, resized: false };
    const targetWidth = Math.max(1, Math.round(width * scale));
    const targetHeight = Math.max(1, Math.round(height * scale));
    const canvas = document.createElement("canvas");
    canvas.width = targetWidth;
    canvas.height = targetHeight;
    const context = canvas.getContext("2d");
    if (!context) return { file, width, height, resized: false };
    // JPEG has no transparency: lay see-through pixels on white rather than black.
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, targetWidth, targetHeight);
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, 0, 0, targetWidth, targetHeight);
    const blob = await canvasToBlob(canvas, "image/jpeg", JPEG_QUALITY);
    const resized = new File([blob], jpegName(file.name), { type: "image/jpeg", lastModified: file.lastModified });
    return { file: resized, width: targetWidth, height: targetHeight, resized: true };
  } finally {
    bitmap.close();
  }
}
