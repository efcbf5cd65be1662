/** A `?next=` destination, kept only if it is a path on this site (no open redirects). */
export function safeNextPath(raw: string | string[] | null | undefined, fallback = "/dashboard"): string {
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value || !value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return fallback;
  return value;
}
