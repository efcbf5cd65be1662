"use client";

import { useEffect, useState } from "react";

import { Button } from "@/components/ui/button";
import { CopyIcon } from "@/components/ui/icons";

/** The person's invite link, with copy and (on phones) the system share sheet. */
export function ReferralCard({ code }: { code: string }) {
  const [link, setLink] = useState(`/?ref=${code}`);
  const [copied, setCopied] = useState(false);

  useEffect(() => setLink(`${window.location.origin}/?ref=${code}`), [code]);

  async function share() {
    if (navigator.share) {
      await navigator.share({ title: "Echoes", text: "Bring your old photos to life with Echoes.", url: link }).catch(() => undefined);
      return;
    }
    await navigator.clipboard.writeText(link);
    setCopied(true);
    setTimeout(() => setCopied(false), 2500);
  }

  return (
    <section aria-labelledby="referral-heading" className="flex flex-col gap-3 rounded-3xl border border-line/70 bg-sand/60 p-5 sm:p-6">
      <h2 id="referral-heading" className="font-display text-2xl text-ink">
        Give 5, get 5
      </h2>
      <p className="text-base leading-relaxed text-muted">When a friend signs up with your link and buys their first pack, you both get 5 credits (once you have both confirmed your e-mail address).</p>
      <div className="flex flex-col gap-2 sm:flex-row sm:items-center">
        <code className="min-w-0 flex-1 truncate rounded-xl border border-line bg-paper px-4 py-3 text-sm text-ink">{link}</code>
        <Button variant="secondary" onClick={() => void share()}>
          <CopyIcon /> {copied ? "Copied" : "Share link"}
        </Button>
      </div>
    </section>
  );
}
