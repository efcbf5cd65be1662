import type { Metadata } from "next";

import { CreditsPanel } from "@/components/credits-panel";
import { ReferralCard } from "@/components/referral-card";
import { ButtonLink } from "@/components/ui/button";
import { getSession, serverApi, unwrap } from "@/lib/api/server";
import { formatPrice, plural } from "@/lib/format";

export const metadata: Metadata = { title: "Credits" };

export default async function CreditsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { checkout } = await searchParams;
  const api = await serverApi();
  const [user, packList] = await Promise.all([getSession(), unwrap(api.GET("/api/credits/packs"))]);

  if (!user) {
    return (
      <div className="flex flex-col gap-8 pb-12 pt-2 sm:pt-6">
        <div>
          <h1 className="font-display text-4xl text-ink sm:text-5xl">Simple credits</h1>
          <p className="mt-2 max-w-xl text-lg leading-relaxed text-muted">One credit makes one clip, and putting your clips together into a video is free. No subscription. Every new account gets one credit once its e-mail address is confirmed.</p>
        </div>
        <ul className="grid gap-4 sm:grid-cols-3">
          {packList.packs.map((pack) => (
            <li key={pack.id} className="flex flex-col gap-1 rounded-3xl border border-line/70 bg-paper p-5 shadow-soft">
              <h2 className="text-lg font-semibold text-ink">{pack.name}</h2>
              <p className="font-display text-4xl text-ink">{formatPrice(pack.priceCents, pack.currency)}</p>
              <p className="text-sm text-muted">
                {plural(pack.credits, "credit")} · {formatPrice(Math.round(pack.priceCents / pack.credits), pack.currency)} a clip
              </p>
            </li>
          ))}
        </ul>
        <ButtonLink href="/signup?next=%2Fcredits" className="self-start">
          Sign up to buy credits
        </ButtonLink>
      </div>
    );
  }

  const history = await unwrap(api.GET("/api/credits", { params: { query: { limit: 10 } } }));
  return (
    <div className="flex flex-col gap-8 pb-12 pt-2 sm:pt-6">
      <h1 className="font-display text-4xl text-ink sm:text-5xl">Credits</h1>
      <CreditsPanel
        packs={packList.packs}
        demoCheckout={packList.demoCheckout}
        initialBalance={history.balance}
        initialHistory={history.items}
        checkout={typeof checkout === "string" ? checkout : null}
      />
      <ReferralCard code={user.referralCode} />
    </div>
  );
}
