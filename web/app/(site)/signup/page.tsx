import type { Metadata } from "next";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";

import { AuthCard } from "@/components/auth-card";
import { AuthForm } from "@/components/auth-form";
import { CheckIcon } from "@/components/ui/icons";
import { getSession } from "@/lib/api/server";
import { REFERRAL_COOKIE, cleanReferralCode } from "@/lib/referral";
import { safeNextPath } from "@/lib/safe-next";

export const metadata: Metadata = { title: "Create your account" };

const PERKS = ["Keep and download your free clip", "1 free credit once you confirm your e-mail address", "Your photos stay private unless you share"];

export default async function SignupPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const next = safeNextPath(params.next);
  if (await getSession().catch(() => null)) redirect(next);
  const referralCode = cleanReferralCode(typeof params.ref === "string" ? params.ref : null) ?? cleanReferralCode((await cookies()).get(REFERRAL_COOKIE)?.value);

  return (
    <AuthCard
      title="Create your account"
      lead="It takes a minute. Your free clip comes with you."
      aside={
        <ul className="mt-4 hidden flex-col gap-3 lg:flex">
          {PERKS.map((perk) => (
            <li key={perk} className="flex items-center gap-3 text-base text-ink">
              <span className="flex size-7 items-center justify-center rounded-full bg-moss-soft text-moss">
                <CheckIcon className="size-4" />
              </span>
              {perk}
            </li>
          ))}
        </ul>
      }
    >
      <AuthForm mode="signup" next={next} referralCode={referralCode} />
    </AuthCard>
  );
}
