"use client";

import { ErrorView } from "@/components/error-view";

/** Errors inside a page keep the site's header and footer around them. */
export default function SiteErrorPage(props: { error: Error & { digest?: string }; reset: () => void }) {
  return <ErrorView {...props} />;
}
