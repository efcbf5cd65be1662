import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";

import { PwaRuntime } from "@/components/pwa-runtime";

import "./globals.css";

/**
 * Every page is rendered per request: its scripts carry the nonce of that request's
 * Content-Security-Policy (proxy.ts), which a page built ahead of time could not know.
 */
export const dynamic = "force-dynamic";

export const metadata: Metadata = {
  title: {
    default: "Echoes — bring your old photos to life",
    template: "%s · Echoes",
  },
  description: "Echoes turns your old photos into short moving clips, and your clips and a song into one video to keep or give.",
  applicationName: "Echoes",
  appleWebApp: { capable: true, title: "Echoes", statusBarStyle: "default" },
  icons: { apple: [{ url: "/icons/apple-touch-icon.png", sizes: "180x180" }] },
  formatDetection: { telephone: false },
};

export const viewport: Viewport = {
  themeColor: "#fbf6ee",
  width: "device-width",
  initialScale: 1,
  viewportFit: "cover",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="flex min-h-dvh flex-col">
        <a
          href="#content"
          className="sr-only z-50 rounded-full bg-ink px-4 py-2 text-sm font-semibold text-cream focus:not-sr-only focus:fixed focus:left-4 focus:top-4"
        >
          Skip to content
        </a>
        {children}
        <PwaRuntime />
      </body>
    </html>
  );
}
