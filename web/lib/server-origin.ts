import { headers } from "next/headers";

/**
 * The origin the visitor used to reach this page (`https://echoes.example`), from the
 * forwarding headers Next sets. Open Graph needs absolute URLs; this is the site's own.
 */
export async function requestOrigin(): Promise<string> {
  const incoming = await headers();
  const host = incoming.get("x-forwarded-host")?.split(",")[0]?.trim() || incoming.get("host") || "localhost";
  const proto = incoming.get("x-forwarded-proto")?.split(",")[0]?.trim() || "http";
  return `${proto}://${host}`;
}
